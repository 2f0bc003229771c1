'use strict';
// The audit trail (issue #15, item 2) through the official SDK and the admin CLI: every
// state-changing call — each mutating Action, succeeded or refused after authentication (RAM
// deny, bad parameter, business refusal), and each admin CLI mutation — leaves exactly one
// record with the caller, the object and the result; reads and unauthenticated (forged)
// requests leave none; the worker's issuance is traceable through the order; `certplan audit`
// reads it as JSON lines or CSV, by account and time.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, fsck, audit } = require('./lib/server');
const { Cas, casClient, send, signV3 } = require('./lib/clients');
const { newAccount, waitForType } = require('./lib/orders');
const { makeCsr } = require('./lib/pki');

const CODE = 'geotrust-dv-1-starter';
const DAY = 86400;
let pending;  // validation.worker = false: orders stay in domain_verify
let issuing;  // auto validation with a movable clock: orders are issued
let clockFile;
const setClock = (days) => fs.writeFileSync(clockFile, String(Math.round(days * DAY)));

before(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certplan-audit-'));
  clockFile = path.join(dir, 'offset');
  setClock(0);
  pending = await startServer({ config: '[validation]\nmode = "auto"\nworker = false\n' });
  issuing = await startServer({ extraArgs: ['--clock-offset-file', clockFile],
    config: '[validation]\nmode = "auto"\npoll_ms = 50\n[audit]\nretention_days = 30\n' });
});
after(async () => {
  for (const s of [pending, issuing]) {
    await s.stop();
    const check = fsck(s.dataDir);
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.equal(check.report.Clean, true);
    assert.deepEqual(check.report.OrdersWithoutAuditRecord, []);
  }
});

// `certplan audit` on a server's data directory: {status, stdout, stderr}.
const auditCli = (server, ...args) => audit(server.dataDir, ...args);

// Every record of the account (the worker's left out unless asked for), oldest first.
function records(server, accountId, { worker = false } = {}) {
  const r = auditCli(server, '--account', String(accountId), '--since', '0');
  assert.equal(r.status, 0, r.stderr);
  const all = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  return worker ? all : all.filter((x) => x.PrincipalType !== 'worker');
}

// Runs `fn` and returns its outcome with the one record it left on the account (failing when
// it left none or more than one).
async function oneRecord(server, accountId, fn) {
  const seen = new Set(records(server, accountId).map((r) => r.Id));
  let out;
  try {
    out = { value: await fn() };
  } catch (e) {
    out = { error: e };
  }
  const fresh = records(server, accountId).filter((r) => !seen.has(r.Id));
  assert.equal(fresh.length, 1, `exactly one record expected: ${JSON.stringify(fresh)}`);
  return { ...out, record: fresh[0] };
}

async function noRecord(server, accountId, fn) {
  const before = records(server, accountId, { worker: true }).length;
  try { await fn(); } catch (_) { /* refusals are fine here */ }
  assert.equal(records(server, accountId, { worker: true }).length, before, 'no record expected');
}

// A caller's record of an SDK call: the envelope's RequestId, the AccessKey, loopback.
function assertCall(record, { action, key, result = 'OK', type = 'root', principal = 'root', requestId, objectType, objectId }) {
  assert.equal(record.Action, action);
  assert.equal(record.Result, result);
  assert.equal(record.PrincipalType, type);
  assert.equal(record.Principal, principal);
  assert.equal(record.AccessKeyId, key.AccessKeyId);
  assert.equal(record.SourceIp, '127.0.0.1');
  assert.match(record.Time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  if (requestId !== undefined) assert.equal(record.RequestId, requestId);
  if (objectType !== undefined) assert.equal(record.ObjectType, objectType);
  if (objectId !== undefined) assert.equal(record.ObjectId, String(objectId));
}

const requestIdOf = (o) => (o.value ? o.value.body.requestId : o.error.data.RequestId);

function selfSigned(cn) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certplan-audit-cert-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', `${dir}/k.pem`, '-out', `${dir}/c.pem`, '-subj', `/CN=${cn}`, '-days', '90',
    '-addext', `subjectAltName=DNS:${cn}`, '-addext', 'basicConstraints=CA:FALSE'], { stdio: 'pipe' });
  return { cert: fs.readFileSync(`${dir}/c.pem`, 'utf8'), key: fs.readFileSync(`${dir}/k.pem`, 'utf8') };
}

