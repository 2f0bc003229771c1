'use strict';
// Real domain validation (issue #3): DNS TXT against dnsmasq, FILE against a local HTTP
// server, the validation deadline, and an order that survives a restart mid-validation.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, fsck } = require('./lib/server');
const { Cas } = require('./lib/clients');
const { newAccount, counters, state, waitForType, expectCode } = require('./lib/orders');
const { freeLoopbackPort, startDnsmasq, startFileServer } = require('./lib/peers');

let server;
let dnsPort;
let files;
let dns = null;
const records = {};

async function publishTxt(name, value) {
  records[name] = value;
  if (dns) await dns.stop();
  dns = await startDnsmasq(dnsPort, records);
}

function liveConfig(deadline = 600) {
  return `[validation]\nmode = "live"\ndns_server = "127.0.0.1:${dnsPort}"\nretry_initial_seconds = 1\n` +
    `retry_max_seconds = 1\ndeadline_seconds = ${deadline}\npoll_ms = 50\n` +
    `[validation.addresses]\n"files.example.test" = "127.0.0.1:${files.port}"\n"www.files.example.test" = "127.0.0.1:${files.port}"\n`;
}

before(async () => {
  dnsPort = await freeLoopbackPort();
  files = await startFileServer();
  server = await startServer({ config: liveConfig() });
});
after(async () => {
  await server.stop();
  if (dns) await dns.stop();
  await files.stop();
  const check = fsck(server.dataDir);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.equal(check.report.Clean, true);
});

const create = (client, req) =>
  client.createCertificateForPackageRequest(new Cas.CreateCertificateForPackageRequestRequest(req));

test('DNS: stays pending until the TXT record appears at _dnsauth, then issues', async () => {
  const a = await newAccount(server, { 'geotrust-dv-w-starter': 2 });
  const id = (await create(a.client, { productCode: 'geotrust-dv-w-starter', domain: '*.wild.example.test', validateType: 'DNS' })).body.orderId;
  const pending = await state(a.client, id);
  assert.equal(pending.type, 'domain_verify');
  assert.equal(pending.validateType, 'DNS');
  assert.equal(pending.recordType, 'TXT');
  assert.equal(pending.recordDomain, '_dnsauth');
  assert.match(pending.recordValue, /^\d{14}[0-9a-z]{50}$/);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await state(a.client, id)).type, 'domain_verify', 'no record, no progress');
  await publishTxt('_dnsauth.wild.example.test', 'some-other-token');
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await state(a.client, id)).type, 'domain_verify', 'a wrong token does not validate');
  await publishTxt('_dnsauth.wild.example.test', pending.recordValue);
  await waitForType(a.client, id, 'certificate');
  assert.deepEqual(await counters(a.client, 'geotrust-dv-w-starter'), { total: 2, used: 1, issued: 1 });
});

test('DNS: the token at _dnsauth of a parent zone validates (Authorization Domain Name), a public suffix never', async () => {
  const a = await newAccount(server, { 'geotrust-dv-1-starter': 2 });
  const id = (await create(a.client, { productCode: 'geotrust-dv-1-starter', domain: 'www.sub.zone.example.test', validateType: 'DNS' })).body.orderId;
  const pending = await state(a.client, id);
  assert.equal(pending.recordDomain, '_dnsauth', 'RecordDomain stays relative to the zone');
  // A token at the public suffix itself proves nothing.
  await publishTxt('_dnsauth.test', pending.recordValue);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await state(a.client, id)).type, 'domain_verify', 'a public suffix is no Authorization Domain Name');
  // A DNS panel for zone.example.test writes _dnsauth relative to its zone.
  await publishTxt('_dnsauth.zone.example.test', pending.recordValue);
  await waitForType(a.client, id, 'certificate');
  assert.deepEqual(await counters(a.client, 'geotrust-dv-1-starter'), { total: 2, used: 1, issued: 1 });
});

test('FILE: the HTTP server must serve the token at fileauth.txt for every name', async () => {
  const a = await newAccount(server, { 'geotrust-dv-1-starter': 2 });
  const id = (await create(a.client, { productCode: 'geotrust-dv-1-starter',
    domain: 'files.example.test,www.files.example.test', validateType: 'FILE' })).body.orderId;
  const pending = await state(a.client, id);
  assert.equal(pending.validateType, 'FILE');
  assert.equal(pending.uri, '/.well-known/pki-validation/fileauth.txt');
  assert.equal(pending.domain, 'files.example.test');
  files.files['files.example.test'] = pending.content;
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await state(a.client, id)).type, 'domain_verify', 'every name must validate');
  files.files['www.files.example.test'] = pending.content;
  await waitForType(a.client, id, 'certificate');
  assert.ok(files.seen.some((s) => s.host === 'www.files.example.test' && s.url === '/.well-known/pki-validation/fileauth.txt'));
});

