'use strict';
// The certificate repository (issue #11, spec/cas-repository.md §7) through the official SDK
// (@alicloud/cas20200407 3.0.0) and pop-core (ListCertificates, which 3.0.0 lacks): uploads with
// every refusal and its code, issued certificates as entries, lists, deletion, tenancy.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, auditRecords } = require('./lib/server');
const { Cas, popClient } = require('./lib/clients');
const { newAccount, waitForType, expectCode, counters } = require('./lib/orders');

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'certplan-repo-'));
let n = 0;
const openssl = (...args) => execFileSync('openssl', args, { stdio: 'pipe' });
const read = (f) => fs.readFileSync(f, 'utf8');

// A key and a certificate: self-signed (CA or not) or signed by `issuer`.
function makeCert({ cn, sans = [], issuer, ca = false, days = 90, key = 'ec' }) {
  const base = path.join(work, `c${++n}`);
  if (key === 'ec') openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${base}.key`);
  else openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${key}`, '-out', `${base}.key`);
  fs.writeFileSync(`${base}.ext`, [
    ca ? 'basicConstraints=critical,CA:TRUE' : 'basicConstraints=CA:FALSE',
    ...(sans.length ? [`subjectAltName=${sans.map((s) => `DNS:${s}`).join(',')}`] : []),
  ].join('\n'));
  openssl('req', '-new', '-key', `${base}.key`, '-subj', `/O=Repo Test/CN=${cn}`, '-out', `${base}.csr`);
  const signer = issuer ? ['-CA', issuer.certFile, '-CAkey', issuer.keyFile] : ['-signkey', `${base}.key`];
  openssl('x509', '-req', '-in', `${base}.csr`, ...signer, '-days', String(days), '-extfile', `${base}.ext`,
    '-set_serial', `0x${crypto.randomBytes(8).toString('hex')}`, '-out', `${base}.crt`);
  return { cert: read(`${base}.crt`), key: read(`${base}.key`), certFile: `${base}.crt`, keyFile: `${base}.key` };
}

let server;
let owner;
let chain;  // leaf, intermediate, root
before(async () => {
  server = await startServer();
  owner = await newAccount(server, { 'geotrust-dv-1-starter': 5, 'digicert-free-1-free': 5 });
  const root = makeCert({ cn: 'Repo Root CA', ca: true, days: 3650 });
  const inter = makeCert({ cn: 'Repo Issuing CA', ca: true, days: 1825, issuer: root });
  const leaf = makeCert({ cn: 'www.repo.example.com', sans: ['www.repo.example.com', 'repo.example.com'], issuer: inter });
  chain = { root, inter, leaf, pem: leaf.cert + inter.cert + root.cert };
});
after(async () => { await server.stop(); });

const upload = (client, req) => client.uploadUserCertificate(new Cas.UploadUserCertificateRequest(req));
const detail = (client, certId, certFilter) =>
  client.getUserCertificateDetail(new Cas.GetUserCertificateDetailRequest({ certId, certFilter }));
const remove = (client, certId) => client.deleteUserCertificate(new Cas.DeleteUserCertificateRequest({ certId }));
const list = (client, req) => client.listUserCertificateOrder(new Cas.ListUserCertificateOrderRequest(req));
const sha = (alg, pem) => crypto.createHash(alg).update(new crypto.X509Certificate(pem).raw).digest('hex').toUpperCase();