const forPackage = (c, req) => c.createCertificateForPackageRequest(new Cas.CreateCertificateForPackageRequestRequest(req));
const cancelOrder = (c, orderId) => c.cancelOrderRequest(new Cas.CancelOrderRequestRequest({ orderId }));
const cancelForPackage = (c, orderId) => c.cancelCertificateForPackageRequest(new Cas.CancelCertificateForPackageRequestRequest({ orderId }));
const deleteOrder = (c, orderId) => c.deleteCertificateRequest(new Cas.DeleteCertificateRequestRequest({ orderId }));
const renew = (c, orderId) => c.renewCertificateOrderForPackageRequest(new Cas.RenewCertificateOrderForPackageRequestRequest({ orderId }));
const upload = (c, req) => c.uploadUserCertificate(new Cas.UploadUserCertificateRequest(req));
const deleteCert = (c, certId) => c.deleteUserCertificate(new Cas.DeleteUserCertificateRequest({ certId }));

test('every admin CLI mutation leaves one record (principal cli), a refused one its code', async () => {
  const server = pending;
  const created = await server.admin('account', 'create', '--name', `audit-cli-${process.pid}`);
  assert.equal(created.code, 0, created.stderr);
  const id = String(created.json.AccountId);
  const [first] = records(server, id);
  assert.equal(records(server, id).length, 1, 'account create: one record for the account and its root key');
  assert.deepEqual([first.Action, first.PrincipalType, first.Principal, first.ObjectType, first.ObjectId, first.Result],
    ['admin account create', 'cli', 'cli', 'AccountId', id, 'OK']);
  const policyFile = path.join(server.dataDir, 'audit-policy.json');
  fs.writeFileSync(policyFile, JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: 'yundun-cert:Describe*', Resource: '*' }] }));
  let keyId;
  const steps = [
    [['plan', 'grant', '--account', id, '--product', CODE, '--count', '2'], 'admin plan grant', 'PlanId', (j) => j.PlanId],
    [['user', 'create', '--account', id, '--name', 'ops'], 'admin user create', 'User', () => 'ops'],
    [['policy', 'create', '--account', id, '--name', 'readers', '--document', policyFile], 'admin policy create', 'PolicyName', () => 'readers'],
    [['policy', 'attach', '--account', id, '--user', 'ops', '--policy', 'readers'], 'admin policy attach', 'PolicyAttachment', () => 'ops:readers'],
    [['key', 'create', '--account', id, '--user', 'ops'], 'admin key create', 'AccessKeyId', (j) => { keyId = j.AccessKeyId; return keyId; }],
    [() => ['key', 'disable', '--id', keyId], 'admin key disable', 'AccessKeyId', () => keyId],
    [() => ['key', 'enable', '--id', keyId], 'admin key enable', 'AccessKeyId', () => keyId],
    [['policy', 'detach', '--account', id, '--user', 'ops', '--policy', 'readers'], 'admin policy detach', 'PolicyAttachment', () => 'ops:readers'],
    [['user', 'delete', '--account', id, '--name', 'ops'], 'admin user delete', 'User', () => 'ops'],
  ];
  for (const [args, action, objectType, objectId] of steps) {
    const { value, record } = await oneRecord(server, id, () => server.admin(...(typeof args === 'function' ? args() : args)));
    assert.equal(value.code, 0, value.stderr);
    assert.deepEqual([record.Action, record.PrincipalType, record.Principal, record.AccessKeyId, record.SourceIp, record.RequestId,
      record.ObjectType, record.ObjectId, record.Result],
    [action, 'cli', 'cli', '', '', '', objectType, String(objectId(value.json)), 'OK']);
  }
  // Refusals after the data directory opened: one record each, with the code.
  for (const [args, action, code] of [
    [['plan', 'grant', '--account', id, '--product', 'no-such-code', '--count', '1'], 'admin plan grant', 'InvalidParameter'],
    [['user', 'delete', '--account', id, '--name', 'nobody'], 'admin user delete', 'InvalidParameter'],
    [['policy', 'attach', '--account', id, '--user', 'nobody', '--policy', 'readers'], 'admin policy attach', 'InvalidParameter'],
  ]) {
    const { value, record } = await oneRecord(server, id, () => server.admin(...args));
    assert.equal(value.code, 1);
    assert.deepEqual([record.Action, record.PrincipalType, record.Result], [action, 'cli', code]);
  }
  // Reads leave nothing.
  for (const args of [['plan', 'list', '--account', id], ['user', 'list', '--account', id], ['key', 'list', '--account', id],
    ['policy', 'list', '--account', id]]) {
    await noRecord(server, id, () => server.admin(...args));
  }
});

