'use strict';
// The life of an order in auto validation mode, through @alicloud/cas20200407 (issue #3):
// issuance, chains, keys, and DescribePackageState after every step (spec §3.3).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startServer, fsck } = require('./lib/server');
const { Cas } = require('./lib/clients');
const { newAccount, counters, state, waitForType, expectCode } = require('./lib/orders');
const { leafText, makeCsr, opensslVerify, leafOf, keyMatches, splitPem } = require('./lib/pki');

let server;
let clockFile;
const DAY = 86400;
const setClock = (days) => fs.writeFileSync(clockFile, String(Math.round(days * DAY)));

before(async () => {
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'certplan-clock-'));
  clockFile = path.join(dir, 'offset');
  setClock(0);
  server = await startServer({ extraArgs: ['--clock-offset-file', clockFile],
    config: '[validation]\nmode = "auto"\npoll_ms = 50\n' });
});
after(async () => {
  await server.stop();
  const check = fsck(server.dataDir);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.equal(check.report.Clean, true);
});

const root = () => fs.readFileSync(path.join(server.dataDir, 'ca', 'root.pem'), 'utf8');

function checkChain(body, names, days, atTime) {
  assert.match(opensslVerify(root(), body.certificate, atTime), /: OK/);
  const leaf = leafOf(body.certificate);
  assert.deepEqual(leaf.subjectAltName.split(', ').sort(), names.map((n) => `DNS:${n}`).sort());
  assert.match(leaf.subject, new RegExp(`CN=${names[0].replace('*', '\\*')}`));
  const lifetime = (Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / 1000 / DAY;
  assert.equal(Math.round(lifetime), days);
  assert.ok(leaf.serialNumber.length >= 31, 'a 128-bit serial');
  assert.deepEqual(leaf.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'serverAuth EKU only');
  const text = leafText(body.certificate);
  assert.match(text, /X509v3 Subject Key Identifier:/);
  assert.match(text, /X509v3 Authority Key Identifier:/);
  assert.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
  assert.equal(splitPem(body.certificate).length, 2, 'leaf then the issuing intermediate, no root');
}

test('CreateCertificateForPackageRequest: domains, no CSR → certplan makes the key', async () => {
  const a = await newAccount(server, { 'geotrust-dv-1-starter': 5 });
  const r = await a.client.createCertificateForPackageRequest(new Cas.CreateCertificateForPackageRequestRequest({
    productCode: 'geotrust-dv-1-starter', domain: 'www.example.com,Example.com', validateType: 'DNS',
    tags: [new Cas.CreateCertificateForPackageRequestRequestTags({ key: 'team', value: 'web' })] }));
  assert.ok(Number.isSafeInteger(r.body.orderId) && r.body.orderId > 0);
  const taken = await counters(a.client, 'geotrust-dv-1-starter');  // issued may be 0 or 1 by now
  assert.deepEqual({ total: taken.total, used: taken.used }, { total: 5, used: 1 });
  const done = await waitForType(a.client, r.body.orderId, 'certificate');
  checkChain(done, ['www.example.com', 'example.com'], 365);
  assert.ok(keyMatches(done.privateKey, done.certificate), 'PrivateKey matches the certificate');
  assert.match(done.privateKey, /^-----BEGIN PRIVATE KEY-----/);
  assert.deepEqual(await counters(a.client, 'geotrust-dv-1-starter'), { total: 5, used: 1, issued: 1 });
});

test('CreateCertificateForPackageRequest with a CSR: the CN wins, no PrivateKey returned', async () => {
  const a = await newAccount(server, { 'geotrust-dv-w-starter': 2 });
  const { csr, key } = makeCsr({ cn: '*.shop.example.com', key: 'ec:P-384' });
  const r = await a.client.createCertificateForPackageRequest(new Cas.CreateCertificateForPackageRequestRequest({
    productCode: 'geotrust-dv-w-starter', domain: '*.ignored.example.com', csr }));
  const done = await waitForType(a.client, r.body.orderId, 'certificate');
  checkChain(done, ['*.shop.example.com'], 365);
  assert.equal(done.privateKey, undefined);
  assert.ok(keyMatches(key, done.certificate));
});

test('CreateCertificateRequest: one name, contacts required, RSA key made by certplan', async () => {
  const a = await newAccount(server, { 'digicert-free-1-free': 3 });
  const r = await a.client.createCertificateRequest(new Cas.CreateCertificateRequestRequest({
    domain: 'api.example.org', email: 'ops@example.org', phone: '13900000000', username: 'Ops', validateType: 'FILE' }));
  const done = await waitForType(a.client, r.body.orderId, 'certificate');
  checkChain(done, ['api.example.org'], 90);
  assert.equal(crypto_type(done.privateKey), 'rsa');
  assert.ok(keyMatches(done.privateKey, done.certificate));
  assert.deepEqual(await counters(a.client, 'digicert-free-1-free'), { total: 3, used: 1, issued: 1 });
});

function crypto_type(pem) { return require('node:crypto').createPrivateKey(pem).asymmetricKeyType; }

test('CreateCertificateWithCsrRequest: CN and DNS SANs become the names', async () => {
  const a = await newAccount(server, { 'globalsign-dv-1-personal': 1 });
  const { csr, key } = makeCsr({ cn: 'a.example.net', sans: ['a.example.net', 'b.example.net'], key: 'rsa:2048' });
  const r = await a.client.createCertificateWithCsrRequest(new Cas.CreateCertificateWithCsrRequestRequest({
    csr, productCode: 'globalsign-dv-1-personal', email: 'x@example.net', phone: '1', username: 'X', validateType: 'DNS' }));
  const done = await waitForType(a.client, r.body.orderId, 'certificate');
  checkChain(done, ['a.example.net', 'b.example.net'], 365);
  assert.ok(keyMatches(key, done.certificate));
  assert.deepEqual(await counters(a.client, 'globalsign-dv-1-personal'), { total: 1, used: 1, issued: 1 });
  await expectCode(a.client.createCertificateWithCsrRequest(new Cas.CreateCertificateWithCsrRequestRequest({
    csr, productCode: 'globalsign-dv-1-personal', email: 'x@example.net', phone: '1', username: 'X', validateType: 'DNS' })),
  'NotRemainCount', 404);
  assert.deepEqual(await counters(a.client, 'globalsign-dv-1-personal'), { total: 1, used: 1, issued: 1 });
});

test('revocation within 30 days gives the unit back; after 30 days it does not', async () => {
  const code = 'symantec-dv-1-starter';
  const a = await newAccount(server, { [code]: 4 });
  const create = async () => (await a.client.createCertificateForPackageRequest(new Cas.CreateCertificateForPackageRequestRequest({
    productCode: code, domain: '*.rev.example.com' }))).body.orderId;
  const early = await create();
  const late = await create();
  await waitForType(a.client, early, 'certificate');
  await waitForType(a.client, late, 'certificate');
  assert.deepEqual(await counters(a.client, code), { total: 4, used: 2, issued: 2 });
  await a.client.cancelCertificateForPackageRequest(new Cas.CancelCertificateForPackageRequestRequest({ orderId: early }));
  assert.equal((await state(a.client, early)).type, 'unknow');
  assert.deepEqual(await counters(a.client, code), { total: 4, used: 1, issued: 1 });
  setClock(31);
  try {
    await a.client.cancelCertificateForPackageRequest(new Cas.CancelCertificateForPackageRequestRequest({ orderId: late }));
    assert.deepEqual(await counters(a.client, code), { total: 4, used: 1, issued: 1 });
    const list = await a.client.listUserCertificateOrder(new Cas.ListUserCertificateOrderRequest({ status: 'REVOKED' }));
    assert.equal(list.body.totalCount, 2);
  } finally { setClock(0); }
  await expectCode(a.client.cancelCertificateForPackageRequest(new Cas.CancelCertificateForPackageRequestRequest({ orderId: late })),
    'OrderStateError', 403);
});

test('renewal: only within 30 days of expiry, takes a unit, new order for the same names', async () => {
  const code = 'geotrust-dv-1-starter';
  const a = await newAccount(server, { [code]: 3 });
  const first = (await a.client.createCertificateForPackageRequest(new Cas.CreateCertificateForPackageRequestRequest({
    productCode: code, domain: 'renew.example.com', validateType: 'FILE' }))).body.orderId;
  await waitForType(a.client, first, 'certificate');
  const renew = (id) => a.client.renewCertificateOrderForPackageRequest(new Cas.RenewCertificateOrderForPackageRequestRequest({ orderId: id }));
  await expectCode(renew(first), 'OrderStateError', 403);
  setClock(350);
  try {
    // CERT items carry no Status (spec/cas-repository.md §7.6): the status filter tells.
    const list = (status) => a.client.listUserCertificateOrder(new Cas.ListUserCertificateOrderRequest({ orderType: 'CERT', status }));
    assert.equal((await list('WILLEXPIRED')).body.certificateOrderList[0].certificateId, first);
    assert.equal((await list('ISSUED')).body.totalCount, 0);
    const cpack = await a.client.listUserCertificateOrder(new Cas.ListUserCertificateOrderRequest({ orderType: 'CPACK', keyword: 'renew.example.com' }));
    assert.equal(cpack.body.certificateOrderList[0].status, 'WILLEXPIRED');
    const renewed = (await renew(first)).body.orderId;
    assert.notEqual(renewed, first);
    // The renewal took a unit at once; the worker may already have issued it (auto mode).
    const right = await counters(a.client, code);
    assert.deepEqual({ total: right.total, used: right.used }, { total: 3, used: 2 });
    const done = await waitForType(a.client, renewed, 'certificate');
    assert.deepEqual(await counters(a.client, code), { total: 3, used: 2, issued: 2 });
    checkChain(done, ['renew.example.com'], 365, Date.now() / 1000 + 351 * DAY);
  } finally { setClock(0); }
  const free = await newAccount(server, { 'digicert-free-1-free': 2 });
  const freeOrder = (await free.client.createCertificateForPackageRequest(new Cas.CreateCertificateForPackageRequestRequest({
    domain: 'free.example.com' }))).body.orderId;
  await waitForType(free.client, freeOrder, 'certificate');
  setClock(80);
  try {
    await expectCode(free.client.renewCertificateOrderForPackageRequest(
      new Cas.RenewCertificateOrderForPackageRequestRequest({ orderId: freeOrder })), 'OrderStateError', 403);
  } finally { setClock(0); }
});

test('ListUserCertificateOrder: paging, keyword, status filter, items', async () => {
  const a = await newAccount(server, { 'geotrust-dv-1-starter': 10 });
  const ids = [];
  for (let i = 0; i < 5; i++) {
    ids.push((await a.client.createCertificateForPackageRequest(new Cas.CreateCertificateForPackageRequestRequest({
      productCode: 'geotrust-dv-1-starter', domain: `n${i}.list.example.com` }))).body.orderId);
  }
  for (const id of ids) await waitForType(a.client, id, 'certificate');
  const page = (req) => a.client.listUserCertificateOrder(new Cas.ListUserCertificateOrderRequest(req));
  const p1 = await page({ showSize: 2, currentPage: 1 });
  assert.equal(p1.body.totalCount, 5);
  assert.equal(p1.body.certificateOrderList.length, 2);
  const p3 = await page({ showSize: 2, currentPage: 3 });
  assert.equal(p3.body.certificateOrderList.length, 1);
  const kw = await page({ keyword: 'n3.list' });
  assert.equal(kw.body.totalCount, 1);
  const item = kw.body.certificateOrderList[0];
  assert.equal(item.orderId, ids[3]);
  assert.equal(item.status, 'ISSUED');
  assert.equal(item.domainType, 'ONE');
  assert.equal(item.sourceType, 'cpack');
  assert.equal((await page({ status: 'CHECKING' })).body.totalCount, 0);
  const certs = await page({ orderType: 'CERT', showSize: 100 });
  assert.equal(certs.body.totalCount, 5);
  assert.ok(certs.body.certificateOrderList.every((c) => c.commonName && c.serialNo && /^\d{4}-\d\d-\d\d$/.test(c.endDate)));
  // ShowSize 1…1000 since issue #11 (101 was refused before; a published client sends 500).
  await expectCode(page({ showSize: 1001 }), 'InvalidParameter', 400);
  await expectCode(page({ status: 'SHINY' }), 'InvalidParameter', 400);
  await expectCode(page({ orderType: 'OTHER' }), 'InvalidParameter', 400);
});

test('issued and revoked orders refuse the transitions spec §4.2 does not allow', async () => {
  const code = 'geotrust-dv-1-starter';
  const a = await newAccount(server, { [code]: 2 });
  const id = (await a.client.createCertificateForPackageRequest(new Cas.CreateCertificateForPackageRequestRequest({
    productCode: code, domain: 'states.example.com' }))).body.orderId;
  await waitForType(a.client, id, 'certificate');
  const cancel = () => a.client.cancelOrderRequest(new Cas.CancelOrderRequestRequest({ orderId: id }));
  const del = () => a.client.deleteCertificateRequest(new Cas.DeleteCertificateRequestRequest({ orderId: id }));
  const renew = () => a.client.renewCertificateOrderForPackageRequest(new Cas.RenewCertificateOrderForPackageRequestRequest({ orderId: id }));
  const revoke = () => a.client.cancelCertificateForPackageRequest(new Cas.CancelCertificateForPackageRequestRequest({ orderId: id }));
  for (const op of [cancel, del]) await expectCode(op(), 'OrderStateError', 403);
  await revoke();
  for (const op of [cancel, del, renew, revoke]) await expectCode(op(), 'OrderStateError', 403);
  assert.deepEqual(await counters(a.client, code), { total: 2, used: 0, issued: 0 });
});