test('cancel, cancel-for-package and delete on pending orders move the counters as spec §3.3', async () => {
  const code = 'globalsign-dv-1-personal';
  const a = await newAccount(server, { [code]: 3 });
  const one = (await create(a.client, { productCode: code, domain: 'pending1.example.test' })).body.orderId;
  const two = (await create(a.client, { productCode: code, domain: 'pending2.example.test' })).body.orderId;
  assert.deepEqual(await counters(a.client, code), { total: 3, used: 2, issued: 0 });
  await a.client.cancelOrderRequest(new Cas.CancelOrderRequestRequest({ orderId: one }));
  assert.equal((await state(a.client, one)).type, 'payed');
  assert.deepEqual(await counters(a.client, code), { total: 3, used: 2, issued: 0 }, 'payed still holds its unit');
  await a.client.deleteCertificateRequest(new Cas.DeleteCertificateRequestRequest({ orderId: one }));
  await expectCode(state(a.client, one), 'NotFoundOrder', 404);
  assert.deepEqual(await counters(a.client, code), { total: 3, used: 1, issued: 0 });
  await a.client.cancelCertificateForPackageRequest(new Cas.CancelCertificateForPackageRequestRequest({ orderId: two }));
  assert.equal((await state(a.client, two)).type, 'unknow');
  assert.deepEqual(await counters(a.client, code), { total: 3, used: 0, issued: 0 });
});

test('validation deadline: verify_fail keeps the unit until the order is deleted', async () => {
  const short = await startServer({ config: liveConfig(2) });
  try {
    const a = await newAccount(short, { 'geotrust-dv-1-starter': 1 });
    const id = (await create(a.client, { productCode: 'geotrust-dv-1-starter', domain: 'never.example.test' })).body.orderId;
    await waitForType(a.client, id, 'verify_fail', 15000);
    // The worker says which order failed and why (issue #12, fault 6), right after its commit.
    const failed = (line) => line.msg === 'order failed' && line.order_id === id;
    const logged = () => short.logs().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).find(failed);
    for (const until = Date.now() + 5000; !logged() && Date.now() < until;) await new Promise((r) => setTimeout(r, 20));
    const line = logged();
    assert.ok(line, 'an "order failed" log line for the order');
    assert.equal(line.level, 'warn');
    assert.match(line.reason, /never\.example\.test/);
    assert.deepEqual(await counters(a.client, 'geotrust-dv-1-starter'), { total: 1, used: 1, issued: 0 });
    for (const op of [
      () => a.client.cancelOrderRequest(new Cas.CancelOrderRequestRequest({ orderId: id })),
      () => a.client.cancelCertificateForPackageRequest(new Cas.CancelCertificateForPackageRequestRequest({ orderId: id })),
      () => a.client.renewCertificateOrderForPackageRequest(new Cas.RenewCertificateOrderForPackageRequestRequest({ orderId: id })),
    ]) await expectCode(op(), 'OrderStateError', 403);
    await expectCode(create(a.client, { productCode: 'geotrust-dv-1-starter', domain: 'again.example.test' }), 'NotRemainCount', 404);
    await a.client.deleteCertificateRequest(new Cas.DeleteCertificateRequestRequest({ orderId: id }));
    assert.deepEqual(await counters(a.client, 'geotrust-dv-1-starter'), { total: 1, used: 0, issued: 0 });
  } finally {
    await short.stop();
  }
});

test('restart in the middle of validation: the order still completes', async () => {
  const first = await startServer({ config: liveConfig() });
  const a = await newAccount(first, { 'geotrust-dv-1-starter': 1 });
  const id = (await create(a.client, { productCode: 'geotrust-dv-1-starter', domain: 'restart.example.test' })).body.orderId;
  const token = (await state(a.client, id)).recordValue;
  await new Promise((r) => setTimeout(r, 1200));
  assert.deepEqual(await first.stop(), { code: 0, signal: null });
  await publishTxt('_dnsauth.restart.example.test', token);
  const second = await startServer({ dataDir: first.dataDir, config: liveConfig() });
  try {
    const { casClient } = require('./lib/clients');
    const done = await waitForType(casClient(second, a.key), id, 'certificate');
    assert.match(done.certificate, /BEGIN CERTIFICATE/);
  } finally {
    await second.stop();
  }
});