test('each mutating Action succeeding on pending orders and uploads: one record naming its object', async () => {
  const server = pending;
  const a = await newAccount(server, { [CODE]: 10 });
  const c = a.client;
  const created = {};
  for (const [action, call] of [
    ['CreateCertificateForPackageRequest', () => forPackage(c, { productCode: CODE, domain: 'a.audit.example.com' })],
    ['CreateCertificateRequest', () => c.createCertificateRequest(new Cas.CreateCertificateRequestRequest({
      productCode: CODE, domain: 'b.audit.example.com', email: 'a@b.c', phone: '1', username: 'u', validateType: 'DNS' }))],
    ['CreateCertificateWithCsrRequest', () => c.createCertificateWithCsrRequest(new Cas.CreateCertificateWithCsrRequestRequest({
      productCode: CODE, csr: makeCsr({ cn: 'c.audit.example.com' }).csr, email: 'a@b.c', phone: '1', username: 'u', validateType: 'DNS' }))],
  ]) {
    const o = await oneRecord(server, a.id, call);
    assert.ok(o.value, o.error && o.error.message);
    created[action] = o.value.body.orderId;
    assertCall(o.record, { action, key: a.key, requestId: requestIdOf(o), objectType: 'OrderId', objectId: o.value.body.orderId });
  }
  const [x, y] = [created.CreateCertificateForPackageRequest, created.CreateCertificateRequest];
  for (const [action, call, orderId] of [
    ['CancelOrderRequest', () => cancelOrder(c, x), x],                  // domain_verify -> payed
    ['DeleteCertificateRequest', () => deleteOrder(c, x), x],             // payed -> deleted, unit back
    ['CancelCertificateForPackageRequest', () => cancelForPackage(c, y), y],  // -> cancelled
  ]) {
    const o = await oneRecord(server, a.id, call);
    assert.ok(o.value, o.error && o.error.message);
    assertCall(o.record, { action, key: a.key, requestId: requestIdOf(o), objectType: 'OrderId', objectId: orderId });
  }
  const pair = selfSigned('up.audit.example.com');
  const up = await oneRecord(server, a.id, () => upload(c, { name: 'audit-upload', cert: pair.cert, key: pair.key }));
  assert.ok(up.value, up.error && up.error.message);
  assertCall(up.record, { action: 'UploadUserCertificate', key: a.key, requestId: requestIdOf(up), objectType: 'CertId', objectId: up.value.body.certId });
  const del = await oneRecord(server, a.id, () => deleteCert(c, up.value.body.certId));
  assert.ok(del.value, del.error && del.error.message);
  assertCall(del.record, { action: 'DeleteUserCertificate', key: a.key, requestId: requestIdOf(del), objectType: 'CertId', objectId: up.value.body.certId });
});

