'use strict';
// Regenerates the generated seeds of fuzz/corpus: requests signed by the official SDKs (V3 by
// @alicloud/cas20200407, V1 by @alicloud/pop-core, both as tests/e2e installs them) with the fuzz
// AccessKey at the fuzz seed time (fuzz/fuzz_key.h), captured as raw bytes on a loopback socket;
// and CSRs made by the openssl command. The hand-written seeds (policies, odd requests) are
// files of their own and left alone.
//
// Usage: (cd tests/e2e && npm ci --no-audit --no-fund) once, then node fuzz/make_seeds.js
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const { createRequire } = require('node:module');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const corpus = path.join(__dirname, 'corpus');

// fuzz/fuzz_key.h
const KEY = { AccessKeyId: 'LTAI5tFuzzCorpusKey00001', AccessKeySecret: 'FuzzCorpusSecretNotForUse00001' };
const SEED_TIME_MS = 1768465800 * 1000;  // 2026-01-15T08:30:00Z

// The SDKs sign with the time of `new Date()`; pin it to the seed time.
const RealDate = Date;
global.Date = class extends RealDate {
  constructor(...args) { if (args.length === 0) super(SEED_TIME_MS); else super(...args); }
  static now() { return SEED_TIME_MS; }
};

const e2e = createRequire(path.join(root, 'tests/e2e/package.json'));
const Cas = e2e('@alicloud/cas20200407');
const { $OpenApiUtil, OpenApiUtil } = e2e('@alicloud/openapi-core');
const RPCClient = e2e('@alicloud/pop-core');

function write(target, name, bytes) {
  fs.mkdirSync(path.join(corpus, target), { recursive: true });
  fs.writeFileSync(path.join(corpus, target, name), bytes);
}

// A loopback server that keeps each request's bytes and answers a minimal success.
function captureServer() {
  const requests = [];
  const server = net.createServer((socket) => {
    let buf = Buffer.alloc(0);
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(buf.subarray(0, end).toString('latin1'));
      const total = end + 4 + (m ? Number(m[1]) : 0);
      if (buf.length < total) return;
      requests.push(buf.subarray(0, total));
      const body = '{"RequestId":"seed"}';
      socket.end('HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=utf-8\r\n' +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, requests })));
}

// Runs `call` and returns the one request it sent.
async function capture(cap, call) {
  const before = cap.requests.length;
  try { await call(); } catch (_) { /* the minimal answer may not satisfy the SDK; the request is what counts */ }
  if (cap.requests.length !== before + 1) throw new Error('expected one request');
  return cap.requests[before];
}

// rpc::Request parts of a raw request (as fuzz/canonical_request_fuzz.cc reads them).
function parts(raw) {
  const end = raw.indexOf('\r\n\r\n');
  const lines = raw.subarray(0, end).toString('latin1').split('\r\n');
  const [method, target] = lines[0].split(' ');
  const q = target.indexOf('?');
  const headers = lines.slice(1).map((l) => {
    const c = l.indexOf(':');
    return [l.slice(0, c).toLowerCase(), l.slice(c + 1).trim()];
  });
  return { method, query: q < 0 ? '' : target.slice(q + 1), headers, body: raw.subarray(end + 4) };
}

function compact(p) {
  const head = `${p.method} ${p.query}\n` + p.headers.map(([n, v]) => `${n}:${v}\n`).join('') + '\n';
  return Buffer.concat([Buffer.from(head, 'latin1'), p.body]);
}

function isForm(p) {
  return p.headers.some(([n, v]) => n === 'content-type' && v.startsWith('application/x-www-form-urlencoded'));
}

// One generated request into the three request corpora.
function keep(name, raw) {
  write('http_request', name, raw);
  const p = parts(raw);
  write('canonical_request', name, compact(p));
  write('params', name, Buffer.concat([Buffer.from(p.query + '\n', 'latin1'), isForm(p) ? p.body : Buffer.alloc(0)]));
}