test('upload a chain, read it back with facts read from the certificate, list it, delete it', async () => {
  const a = await newAccount(server);
  const up = await upload(a.client, { name: 'www.repo.example.com-1735000000', cert: chain.pem, key: chain.leaf.key,
    tags: [new Cas.UploadUserCertificateRequestTags({ key: 'env', value: 'prod' })] });
  assert.equal(typeof up.body.certId, 'number');
  assert.match(up.body.resourceId, /^cas-upload-[0-9a-z]{6}$/);
  const d = (await detail(a.client, up.body.certId)).body;
  assert.equal(d.id, up.body.certId);
  assert.equal(d.name, 'www.repo.example.com-1735000000');
  assert.equal(d.cert, chain.pem, 'the chain as uploaded (canonical PEM)');
  assert.ok(crypto.createPrivateKey(d.key).equals(crypto.createPrivateKey(chain.leaf.key)), 'the key comes back');
  assert.equal(d.common, 'www.repo.example.com');
  assert.equal(d.sans, 'www.repo.example.com,repo.example.com');
  assert.equal(d.issuer, 'Repo Test');  // issuer O before CN
  assert.equal(d.orgName, 'Repo Test');
  assert.equal(d.fingerprint, sha('sha1', chain.leaf.cert));
  assert.equal(d.sha2, sha('sha256', chain.leaf.cert));
  // The DER INTEGER's content octets: a leading 00 when the top bit is set, as CAS shows them.
  let serial = new crypto.X509Certificate(chain.leaf.cert).serialNumber.toLowerCase();
  if (serial.length % 2) serial = `0${serial}`;
  if (parseInt(serial[0], 16) >= 8) serial = `00${serial}`;
  assert.equal(d.serialNo, serial);
  assert.equal(d.algorithm, 'ECC');
  assert.equal(d.buyInAliyun, false);
  assert.equal(d.expired, false);
  assert.equal(d.instanceId, up.body.resourceId);
  assert.equal(d.certIdentifier, `${up.body.certId}-cn-hangzhou`);
  // 3.0.0's detail model has no Tags (Go v4.0.2 added them): read them through pop-core.
  const raw = await popClient(server, a.key).request('GetUserCertificateDetail', { CertId: up.body.certId }, { method: 'POST' });
  assert.deepEqual(raw.Tags.map((t) => [t.TagKey, t.TagValue]), [['env', 'prod']]);
  assert.equal(d.notAfter, Date.parse(new crypto.X509Certificate(chain.leaf.cert).validTo));
  assert.match(d.startDate, /^\d{4}-\d{2}-\d{2}$/);
  assert.deepEqual(d.certChain.map((e) => [e.commonName, e.issuerCommonName]),
    [['www.repo.example.com', 'Repo Issuing CA'], ['Repo Issuing CA', 'Repo Root CA'], ['Repo Root CA', 'Repo Root CA']]);
  const filtered = (await detail(a.client, up.body.certId, true)).body;
  assert.equal(filtered.cert, undefined, 'CertFilter=true drops Cert');
  assert.equal(filtered.key, undefined, 'CertFilter=true drops Key');
  assert.equal(filtered.sha2, d.sha2);

  for (const orderType of ['UPLOAD', 'CERT']) {
    const l = (await list(a.client, { orderType })).body;
    assert.equal(l.totalCount, 1, orderType);
    const item = l.certificateOrderList[0];
    assert.equal(item.certificateId, up.body.certId);
    assert.equal(item.upload, true);
    assert.equal(item.sha2, d.sha2);
    assert.equal(item.fingerprint, d.fingerprint);
    assert.equal(item.commonName, 'www.repo.example.com');
  }
  assert.equal((await list(a.client, { orderType: 'UPLOAD', keyword: 'REPO.example' })).body.totalCount, 1, 'keyword, any case');
  assert.equal((await list(a.client, { orderType: 'UPLOAD', keyword: 'nothing-like-it' })).body.totalCount, 0);
  assert.equal((await list(a.client, { orderType: 'UPLOAD', status: 'EXPIRED' })).body.totalCount, 0);
  assert.equal((await list(a.client, { orderType: 'UPLOAD', status: 'REVOKED' })).body.totalCount, 0);

  await remove(a.client, up.body.certId);
  await expectCode(detail(a.client, up.body.certId), 'NotFound', 404);
  await expectCode(remove(a.client, up.body.certId), 'NotFound', 404);
  assert.equal((await list(a.client, { orderType: 'UPLOAD' })).body.totalCount, 0);
  // The name is free again.
  await upload(a.client, { name: 'www.repo.example.com-1735000000', cert: chain.pem, key: chain.leaf.key });
});

