'use strict';
// Revocation status of the built-in CA (issue #15, item 4), judged by the openssl command line:
// certificates applied for through @alicloud/cas20200407 in auto mode carry the CRL distribution
// point and OCSP/caIssuers URLs of [ca] public_url; `openssl ocsp` (POST, and the GET form from
// node) answers good, then revoked once CancelCertificateForPackageRequest revoked one; `openssl
// verify -crl_check` with the downloaded CRL reports the revoked one as revoked (error 23) and
// the other as OK; bad requests are answered by their OCSP status or HTTP code.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { startServer, fsck } = require('./lib/server');
const { Cas } = require('./lib/clients');
const { newAccount, waitForType, state } = require('./lib/orders');
const { splitPem, leafText } = require('./lib/pki');

// A name relying parties would use; the tests reach the listener directly.
const PUBLIC_URL = 'http://pki.certplan.test:8080';
const PRODUCT = 'geotrust-dv-1-starter';

let server;
let work;
let rootFile;
let n = 0;

before(async () => {
  server = await startServer({
    config: `[validation]\nmode = "auto"\npoll_ms = 50\n[ca]\npublic_url = "${PUBLIC_URL}"\ncrl_validity_hours = 6\n`,
  });
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'certplan-revocation-'));
  rootFile = path.join(server.dataDir, 'ca', 'root.pem');
});
after(async () => {
  await server.stop();
  const check = fsck(server.dataDir);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.equal(check.report.Clean, true);
});

const openssl = (...args) => spawnSync('openssl', args, { encoding: 'utf8' });
const file = (name, content) => {
  const f = path.join(work, `${++n}-${name}`);
  fs.writeFileSync(f, content);
  return f;
};

