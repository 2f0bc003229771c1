'use strict';
// The certificate repository (issue #11) driven by certd's own CAS client, AliyunSslClient of
// @certd/plugin-lib 1.37.1, over HTTPS (certd hard-codes https:// for the endpoint), exactly as
// certd calls it: uploadCert (UploadUserCertificate, POST), getCertInfo (GetUserCertificateDetail),
// deleteCert (DeleteUserCertificate, POST); and through its generic doRequest — the way certd
// reaches Actions AliyunSslClient has no method for — GetUserCertificateDetail for the stored
// cert/key and ListUserCertificateOrder / ListCertificates for the lists. Underneath is
// @alicloud/pop-core (RPC, signature V1, form body) with certd's own https agent.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer } = require('../e2e/lib/server');
const { httpsOf, certdSession } = require('./lib/https');

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'certplan-certd-'));
let n = 0;

// A self-signed P-256 leaf for `cn` (with `cn` as its SAN) and its key, as PEM.
function makeCert(cn) {
  const base = path.join(work, `c${++n}`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', `${base}.key`, '-out', `${base}.crt`, '-days', '90', '-subj', `/O=certd Test/CN=${cn}`,
    '-addext', `subjectAltName=DNS:${cn}`, '-addext', 'basicConstraints=CA:FALSE',
    '-set_serial', `0x${crypto.randomBytes(8).toString('hex')}`], { stdio: 'pipe' });
  return { crt: fs.readFileSync(`${base}.crt`, 'utf8'), key: fs.readFileSync(`${base}.key`, 'utf8') };
}

let server;
let https;
let session;
let seq = 0;
before(async () => {
  server = await startServer({ tls: true });  // --listen-tls 127.0.0.1:0 once certplan has it
  https = await httpsOf(server);
  session = await certdSession(https.caFile);
});
after(async () => {
  if (session) await session.close();
  if (https) await https.close();
  if (server) await server.stop();
});

// One call of certd's AliyunSslClient against certplan's HTTPS endpoint with `key`.
const certd = (key, method, ...args) => session.call(https.endpoint, key, method, ...args);

async function newKey() {
  const created = await server.admin('account', 'create', '--name', `certd-${process.pid}-${++seq}`);
  assert.equal(created.code, 0, created.stderr);
  return created.json;
}

// Asserts that `promise` (a certd call) rejects with pop-core's error for `code` / `status`.
async function expectCode(promise, code, status) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.code, code, `${e.message}\n${session.logs()}`);
    assert.equal(e.data && e.data.Code, code);
    if (status) assert.equal(e.statusCode, status);
    return true;
  });
}