test('each mutating Action refused after authentication: one record with the code and the object named', async () => {
  const server = pending;
  const a = await newAccount(server, { [CODE]: 1 });
  const c = a.client;
  const taken = (await forPackage(c, { productCode: CODE, domain: 'quota.audit.example.com' })).body.orderId;
  const refusals = [
    ['CreateCertificateForPackageRequest', () => forPackage(c, { productCode: CODE, domain: 'more.audit.example.com' }), 'NotRemainCount'],
    ['CreateCertificateRequest', () => c.createCertificateRequest(new Cas.CreateCertificateRequestRequest({ domain: 'x.example.com' })), 'MissingParameter'],
    ['CreateCertificateWithCsrRequest', () => c.createCertificateWithCsrRequest(new Cas.CreateCertificateWithCsrRequestRequest({
      csr: 'not a csr', email: 'a@b.c', phone: '1', username: 'u', validateType: 'DNS' })), null],
    ['CancelOrderRequest', () => cancelOrder(c, 4242), 'NotFoundOrder', '4242'],
    ['CancelCertificateForPackageRequest', () => cancelForPackage(c, 4242), 'NotFoundOrder', '4242'],
    ['DeleteCertificateRequest', () => deleteOrder(c, taken), 'OrderStateError', String(taken)],
    ['RenewCertificateOrderForPackageRequest', () => renew(c, taken), 'OrderStateError', String(taken)],
    ['UploadUserCertificate', () => upload(c, { name: 'bad', cert: 'x', key: 'y' }), null],
    ['DeleteUserCertificate', () => deleteCert(c, 4242), 'NotFound', '4242'],
  ];
  for (const [action, call, code, objectId] of refusals) {
    const o = await oneRecord(server, a.id, call);
    assert.ok(o.error, `${action} should have been refused`);
    assertCall(o.record, { action, key: a.key, result: o.error.code, requestId: requestIdOf(o) });
    if (code) assert.equal(o.record.Result, code, action);
    if (objectId) assert.deepEqual([o.record.ObjectType, o.record.ObjectId], [action.includes('UserCertificate') ? 'CertId' : 'OrderId', objectId]);
  }
  // A RAM user without a policy: every mutating Action is denied, and each denial recorded
  // with the user as principal.
  assert.equal((await server.admin('user', 'create', '--account', String(a.id), '--name', 'nobody')).code, 0);
  const userKey = (await server.admin('key', 'create', '--account', String(a.id), '--user', 'nobody')).json;
  const u = casClient(server, userKey);
  for (const [action, call] of [
    ['CreateCertificateForPackageRequest', () => forPackage(u, { productCode: CODE, domain: 'ram.audit.example.com' })],
    ['CancelOrderRequest', () => cancelOrder(u, taken)],
    ['CancelCertificateForPackageRequest', () => cancelForPackage(u, taken)],
    ['DeleteCertificateRequest', () => deleteOrder(u, taken)],
    ['RenewCertificateOrderForPackageRequest', () => renew(u, taken)],
    ['UploadUserCertificate', () => upload(u, { name: 'ram', cert: 'x', key: 'y' })],
    ['DeleteUserCertificate', () => deleteCert(u, 1)],
  ]) {
    const o = await oneRecord(server, a.id, call);
    assert.ok(o.error, `${action} should have been denied`);
    assertCall(o.record, { action, key: userKey, result: 'Forbidden.RAM', type: 'ram_user', principal: 'nobody', requestId: requestIdOf(o) });
  }
});

test('reads and unauthenticated requests leave no record', async () => {
  const server = pending;
  const a = await newAccount(server, { [CODE]: 2 });
  const c = a.client;
  const orderId = (await forPackage(c, { productCode: CODE, domain: 'read.audit.example.com' })).body.orderId;
  await noRecord(server, a.id, () => c.describePackageState(new Cas.DescribePackageStateRequest({ productCode: CODE })));
  await noRecord(server, a.id, () => c.describeCertificateState(new Cas.DescribeCertificateStateRequest({ orderId })));
  await noRecord(server, a.id, () => c.listUserCertificateOrder(new Cas.ListUserCertificateOrderRequest({})));
  await noRecord(server, a.id, () => c.getUserCertificateDetail(new Cas.GetUserCertificateDetailRequest({ certId: 1 })));
  await noRecord(server, a.id, () => send(server, signV3(server, { action: 'ListCertificates', key: a.key })));
  // A read refused (not found) is still a read.
  await noRecord(server, a.id, () => c.describeCertificateState(new Cas.DescribeCertificateStateRequest({ orderId: 4242 })));
  // Forged: the right AccessKeyId, the wrong secret — for a mutating Action and a read.
  const forged = { AccessKeyId: a.key.AccessKeyId, AccessKeySecret: 'x'.repeat(30) };
  for (const action of ['CreateCertificateForPackageRequest', 'CancelOrderRequest', 'DescribePackageState']) {
    await noRecord(server, a.id, async () => {
      const r = await send(server, signV3(server, { action, key: forged, query: { OrderId: String(orderId), ProductCode: CODE, Domain: 'f.example.com' } }));
      assert.equal(r.json.Code, 'SignatureDoesNotMatch');
    });
  }
  const u = casClient(server, forged);
  await noRecord(server, a.id, () => assert.rejects(cancelOrder(u, orderId), (e) => e.code === 'SignatureDoesNotMatch'));
  assert.equal((await c.describeCertificateState(new Cas.DescribeCertificateStateRequest({ orderId }))).body.type, 'domain_verify');
});

