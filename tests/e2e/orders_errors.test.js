'use strict';
// Every rejection path of the order operations asserts its code, and quota holds under a race
// (issue #3).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { startServer, fsck } = require('./lib/server');
const { Cas, send, signV3 } = require('./lib/clients');
const { newAccount, counters, state, waitForType, expectCode } = require('./lib/orders');
const { makeCsr, corruptSignature } = require('./lib/pki');

let server;
before(async () => {
  // live validation with no DNS server: orders stay pending unless the test moves them.
  server = await startServer({ config: '[validation]\nmode = "live"\ndns_server = "127.0.0.1:9"\nretry_initial_seconds = 60\n' });
});
after(async () => {
  await server.stop();
  const check = fsck(server.dataDir);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.equal(check.report.Clean, true);
});

const forPackage = (client, req) =>
  client.createCertificateForPackageRequest(new Cas.CreateCertificateForPackageRequestRequest(req));
const withCsr = (client, req) => client.createCertificateWithCsrRequest(new Cas.CreateCertificateWithCsrRequestRequest({
  email: 'a@example.com', phone: '1', username: 'u', validateType: 'DNS', ...req }));
const generated = (client, req) => client.createCertificateRequest(new Cas.CreateCertificateRequestRequest({
  email: 'a@example.com', phone: '1', username: 'u', validateType: 'DNS', ...req }));

test('64 concurrent Create* calls against a plan of 20: exactly 20 succeed', async () => {
  const code = 'geotrust-dv-1-starter';
  const a = await newAccount(server, { [code]: 20 });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const results = await Promise.all(Array.from({ length: 64 }, (_, i) => send(server, {
    ...signV3(server, { action: 'CreateCertificateForPackageRequest', key: a.key,
      query: { ProductCode: code, Domain: `race${i}.example.com` } }), agent })));
  agent.destroy();
  const ok = results.filter((r) => r.status === 200);
  const refused = results.filter((r) => r.status !== 200);
  assert.equal(ok.length, 20);
  assert.equal(new Set(ok.map((r) => r.json.OrderId)).size, 20, 'distinct OrderIds');
  assert.ok(ok.every((r) => Number.isSafeInteger(r.json.OrderId)));
  assert.equal(refused.length, 44);
  assert.ok(refused.every((r) => r.status === 404 && r.json.Code === 'NotRemainCount'), JSON.stringify(refused[0].json));
  assert.deepEqual(await counters(a.client, code), { total: 20, used: 20, issued: 0 });
});

test('no plan: NotFoundPackage; bad ProductCode: InvalidParameter; nothing changes', async () => {
  const a = await newAccount(server, { 'geotrust-dv-1-starter': 1 });
  await expectCode(forPackage(a.client, { productCode: 'globalsign-dv-1-personal', domain: 'x.example.com' }), 'NotFoundPackage', 404);
  await expectCode(forPackage(a.client, { productCode: 'nope', domain: 'x.example.com' }), 'InvalidParameter', 400);
  assert.deepEqual(await counters(a.client, 'globalsign-dv-1-personal'), { total: 0, used: 0, issued: 0 });
});