test('every refused upload answers its code and stores nothing', async () => {
  const a = await newAccount(server);
  const other = makeCert({ cn: 'other.example.com' });
  const rsa1024 = makeCert({ cn: 'weak.example.com', key: 1024 });
  const ok = { name: 'n', cert: chain.pem, key: chain.leaf.key };
  const cases = [
    [{ ...ok, name: '' }, 'MissingParameter'],
    [{ ...ok, cert: '' }, 'MissingParameter'],
    [{ ...ok, key: '' }, 'MissingParameter'],
    [{ ...ok, name: 'cert-123' }, 'InvalidParameter'],
    [{ ...ok, name: 'x'.repeat(65) }, 'InvalidParameter'],
    [{ ...ok, name: ' padded' }, 'InvalidParameter'],
    [{ ...ok, name: '\u00a0padded' }, 'InvalidParameter'],
    [{ ...ok, name: 'padded\u3000' }, 'InvalidParameter'],
    [{ ...ok, name: 'evil\u202egpj.exe' }, 'InvalidParameter'],
    [{ ...ok, name: 'zero\u200bwidth' }, 'InvalidParameter'],
    [{ ...ok, cert: 'garbage' }, 'Certificate.FormatError'],
    [{ ...ok, cert: chain.leaf.key }, 'Certificate.FormatError'],
    [{ ...ok, key: 'garbage' }, 'PrivateKey.FormatError'],
    [{ ...ok, key: other.key }, 'Certificate.KeyMismatch'],
    [{ ...ok, cert: chain.leaf.cert + chain.root.cert + chain.inter.cert }, 'CertificateChainNotMatch'],
    [{ ...ok, cert: rsa1024.cert, key: rsa1024.key }, 'Certificate.AlgorithmNotSupported'],
  ];
  for (const [req, code] of cases) {
    await expectCode(upload(a.client, req), code, 400);
  }
  await expectCode(popClient(server, a.key).request('UploadUserCertificate',
    { Name: 'tagged', Cert: chain.pem, Key: chain.leaf.key, 'Tags.99.Key': 'env' }, { method: 'POST' }), 'InvalidParameter');
  assert.equal((await list(a.client, { orderType: 'UPLOAD' })).body.totalCount, 0, 'nothing stored');
  await upload(a.client, ok);
  await expectCode(upload(a.client, { ...ok, cert: other.cert, key: other.key }), 'ParamRepeat', 400);
  assert.equal((await list(a.client, { orderType: 'UPLOAD' })).body.totalCount, 1);
});

test('an expired certificate is refused with CertificateExpired', async () => {
  // A certificate valid for one day, checked by a server whose clock runs two days ahead.
  const clockFile = path.join(work, 'clock-offset');
  fs.writeFileSync(clockFile, String(2 * 86400));
  const ahead = await startServer({ extraArgs: ['--clock-offset-file', clockFile] });
  try {
    const a = await newAccount(ahead);
    const short = makeCert({ cn: 'short.example.com', days: 1 });
    await expectCode(upload(a.client, { name: 'short', cert: short.cert, key: short.key }), 'CertificateExpired', 400);
    assert.equal((await list(a.client, { orderType: 'UPLOAD' })).body.totalCount, 0);
    fs.writeFileSync(clockFile, '0');
    await upload(a.client, { name: 'short', cert: short.cert, key: short.key });  // valid today
  } finally {
    await ahead.stop();
  }
});