test('issuance, revocation, renewal and deleting an issued certificate: the worker and each call traced', async () => {
  const server = issuing;
  const a = await newAccount(server, { [CODE]: 5 });
  const c = a.client;
  const first = (await oneRecord(server, a.id, () => forPackage(c, { productCode: CODE, domain: 'issued.audit.example.com' }))).value.body.orderId;
  await waitForType(c, first, 'certificate');
  const issuance = records(server, a.id, { worker: true }).filter((r) => r.PrincipalType === 'worker');
  assert.deepEqual(issuance.map((r) => [r.Action, r.Principal, r.ObjectType, r.ObjectId, r.Result]),
    [['worker:issue', 'worker', 'OrderId', String(first), 'OK']]);
  setClock(350);
  try {
    const o = await oneRecord(server, a.id, () => renew(c, first));
    assert.ok(o.value, o.error && o.error.message);
    assertCall(o.record, { action: 'RenewCertificateOrderForPackageRequest', key: a.key, requestId: requestIdOf(o),
      objectType: 'OrderId', objectId: o.value.body.orderId });
  } finally { setClock(0); }
  const revoked = await oneRecord(server, a.id, () => cancelForPackage(c, first));
  assert.ok(revoked.value, revoked.error && revoked.error.message);
  assertCall(revoked.record, { action: 'CancelCertificateForPackageRequest', key: a.key, objectType: 'OrderId', objectId: first });
  const del = await oneRecord(server, a.id, () => deleteCert(c, first));  // the issued entry's CertId is its OrderId
  assert.ok(del.value, del.error && del.error.message);
  assertCall(del.record, { action: 'DeleteUserCertificate', key: a.key, objectType: 'CertId', objectId: first });
});

test('certplan audit: time range, CSV, refusals of its own arguments', async () => {
  const server = pending;
  const a = await newAccount(server, { [CODE]: 2 });
  const all = records(server, a.id);
  assert.equal(all.length, 2);  // account create, plan grant
  const r = auditCli(server, '--account', String(a.id), '--since', '2000-01-01T00:00:00Z', '--format', 'csv');
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines[0], 'Id,Time,RequestId,AccountId,PrincipalType,Principal,AccessKeyId,SourceIp,Action,ObjectType,ObjectId,Result');
  assert.equal(lines.length, 3);
  assert.equal(lines[1].split(',')[8], 'admin account create');
  const t = Date.parse(all[0].Time) / 1000;
  const future = auditCli(server, '--account', String(a.id), '--since', String(t + 3600));
  assert.equal(future.status, 0);
  assert.equal(future.stdout, '');
  const bounded = auditCli(server, '--account', String(a.id), '--since', String(t - 10), '--until', String(t - 1));
  assert.equal(bounded.stdout, '');
  for (const args of [['--since', 'yesterday'], ['--since', '0', '--until', 'x'], ['--since', '0', '--format', 'xml'],
    ['--since', '10', '--until', '5']]) {
    const bad = auditCli(server, '--account', String(a.id), ...args);
    assert.equal(bad.status, 1, args.join(' '));
    assert.equal(JSON.parse(bad.stderr).Code, 'InvalidParameter', args.join(' '));
  }
  const missing = auditCli(server, '--since', '0');
  assert.equal(missing.status, 2);  // --account is required
});