test('certd uploads a certificate over HTTPS, reads it back, lists it and deletes it', async (t) => {
  const key = await newKey();
  const cert = makeCert('www.certd.example.com');
  const name = 'certd_www_certd_example_com_20261130072900123';  // certd's buildCertName form
  const x509 = new crypto.X509Certificate(cert.crt);

  // certplan's CertIds have 16 digits (9·10^15 and up, below 2^53); pop-core reads answers with
  // json-bigint, which turns any number of more than 15 digits into a BigNumber object. So certd
  // gets a BigNumber back: passed on as is within a run, a decimal string once certd persists it.
  const up = await certd(key, 'uploadCert', { name, cert });
  assert.match(up && up.BigNumber, /^9\d{15}$/, `uploadCert returns the CertId: ${JSON.stringify(up)}`);
  const certId = up.BigNumber;

  // certd's own read: getCertInfo maps Name, CertIdentifier and NotAfter; with the BigNumber and
  // with its decimal string alike.
  const info = await certd(key, 'getCertInfo', up);
  assert.deepEqual(info, {
    certId: up,
    certName: name,
    certIdentifier: `${certId}-cn-hangzhou`,
    notAfter: Date.parse(x509.validTo),
    casRegion: https.endpoint,  // certd derives it from the endpoint: not an *.aliyuncs.com name here
  });
  assert.deepEqual(await certd(key, 'getCertInfo', certId), { ...info, certId });

  // The whole answer: the certificate and the key as uploaded.
  const d = await certd(key, 'doRequest', 'GetUserCertificateDetail', { CertId: certId }, { method: 'POST' });
  assert.deepEqual(d.Id, { BigNumber: certId });
  assert.equal(d.Name, name);
  assert.equal(d.Cert, cert.crt, 'the certificate comes back as uploaded');
  assert.ok(crypto.createPrivateKey(d.Key).equals(crypto.createPrivateKey(cert.key)), 'the key comes back');
  assert.equal(d.Common, 'www.certd.example.com');
  assert.equal(d.Sha2, crypto.createHash('sha256').update(x509.raw).digest('hex').toUpperCase());

  // Listed: ListUserCertificateOrder UPLOAD (what certd-like tools poll) and ListCertificates.
  const l = await certd(key, 'doRequest', 'ListUserCertificateOrder', { OrderType: 'UPLOAD' }, { method: 'POST' });
  assert.equal(l.TotalCount, 1);
  assert.equal(l.CertificateOrderList.length, 1);
  assert.deepEqual(l.CertificateOrderList[0].CertificateId, { BigNumber: certId });
  assert.equal(l.CertificateOrderList[0].Name, name);
  assert.equal(l.CertificateOrderList[0].Sha2, d.Sha2);
  const lc = await certd(key, 'doRequest', 'ListCertificates', { CertificateSource: 'UPLOAD' }, { method: 'POST' });
  assert.deepEqual(lc.CertificateList.map((c) => [c.CertificateId, c.CertificateName]), [[certId, name]]);  // a string on the wire (spec)

  assert.equal(await certd(key, 'deleteCert', up), null);  // deleteCert returns nothing
  await expectCode(certd(key, 'getCertInfo', up), 'NotFound', 404);
  await expectCode(certd(key, 'deleteCert', certId), 'NotFound', 404);
  const after = await certd(key, 'doRequest', 'ListUserCertificateOrder', { OrderType: 'UPLOAD' }, { method: 'POST' });
  assert.equal(after.TotalCount, 0);
});

test("certd's refusals arrive as CAS error codes: a key of another certificate, a name taken, a bad key", async () => {
  const key = await newKey();
  const a = makeCert('a.certd.example.com');
  const b = makeCert('b.certd.example.com');
  await expectCode(certd(key, 'uploadCert', { name: 'mismatch', cert: { crt: a.crt, key: b.key } }),
    'Certificate.KeyMismatch', 400);
  await certd(key, 'uploadCert', { name: 'taken', cert: a });
  await expectCode(certd(key, 'uploadCert', { name: 'taken', cert: b }), 'ParamRepeat', 400);
  await expectCode(certd(key, 'uploadCert', { name: 'bad-key', cert: { crt: b.crt, key: 'not a key' } }),
    'PrivateKey.FormatError', 400);
});

test("another account's certd sees NotFound for a CertId it does not own", async () => {
  const owner = await newKey();
  const other = await newKey();
  const certId = (await certd(owner, 'uploadCert', { name: 'owned', cert: makeCert('owned.certd.example.com') })).BigNumber;
  assert.match(certId, /^9\d{15}$/);
  await expectCode(certd(other, 'getCertInfo', certId), 'NotFound', 404);
  await expectCode(certd(other, 'deleteCert', certId), 'NotFound', 404);
  assert.equal((await certd(owner, 'getCertInfo', certId)).certName, 'owned');
});

test('certd refuses a server certificate its CA file does not vouch for (TLS verification stays on)', async () => {
  const stranger = makeCert('127.0.0.1');  // a certificate file that is not the server's CA
  const file = path.join(work, 'stranger-ca.pem');
  fs.writeFileSync(file, stranger.crt);
  const untrusting = await certdSession(file);
  try {
    await assert.rejects(untrusting.call(https.endpoint, await newKey(), 'getCertInfo', '1'), (e) => {
      assert.ok(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
        'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'].includes(e.code), `${e.code}: ${e.message}`);
      return true;
    });
  } finally {
    await untrusting.close();
  }
});