// GET/POST on the listener; the body as bytes.
function request(method, urlPath, { body, contentType } = {}) {
  return new Promise((resolve, reject) => {
    const headers = contentType ? { 'content-type': contentType } : {};
    const req = http.request({ host: server.host, port: server.port, method, path: urlPath, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// An order applied for and issued; its leaf and issuing certificate as files.
async function issue(client, domain) {
  const r = await client.createCertificateForPackageRequest(new Cas.CreateCertificateForPackageRequestRequest({
    productCode: PRODUCT, domain, validateType: 'DNS' }));
  const done = await waitForType(client, r.body.orderId, 'certificate');
  const [leaf, issuing] = splitPem(done.certificate);
  return { orderId: r.body.orderId, pem: done.certificate, leaf: file('leaf.pem', leaf), issuer: file('issuer.pem', issuing) };
}

// `openssl ocsp` against the responder, the answer verified up to the root.
function ocsp(cert) {
  const r = openssl('ocsp', '-issuer', cert.issuer, '-cert', cert.leaf, '-url', `http://${server.endpoint}/pki/ocsp`,
    '-CAfile', rootFile, '-resp_text');
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stderr, /Response verify OK/);
  const line = r.stdout.split('\n').find((l) => l.startsWith(`${cert.leaf}: `));
  assert.ok(line, r.stdout);
  return { status: line.slice(cert.leaf.length + 2).trim(), text: r.stdout };
}

// The CRL as served, written as PEM; its text.
async function downloadCrl() {
  const r = await request('GET', '/pki/crl');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/pkix-crl');
  const der = file('crl.der', r.body);
  const pem = path.join(work, `${++n}-crl.pem`);
  const conv = openssl('crl', '-inform', 'DER', '-in', der, '-out', pem);
  assert.equal(conv.status, 0, conv.stderr);
  const text = openssl('crl', '-in', pem, '-noout', '-text').stdout;
  const number = BigInt(/CRL Number:\s*\n\s*(\d+)/.exec(text)[1]);
  return { pem, text, number };
}

function verifyWithCrl(cert, crl) {
  const r = openssl('verify', '-crl_check', '-CRLfile', crl.pem, '-CAfile', rootFile, '-untrusted', cert.issuer, cert.leaf);
  return { status: r.status, out: r.stdout + r.stderr };
}

const serialOf = (cert) => openssl('x509', '-in', cert.leaf, '-noout', '-serial').stdout.trim().replace(/^serial=/, '');

test('issued certificates point at the CRL and the OCSP responder under [ca] public_url', async () => {
  const a = await newAccount(server, { [PRODUCT]: 1 });
  const cert = await issue(a.client, 'pointers.example.com');
  const text = leafText(cert.pem);
  assert.match(text, /X509v3 CRL Distribution Points:\s*\n\s*Full Name:\s*\n\s*URI:http:\/\/pki\.certplan\.test:8080\/pki\/crl\n/);
  assert.match(text, /OCSP - URI:http:\/\/pki\.certplan\.test:8080\/pki\/ocsp\n/);
  assert.match(text, /CA Issuers - URI:http:\/\/pki\.certplan\.test:8080\/pki\/issuer\.crt\n/);
  // caIssuers serves the issuing certificate (DER), the one in the chain.
  const issuer = await request('GET', '/pki/issuer.crt');
  assert.equal(issuer.status, 200);
  assert.equal(issuer.headers['content-type'], 'application/pkix-cert');
  const chainDer = spawnSync('openssl', ['x509', '-in', cert.issuer, '-outform', 'DER']).stdout;
  assert.equal(chainDer.compare(issuer.body), 0);
});

test('openssl ocsp and openssl verify -crl_check: good, then revoked by CancelCertificateForPackageRequest', async () => {
  const a = await newAccount(server, { [PRODUCT]: 3 });
  const doomed = await issue(a.client, 'doomed.example.com');
  const kept = await issue(a.client, 'kept.example.com');

  assert.equal(ocsp(doomed).status, 'good');
  assert.equal(ocsp(kept).status, 'good');
  const before = await downloadCrl();
  assert.match(verifyWithCrl(doomed, before).out, /: OK/);
  assert.match(verifyWithCrl(kept, before).out, /: OK/);
  assert.doesNotMatch(before.text, new RegExp(`Serial Number: ${serialOf(doomed)}`));

  await a.client.cancelCertificateForPackageRequest(new Cas.CancelCertificateForPackageRequestRequest({ orderId: doomed.orderId }));
  assert.equal((await state(a.client, doomed.orderId)).type, 'unknow');  // sic: revoked, on the wire

  // OCSP reads the records: revoked at once.
  const answer = ocsp(doomed);
  assert.equal(answer.status, 'revoked', answer.text);
  assert.match(answer.text, /Revocation Time: /);
  assert.equal(ocsp(kept).status, 'good');

  // The CRL is signed again after the revocation (in the background): wait for the new one, by
  // its number, bounded by a deadline.
  let after = before;
  const deadline = Date.now() + 10000;
  while (after.number <= before.number && Date.now() < deadline) {
    after = await downloadCrl();
    if (after.number <= before.number) await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(after.number > before.number, 'a new CRL after the revocation');
  assert.match(after.text, new RegExp(`Serial Number: ${serialOf(doomed)}\\n\\s*Revocation Date: `));
  assert.doesNotMatch(after.text, new RegExp(`Serial Number: ${serialOf(kept)}`));
  const revoked = verifyWithCrl(doomed, after);
  assert.notEqual(revoked.status, 0);
  assert.match(revoked.out, /error 23 at 0 depth lookup: certificate revoked/);
  const good = verifyWithCrl(kept, after);
  assert.equal(good.status, 0, good.out);
  assert.match(good.out, /: OK/);

  // thisUpdate/nextUpdate 6 hours apart ([ca] crl_validity_hours), signed by the issuing CA.
  const last = Date.parse(/Last Update: (.+)/.exec(after.text)[1]);
  const next = Date.parse(/Next Update: (.+)/.exec(after.text)[1]);
  assert.equal((next - last) / 1000, 6 * 3600);
  const signed = openssl('crl', '-in', after.pem, '-CAfile', doomed.issuer, '-noout');
  assert.match(signed.stdout + signed.stderr, /verify OK/);
  assert.match(after.text, /X509v3 Authority Key Identifier:/);
});

test('OCSP over GET: the DER request in base64, URL-encoded, in the path', async () => {
  const a = await newAccount(server, { [PRODUCT]: 2 });
  const revokedCert = await issue(a.client, 'get-revoked.example.com');
  const goodCert = await issue(a.client, 'get-good.example.com');
  await a.client.cancelCertificateForPackageRequest(new Cas.CancelCertificateForPackageRequestRequest({ orderId: revokedCert.orderId }));
  for (const [cert, expected] of [[revokedCert, 'revoked'], [goodCert, 'good']]) {
    const req = path.join(work, `${++n}-req.der`);
    const made = openssl('ocsp', '-issuer', cert.issuer, '-cert', cert.leaf, '-reqout', req, '-no_nonce');
    assert.equal(made.status, 0, made.stderr);
    const b64 = fs.readFileSync(req).toString('base64');
    const r = await request('GET', `/pki/ocsp/${encodeURIComponent(b64)}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/ocsp-response');
    const resp = file('resp.der', r.body);
    const read = openssl('ocsp', '-respin', resp, '-issuer', cert.issuer, '-cert', cert.leaf, '-CAfile', rootFile, '-resp_text');
    assert.equal(read.status, 0, read.stdout + read.stderr);
    assert.match(read.stderr, /Response verify OK/);
    assert.match(read.stdout, new RegExp(`${cert.leaf}: ${expected}\\n`));
  }
});

// Posts DER bytes to the responder; the responseStatus as `openssl ocsp -respin` prints it.
async function postOcsp(body) {
  const r = await request('POST', '/pki/ocsp', { body, contentType: 'application/ocsp-request' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/ocsp-response');
  const read = openssl('ocsp', '-respin', file('resp.der', r.body), '-resp_text', '-noverify');
  return read.stdout + read.stderr;
}

test('bad OCSP requests: malformed, another issuer, too many IDs, wrong media type, other paths', async () => {
  assert.match(await postOcsp(Buffer.from('not an OCSP request')), /Responder Error: malformedrequest \(1\)/);

  // A certificate ID of another CA (a self-signed one made here).
  const otherKey = path.join(work, `${++n}-other.key`);
  const otherCa = path.join(work, `${++n}-other.pem`);
  assert.equal(openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', otherKey, '-out', otherCa, '-subj', '/CN=Another CA', '-days', '1').status, 0);
  const foreign = path.join(work, `${++n}-foreign.der`);
  assert.equal(openssl('ocsp', '-issuer', otherCa, '-serial', '0x1234', '-reqout', foreign).status, 0);
  assert.match(await postOcsp(fs.readFileSync(foreign)), /Responder Error: unauthorized \(6\)/);

  // Seventeen IDs, one more than a request may carry.
  const issuer = path.join(server.dataDir, 'ca', 'issuing.pem');
  const serials = [];
  for (let i = 1; i <= 17; i++) serials.push('-serial', `0x${i.toString(16)}`);
  const many = path.join(work, `${++n}-many.der`);
  assert.equal(openssl('ocsp', '-issuer', issuer, ...serials, '-reqout', many).status, 0);
  assert.match(await postOcsp(fs.readFileSync(many)), /Responder Error: malformedrequest \(1\)/);
  // Sixteen are answered (unknown: this CA never issued them).
  const sixteen = path.join(work, `${++n}-sixteen.der`);
  assert.equal(openssl('ocsp', '-issuer', issuer, ...serials.slice(0, 32), '-reqout', sixteen).status, 0);
  const answered = await postOcsp(fs.readFileSync(sixteen));
  assert.match(answered, /OCSP Response Status: successful/);
  assert.equal((answered.match(/Cert Status: unknown/g) || []).length, 16);

  const wrongType = await request('POST', '/pki/ocsp', { body: fs.readFileSync(sixteen), contentType: 'text/plain' });
  assert.equal(wrongType.status, 415);
  const post = await request('POST', '/pki/crl', { body: 'x', contentType: 'application/pkix-crl' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET');
  const nowhere = await request('GET', '/pki/nothing-here');
  assert.equal(nowhere.status, 404);
  assert.equal(nowhere.headers['content-type'], 'text/plain; charset=utf-8');
  // The API itself is untouched.
  const api = await request('GET', '/');
  assert.equal(api.headers['content-type'].split(';')[0], 'application/json');
});

test('[ca] public_url and crl_validity_hours that cannot work are refused at start, naming the key', async () => {
  const cases = [
    ['[ca]\npublic_url = "https://pki.example.com"\n', /ca\.public_url.*http:\/\//],
    ['[ca]\npublic_url = "pki.example.com"\n', /ca\.public_url/],
    ['[ca]\npublic_url = "http://pki.example.com/crl?x=1"\n', /ca\.public_url.*query/],
    ['[ca]\npublic_url = 8080\n', /ca\.public_url.*string/],
    ['[ca]\ncrl_validity_hours = 0\n', /ca\.crl_validity_hours/],
    ['[ca]\ncrl_validity_hours = 9000\n', /ca\.crl_validity_hours/],
  ];
  for (const [config, why] of cases) {
    const outcome = await startServer({ config }).then(async (x) => { await x.stop(); return 'started'; }, (e) => e.message);
    assert.match(outcome, /exited with 2/, config);
    assert.match(outcome, why, config);
  }
});