test('Domain rules: required, at most 5, all single or all wildcard, matching the code, well-formed', async () => {
  const a = await newAccount(server, { 'geotrust-dv-1-starter': 5, 'geotrust-dv-w-starter': 5 });
  const single = (domain, extra = {}) => forPackage(a.client, { productCode: 'geotrust-dv-1-starter', domain, ...extra });
  await expectCode(forPackage(a.client, { productCode: 'geotrust-dv-1-starter' }), 'MissingParameter', 400);
  await expectCode(single('a.example.com,b.example.com,c.example.com,d.example.com,e.example.com,f.example.com'), 'InvalidParameter');
  await expectCode(forPackage(a.client, { productCode: 'geotrust-dv-w-starter', domain: '*.example.com,www.example.com' }), 'InvalidParameter');
  await expectCode(single('*.example.com'), 'InvalidParameter');
  await expectCode(forPackage(a.client, { productCode: 'geotrust-dv-w-starter', domain: 'www.example.com' }), 'InvalidParameter');
  await expectCode(forPackage(a.client, { productCode: 'geotrust-dv-w-starter', domain: '*.example.com', validateType: 'FILE' }), 'InvalidParameter');
  for (const bad of ['localhost', 'a..example.com', '-a.example.com', 'a_b.example.com', 'bücher.example', 'a.*.example.com', `${'a'.repeat(64)}.example.com`]) {
    await expectCode(single(bad), 'InvalidParameter');
  }
  await expectCode(single('ok.example.com', { validateType: 'dns' }), 'InvalidParameter');
  const ok = await single('a.example.com,b.example.com,c.example.com,d.example.com,e.example.com');
  assert.ok(ok.body.orderId > 0);
  assert.deepEqual(await counters(a.client, 'geotrust-dv-1-starter'), { total: 5, used: 1, issued: 0 });
});

test('DV-only operations refuse OV codes; required parameters are required', async () => {
  const a = await newAccount(server, { 'symantec-ov-1-personal': 2, 'digicert-free-1-free': 2 });
  const { csr } = makeCsr({ cn: 'ov.example.com' });
  await expectCode(withCsr(a.client, { csr, productCode: 'symantec-ov-1-personal' }), 'InvalidParameter', 400);
  await expectCode(generated(a.client, { domain: 'ov.example.com', productCode: 'symantec-ov-1-personal' }), 'InvalidParameter', 400);
  for (const missing of ['email', 'phone', 'username', 'validateType']) {
    const req = { domain: 'x.example.com', email: 'a@example.com', phone: '1', username: 'u', validateType: 'DNS' };
    delete req[missing];
    await expectCode(a.client.createCertificateRequest(new Cas.CreateCertificateRequestRequest(req)), 'MissingParameter', 400);
  }
  await expectCode(generated(a.client, { domain: undefined }), 'MissingParameter', 400);
  await expectCode(withCsr(a.client, { csr: undefined }), 'MissingParameter', 400);
  await expectCode(generated(a.client, { domain: 'a.example.com,b.example.com' }), 'InvalidParameter', 400);
  const ov = await forPackage(a.client, { productCode: 'symantec-ov-1-personal', domain: 'ov.example.com', companyName: 'Example Ltd' });
  assert.ok(ov.body.orderId > 0, 'OV codes are fine for ForPackage');
  assert.deepEqual(await counters(a.client, 'digicert-free-1-free'), { total: 2, used: 0, issued: 0 });
});

test('bad CSRs: CreateCertificateRequestFailed, and no quota taken', async () => {
  const a = await newAccount(server, { 'digicert-free-1-free': 5 });
  const cases = {
    'RSA-1024': makeCsr({ cn: 'weak.example.com', key: 'rsa:1024' }).csr,
    'P-521': makeCsr({ cn: 'curve.example.com', key: 'ec:P-521' }).csr,
    'wrong signature': corruptSignature(makeCsr({ cn: 'sig.example.com' }).csr),
    'no CN': makeCsr({}).csr,
    'not a CSR': '-----BEGIN CERTIFICATE REQUEST-----\nMIIBfake+/=\n-----END CERTIFICATE REQUEST-----',
  };
  for (const [name, csr] of Object.entries(cases)) {
    await assert.rejects(withCsr(a.client, { csr }), (e) => {
      assert.equal(e.code, 'CreateCertificateRequestFailed', `${name}: ${e.message}`);
      assert.equal(e.statusCode, 403);
      return true;
    });
  }
  await expectCode(withCsr(a.client, { csr: makeCsr({ cn: 'bad_name.example.com' }).csr }), 'InvalidParameter', 400);
  assert.deepEqual(await counters(a.client, 'digicert-free-1-free'), { total: 5, used: 0, issued: 0 });
});