test("another account's CertId is NotFound, exactly like a missing one", async () => {
  const a = await newAccount(server);
  const b = await newAccount(server);
  const up = await upload(a.client, { name: 'mine', cert: chain.pem, key: chain.leaf.key });
  await expectCode(detail(b.client, up.body.certId), 'NotFound', 404);
  await expectCode(remove(b.client, up.body.certId), 'NotFound', 404);
  await expectCode(detail(b.client, 9999999999999), 'NotFound', 404);
  assert.equal((await list(b.client, { orderType: 'CERT' })).body.totalCount, 0);
  assert.equal((await detail(a.client, up.body.certId)).body.name, 'mine', 'still there for its owner');
  await expectCode(detail(a.client, 'abc'), 'InvalidParameter', 400);
});

test('an issued order is a repository entry: read by its CertId, not deletable until revoked', async () => {
  const a = await newAccount(server, { 'geotrust-dv-1-starter': 2 });
  const created = await a.client.createCertificateRequest(new Cas.CreateCertificateRequestRequest({
    productCode: 'geotrust-dv-1-starter', domain: 'issued.repo.example.com', email: 'a@example.com',
    phone: '1', username: 'u', validateType: 'DNS' }));
  const issued = await waitForType(a.client, created.body.orderId, 'certificate');
  // 3.0.0's model has no CertId yet (Go v4.0.1 added it): read it through pop-core.
  const raw = await popClient(server, a.key).request('DescribeCertificateState', { OrderId: created.body.orderId }, { method: 'POST' });
  assert.equal(raw.CertId, String(created.body.orderId));
  issued.certId = raw.CertId;
  const d = (await detail(a.client, Number(issued.certId))).body;
  assert.equal(d.buyInAliyun, true);
  assert.equal(d.orderId, created.body.orderId);
  assert.equal(d.name, `cert-${issued.certId}`);
  assert.equal(d.common, 'issued.repo.example.com');
  assert.equal(d.cert, issued.certificate, 'leaf and chain as DescribeCertificateState gives them');
  assert.ok(crypto.createPrivateKey(d.key).equals(crypto.createPrivateKey(issued.privateKey)));
  assert.equal(d.algorithm, 'RSA');
  const l = (await list(a.client, { orderType: 'CERT' })).body;
  assert.equal(l.totalCount, 1);
  assert.equal(l.certificateOrderList[0].upload, false);
  assert.equal(l.certificateOrderList[0].certificateId, created.body.orderId);
  assert.equal((await list(a.client, { orderType: 'UPLOAD' })).body.totalCount, 0);
  await expectCode(remove(a.client, Number(issued.certId)), 'DeleteFail', 403);
  await a.client.cancelCertificateForPackageRequest(new Cas.CancelCertificateForPackageRequestRequest({ orderId: created.body.orderId }));
  const revoked = await popClient(server, a.key).request('ListCertificates', { CertificateStatus: 'revoked' }, { method: 'POST' });
  assert.equal(revoked.TotalCount, 1);
  assert.equal(revoked.CertificateList[0].CertificateStatus, 'revoked');
  await remove(a.client, Number(issued.certId));
  await expectCode(detail(a.client, Number(issued.certId)), 'NotFound', 404);
  assert.equal((await a.client.describeCertificateState(new Cas.DescribeCertificateStateRequest({ orderId: created.body.orderId }))).body.type,
    'unknow', 'deleting the entry never touches the order (revoked reads unknow, the SDK spelling)');
  const stillThere = await popClient(server, a.key).request('ListUserCertificateOrder', { OrderType: 'CPACK', Status: 'REVOKED' }, { method: 'POST' });
  assert.equal(stillThere.TotalCount, 1);
  assert.deepEqual(await counters(a.client, 'geotrust-dv-1-starter'), { total: 2, used: 0, issued: 0 });
});