function openssl(args) {
  return execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'ignore'] });
}

// CSRs: what clients send (RSA, P-256, P-384, SANs) and what must be refused.
function makeCsrs() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'certplan-seeds-'));
  const key = (name, genArgs) => {
    const file = path.join(tmp, name);
    openssl(['genpkey', ...genArgs, '-out', file]);
    return file;
  };
  const rsa2048 = key('rsa2048', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']);
  const rsa1024 = key('rsa1024', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024']);
  const p256 = key('p256', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']);
  const p384 = key('p384', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384']);
  const p521 = key('p521', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-521']);
  const k256 = key('k256', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:secp256k1']);
  const ed25519 = key('ed25519', ['-algorithm', 'ED25519']);
  const req = (keyFile, subj, extra = [], form = 'DER') =>
    openssl(['req', '-new', '-key', keyFile, '-subj', subj, '-outform', form, ...extra]);
  const san = ['-addext', 'subjectAltName=DNS:www.example.com,DNS:example.com,IP:192.0.2.1'];
  const csrs = {
    'rsa2048_sha256_san.der': req(rsa2048, '/C=CN/O=Example Ltd/CN=www.example.com', ['-sha256', ...san]),
    'rsa2048_pss.der': req(rsa2048, '/CN=pss.example.com', ['-sigopt', 'rsa_padding_mode:pss']),
    'rsa2048_no_cn.der': req(rsa2048, '/O=No Common Name', ['-sha256']),
    'rsa1024_sha256.der': req(rsa1024, '/CN=small.example.com', ['-sha256']),
    'p256_sha256_san.der': req(p256, '/CN=www.example.com', ['-sha256', ...san]),
    'p256_wildcard_utf8.der': req(p256, '/CN=*.例え.jp', ['-utf8', '-sha256',
      '-addext', 'subjectAltName=DNS:*.例え.jp,DNS:xn--r8jz45g.jp']),
    'p384_sha384.der': req(p384, '/CN=p384.example.com', ['-sha384']),
    'p384_sha256_ku.der': req(p384, '/CN=ku.example.com', ['-sha256',
      '-addext', 'keyUsage=critical,digitalSignature', '-addext', 'extendedKeyUsage=serverAuth']),
    'p521_sha512.der': req(p521, '/CN=p521.example.com', ['-sha512']),
    'secp256k1_sha256.der': req(k256, '/CN=k1.example.com', ['-sha256']),
    'ed25519.der': req(ed25519, '/CN=ed.example.com'),
    'p256_sha256.pem': req(p256, '/CN=pem.example.com', ['-sha256'], 'PEM'),
  };
  for (const [name, der] of Object.entries(csrs)) write('csr_check', name, der);
  const pem = req(p256, '/CN=www.example.com', ['-sha256', ...san], 'PEM').toString();
  fs.rmSync(tmp, { recursive: true, force: true });
  return pem;
}

async function main() {
  const csr = makeCsrs();
  const cap = await captureServer();
  const endpoint = `127.0.0.1:${cap.server.address().port}`;
  const cas = new Cas.default(new $OpenApiUtil.Config({
    accessKeyId: KEY.AccessKeyId, accessKeySecret: KEY.AccessKeySecret, endpoint, protocol: 'HTTP',
  }));
  const pop = new RPCClient({
    accessKeyId: KEY.AccessKeyId, accessKeySecret: KEY.AccessKeySecret,
    endpoint: `http://${endpoint}`, apiVersion: '2020-04-07',
  });
  const contact = { username: 'Zhang San', phone: '13800000000', email: 'ops@example.com' };

  // V3, ACS3-HMAC-SHA256, as the CAS SDK sends it.
  keep('v3_describe_package_state', await capture(cap, () =>
    cas.describePackageState(new Cas.DescribePackageStateRequest({ productCode: 'digicert-free-1-free' }))));
  keep('v3_describe_package_state_all', await capture(cap, () =>
    cas.describePackageState(new Cas.DescribePackageStateRequest({}))));
  keep('v3_list_orders', await capture(cap, () =>
    cas.listUserCertificateOrder(new Cas.ListUserCertificateOrderRequest({
      orderType: 'CERT', status: 'ISSUED', keyword: 'exämple 例 +&=', showSize: 10, currentPage: 2 }))));
  keep('v3_describe_certificate_state', await capture(cap, () =>
    cas.describeCertificateState(new Cas.DescribeCertificateStateRequest({ orderId: 123456 }))));
  keep('v3_create_with_csr', await capture(cap, () =>
    cas.createCertificateWithCsrRequest(new Cas.CreateCertificateWithCsrRequestRequest({
      csr, productCode: 'digicert-free-1-free', validateType: 'DNS', ...contact }))));
  keep('v3_create', await capture(cap, () =>
    cas.createCertificateRequest(new Cas.CreateCertificateRequestRequest({
      productCode: 'digicert-free-1-free', domain: 'www.example.com', validateType: 'FILE', ...contact }))));
  keep('v3_delete', await capture(cap, () =>
    cas.deleteCertificateRequest(new Cas.DeleteCertificateRequestRequest({ orderId: 7 }))));

  // V1, HMAC-SHA1, as pop-core sends it: parameters in the query (GET) or a form body (POST).
  keep('v1_describe_package_state_get', await capture(cap, () =>
    pop.request('DescribePackageState', { ProductCode: 'digicert-free-1-free' }, { method: 'GET' })));
  keep('v1_describe_package_state_post', await capture(cap, () =>
    pop.request('DescribePackageState', { ProductCode: 'digicert-free-1-free' }, { method: 'POST' })));
  keep('v1_list_orders_unicode', await capture(cap, () =>
    pop.request('ListUserCertificateOrder', { Keyword: 'exämple 例 *~', ShowSize: 5 }, { method: 'GET' })));
  keep('v1_create_with_csr_post', await capture(cap, () =>
    pop.request('CreateCertificateWithCsrRequest', {
      Csr: csr, ProductCode: 'digicert-free-1-free', Username: contact.username, Phone: contact.phone,
      Email: contact.email, ValidateType: 'DNS' }, { method: 'POST' })));
  cap.server.close();

  // V1 signed with openapi-core's helper: XML answers, and two requests on one connection.
  const v1 = (params, method = 'GET') => {
    const all = {
      Action: 'DescribePackageState', Version: '2020-04-07', Format: 'JSON', AccessKeyId: KEY.AccessKeyId,
      SignatureMethod: 'HMAC-SHA1', SignatureVersion: '1.0', SignatureNonce: params.SignatureNonce,
      Timestamp: '2026-01-15T08:30:00Z', ...params,
    };
    all.Signature = OpenApiUtil.getRPCSignature(all, method, KEY.AccessKeySecret);
    return new URLSearchParams(all).toString();
  };
  const get = (qs, extra = '') => `GET /?${qs} HTTP/1.1\r\nHost: ${endpoint}\r\nUser-Agent: seed\r\n${extra}\r\n`;
  keep('v1_xml_get', Buffer.from(get(v1({ SignatureNonce: 'b3f5a0e8c1d24e0f', Format: 'XML' }))));
  write('http_request', 'v1_pipelined_two', Buffer.from(
    get(v1({ SignatureNonce: 'pipelined-1' })) + get(v1({ SignatureNonce: 'pipelined-2' }), 'Connection: close\r\n')));
  const form = v1({ SignatureNonce: 'chunked-1' }, 'POST');
  const chunk = (s) => `${s.length.toString(16)}\r\n${s}\r\n`;
  write('http_request', 'v1_chunked_form_post', Buffer.from(
    `POST / HTTP/1.1\r\nHost: ${endpoint}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
    `Transfer-Encoding: chunked\r\n\r\n${chunk(form.slice(0, 40))}${chunk(form.slice(40))}0\r\n\r\n`));
}

main().catch((e) => { console.error(e); process.exit(1); });