test('unknown, malformed and foreign OrderIds: NotFoundOrder / InvalidParameter', async () => {
  const a = await newAccount(server, { 'geotrust-dv-1-starter': 1 });
  const b = await newAccount(server, {});
  const id = (await forPackage(a.client, { productCode: 'geotrust-dv-1-starter', domain: 'mine.example.com' })).body.orderId;
  const ops = [
    (c, orderId) => c.describeCertificateState(new Cas.DescribeCertificateStateRequest({ orderId })),
    (c, orderId) => c.cancelOrderRequest(new Cas.CancelOrderRequestRequest({ orderId })),
    (c, orderId) => c.cancelCertificateForPackageRequest(new Cas.CancelCertificateForPackageRequestRequest({ orderId })),
    (c, orderId) => c.deleteCertificateRequest(new Cas.DeleteCertificateRequestRequest({ orderId })),
    (c, orderId) => c.renewCertificateOrderForPackageRequest(new Cas.RenewCertificateOrderForPackageRequestRequest({ orderId })),
  ];
  for (const op of ops) {
    await expectCode(op(b.client, id), 'NotFoundOrder', 404);
    await expectCode(op(a.client, 1234567890123), 'NotFoundOrder', 404);
    await expectCode(op(a.client, undefined), 'MissingParameter', 400);
  }
  const raw = await send(server, signV3(server, { action: 'DescribeCertificateState', key: a.key, query: { OrderId: '12ab' } }));
  assert.equal(raw.json.Code, 'InvalidParameter');
  const neg = await send(server, signV3(server, { action: 'CancelOrderRequest', key: a.key, query: { OrderId: '-5' } }));
  assert.equal(neg.json.Code, 'InvalidParameter');
  assert.equal((await state(a.client, id)).type, 'domain_verify', 'the foreign calls changed nothing');
  const list = await b.client.listUserCertificateOrder(new Cas.ListUserCertificateOrderRequest({}));
  assert.equal(list.body.totalCount, 0, "another account's orders are invisible");
});

test('every forbidden transition is OrderStateError and changes nothing', async () => {
  const code = 'geotrust-dv-1-starter';
  const a = await newAccount(server, { [code]: 5 });
  const cancel = (orderId) => a.client.cancelOrderRequest(new Cas.CancelOrderRequestRequest({ orderId }));
  const cancelPkg = (orderId) => a.client.cancelCertificateForPackageRequest(new Cas.CancelCertificateForPackageRequestRequest({ orderId }));
  const del = (orderId) => a.client.deleteCertificateRequest(new Cas.DeleteCertificateRequestRequest({ orderId }));
  const renew = (orderId) => a.client.renewCertificateOrderForPackageRequest(new Cas.RenewCertificateOrderForPackageRequestRequest({ orderId }));
  const make = async (d) => (await forPackage(a.client, { productCode: code, domain: d })).body.orderId;

  const pending = await make('p.example.com');           // domain_verify
  await expectCode(del(pending), 'OrderStateError', 403);
  await expectCode(renew(pending), 'OrderStateError', 403);

  const payed = await make('q.example.com');
  await cancel(payed);                                    // payed
  await expectCode(cancel(payed), 'OrderStateError', 403);
  await expectCode(cancelPkg(payed), 'OrderStateError', 403);
  await expectCode(renew(payed), 'OrderStateError', 403);

  const cancelled = await make('r.example.com');
  await cancelPkg(cancelled);                             // cancelled (final)
  for (const op of [cancel, cancelPkg, del, renew]) await expectCode(op(cancelled), 'OrderStateError', 403);

  await del(payed);                                       // deleted: gone
  for (const op of [cancel, cancelPkg, del, renew]) await expectCode(op(payed), 'NotFoundOrder', 404);
  assert.deepEqual(await counters(a.client, code), { total: 5, used: 1, issued: 0 });
});