test('ListCertificates (pop-core): string ids, statuses, paging until an empty page, ShowSize 1-100', async () => {
  const a = await newAccount(server);
  const pop = popClient(server, a.key);
  const ids = [];
  for (let i = 0; i < 3; i++) {
    ids.push((await upload(a.client, { name: `page-${i}`, cert: chain.pem, key: chain.leaf.key })).body.certId);
  }
  const seen = [];
  for (let page = 1; ; page++) {
    const r = await pop.request('ListCertificates', { ShowSize: 2, CurrentPage: page }, { method: 'POST' });
    assert.equal(r.TotalCount, 3);
    assert.equal(r.ShowSize, 2);
    if (r.CertificateList.length === 0) break;
    for (const c of r.CertificateList) {
      assert.equal(typeof c.CertificateId, 'string');
      assert.equal(c.CertificateSource, 'UPLOAD');
      assert.equal(c.CertificateStatus, 'issued');
      assert.equal(c.KeySize, 256);
      assert.equal(c.ExistPrivateKey, true);
      assert.deepEqual(c.UsingProductList, []);
      seen.push(Number(c.CertificateId));
    }
    assert.ok(page < 5, 'paging ends');
  }
  assert.deepEqual(seen.sort(), ids.sort(), 'every entry once, newest first across pages');
  const bad = async (params, code) => assert.rejects(pop.request('ListCertificates', params, { method: 'POST' }),
    (e) => { assert.equal(e.code, code, JSON.stringify(params)); return true; });
  await bad({ ShowSize: 101 }, 'InvalidParameter');
  await bad({ ShowSize: 0 }, 'InvalidParameter');
  await bad({ CurrentPage: 0 }, 'InvalidParameter');
  await bad({ CertificateStatus: 'valid' }, 'InvalidParameter');
  await bad({ CertificateSource: 'MINE' }, 'InvalidParameter');
  const far = await pop.request('ListCertificates', { CurrentPage: 2147483647, ShowSize: 100 }, { method: 'POST' });
  assert.equal(far.CertificateList.length, 0);
  assert.equal(far.TotalCount, 3);
});

test('limits.uploads_per_account: past the cap Certificate.OverQuota (403), audited, nothing stored; a deletion frees a slot', async () => {
  const capped = await startServer({ config: '[limits]\nuploads_per_account = 2\n' });
  try {
    const a = await newAccount(capped);
    const b = await newAccount(capped);
    const certs = [1, 2, 3, 4].map((i) => makeCert({ cn: `cap${i}.repo.example.com`, sans: [`cap${i}.repo.example.com`] }));
    const first = await upload(a.client, { name: 'cap-1', cert: certs[0].cert, key: certs[0].key });
    await upload(a.client, { name: 'cap-2', cert: certs[1].cert, key: certs[1].key });
    await assert.rejects(upload(a.client, { name: 'cap-3', cert: certs[2].cert, key: certs[2].key }), (e) => {
      assert.equal(e.code, 'Certificate.OverQuota', e.message);
      assert.equal(e.statusCode, 403);
      assert.match(e.data.Message, /quota of 2/);
      return true;
    });
    assert.equal((await list(a.client, { orderType: 'UPLOAD' })).body.totalCount, 2, 'nothing stored');
    const refusal = auditRecords(capped.dataDir, a.id).filter((r) => r.Action === 'UploadUserCertificate');
    assert.deepEqual(refusal.map((r) => r.Result), ['OK', 'OK', 'Certificate.OverQuota']);
    // Another account has its own cap.
    await upload(b.client, { name: 'cap-1', cert: certs[3].cert, key: certs[3].key });
    // Deleting an upload frees its slot.
    await remove(a.client, first.body.certId);
    await upload(a.client, { name: 'cap-3', cert: certs[2].cert, key: certs[2].key });
    await expectCode(upload(a.client, { name: 'cap-4', cert: certs[3].cert, key: certs[3].key }), 'Certificate.OverQuota', 403);
    assert.equal((await list(a.client, { orderType: 'UPLOAD' })).body.totalCount, 2);
  } finally {
    await capped.stop();
  }
});
