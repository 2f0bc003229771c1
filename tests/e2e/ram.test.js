'use strict';
// RAM authorization through the official SDK with RAM users' keys (issue #4).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startServer } = require('./lib/server');
const { Cas, casClient, popClient, send, signV3 } = require('./lib/clients');
const { newAccount, expectCode, eventually } = require('./lib/orders');

let server;
let owner;  // an account with plans; its RAM users act on it
before(async () => {
  server = await startServer();
  owner = await newAccount(server, { 'geotrust-dv-1-starter': 50 });
});
after(async () => { await server.stop(); });

let userSeq = 0;
async function ramUser(...policies) {
  const name = `user${++userSeq}`;
  const id = String(owner.id);
  assert.equal((await server.admin('user', 'create', '--account', id, '--name', name)).code, 0);
  for (const p of policies) {
    const r = await server.admin('policy', 'attach', '--account', id, '--user', name, '--policy', p);
    assert.equal(r.code, 0, r.stderr);
  }
  const key = await server.admin('key', 'create', '--account', id, '--user', name);
  assert.equal(key.code, 0, key.stderr);
  const client = casClient(server, key.json);
  client.__key = key.json;  // for the Actions the SDK lacks (pop-core)
  return { name, key: key.json, client };
}

async function customPolicy(name, document) {
  const file = path.join(server.dataDir, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(document));
  const r = await server.admin('policy', 'create', '--account', String(owner.id), '--name', name, '--document', file);
  assert.equal(r.code, 0, r.stderr);
}

// One call per served Action; each resolves or rejects with the SDK's error.
const calls = {
  DescribePackageState: (c) => c.describePackageState(new Cas.DescribePackageStateRequest({})),
  ListUserCertificateOrder: (c) => c.listUserCertificateOrder(new Cas.ListUserCertificateOrderRequest({})),
  DescribeCertificateState: (c) => c.describeCertificateState(new Cas.DescribeCertificateStateRequest({ orderId: 1 })),
  CreateCertificateForPackageRequest: (c) => c.createCertificateForPackageRequest(new Cas.CreateCertificateForPackageRequestRequest({
    productCode: 'geotrust-dv-1-starter', domain: 'ram.example.com' })),
  CreateCertificateRequest: (c) => c.createCertificateRequest(new Cas.CreateCertificateRequestRequest({
    domain: 'ram.example.com', email: 'a@b.c', phone: '1', username: 'u', validateType: 'DNS', productCode: 'geotrust-dv-1-starter' })),
  CreateCertificateWithCsrRequest: (c) => c.createCertificateWithCsrRequest(new Cas.CreateCertificateWithCsrRequestRequest({
    csr: 'x', email: 'a@b.c', phone: '1', username: 'u', validateType: 'DNS' })),
  CancelOrderRequest: (c) => c.cancelOrderRequest(new Cas.CancelOrderRequestRequest({ orderId: 1 })),
  CancelCertificateForPackageRequest: (c) => c.cancelCertificateForPackageRequest(new Cas.CancelCertificateForPackageRequestRequest({ orderId: 1 })),
  DeleteCertificateRequest: (c) => c.deleteCertificateRequest(new Cas.DeleteCertificateRequestRequest({ orderId: 1 })),
  RenewCertificateOrderForPackageRequest: (c) => c.renewCertificateOrderForPackageRequest(new Cas.RenewCertificateOrderForPackageRequestRequest({ orderId: 1 })),
  UploadUserCertificate: (c) => c.uploadUserCertificate(new Cas.UploadUserCertificateRequest({ name: 'ram', cert: 'x', key: 'y' })),
  GetUserCertificateDetail: (c) => c.getUserCertificateDetail(new Cas.GetUserCertificateDetailRequest({ certId: 1 })),
  DeleteUserCertificate: (c) => c.deleteUserCertificate(new Cas.DeleteUserCertificateRequest({ certId: 1 })),
  // Not in the 3.0.0 SDK: a V3 request signed with the SDK's own helper, same key.
  ListCertificates: async (c) => {
    const r = await send(server, signV3(server, { action: 'ListCertificates', key: c.__key }));
    if (r.status === 200) return r;
    throw Object.assign(new Error(r.json.Message), { code: r.json.Code, statusCode: r.status, data: r.json });
  },
};

// 'allowed' (reached the handler: success or a business error) or the denial.
async function outcome(client, action) {
  try {
    await calls[action](client);
    return 'allowed';
  } catch (e) {
    if (e.code === 'Forbidden.RAM') {
      assert.equal(e.statusCode, 403);
      return { denied: e.accessDeniedDetail || e.data.AccessDeniedDetail };
    }
    return 'allowed';
  }
}

test('a RAM user with no policy is denied every Action, with the detail of what was missing', async () => {
  const u = await ramUser();
  for (const action of Object.keys(calls)) {
    const o = await outcome(u.client, action);
    assert.notEqual(o, 'allowed', action);
    const d = o.denied;
    assert.equal(d.AuthAction, `yundun-cert:${action}`);
    assert.equal(d.AuthPrincipalType, 'SubUser');
    assert.equal(d.AuthPrincipalDisplayName, u.name);
    assert.equal(d.AuthPrincipalOwnerId, String(owner.id));
    assert.equal(d.PolicyType, 'AccountLevelIdentityBasedPolicy');
    assert.equal(d.NoPermissionType, 'ImplicitDeny');
  }
  await assert.rejects(popClient(server, u.key).request('DescribePackageState', {}), (e) => e.code === 'Forbidden.RAM');
});

test('read-only policy: Describe*/List*/Get* allowed, Create*/Cancel*/Delete*/Renew* denied', async () => {
  const u = await ramUser('AliyunYundunCertReadOnlyAccess');
  for (const action of Object.keys(calls)) {
    const readOnly = /^(Describe|List|Get)/.test(action);
    const o = await outcome(u.client, action);
    assert.equal(o === 'allowed', readOnly, action);
  }
  const r = await u.client.describePackageState(new Cas.DescribePackageStateRequest({ productCode: 'geotrust-dv-1-starter' }));
  assert.equal(r.body.totalCount, 50, "the user sees its account's plans");
});

test('full access: every Action allowed', async () => {
  const u = await ramUser('AliyunYundunCertFullAccess');
  for (const action of Object.keys(calls)) assert.equal(await outcome(u.client, action), 'allowed', action);
});

test('explicit Deny on one Action overrides a wildcard Allow', async () => {
  await customPolicy('no-delete', { Version: '1', Statement: [
    { Effect: 'Deny', Action: 'yundun-cert:DeleteCertificateRequest', Resource: '*' }] });
  const u = await ramUser('AliyunYundunCertFullAccess', 'no-delete');
  const o = await outcome(u.client, 'DeleteCertificateRequest');
  assert.equal(o.denied.NoPermissionType, 'ExplicitDeny');
  assert.equal(await outcome(u.client, 'CancelOrderRequest'), 'allowed');
});

test('acs:SourceIp: 127.0.0.1/32 allowed, 127.0.0.2 denied', async () => {
  await customPolicy('loopback-one', { Version: '1', Statement: [{ Effect: 'Allow', Action: 'yundun-cert:*', Resource: '*',
    Condition: { IpAddress: { 'acs:SourceIp': '127.0.0.1/32' } } }] });
  const u = await ramUser('loopback-one');
  const from1 = await send(server, { ...signV3(server, { key: u.key }), localAddress: '127.0.0.1' });
  assert.equal(from1.status, 200, from1.body);
  const from2 = await send(server, { ...signV3(server, { key: u.key }), localAddress: '127.0.0.2' });
  assert.equal(from2.status, 403);
  assert.equal(from2.json.Code, 'Forbidden.RAM');
  assert.equal(from2.json.AccessDeniedDetail.NoPermissionType, 'ImplicitDeny');
});

test('acs:CurrentTime windows', async () => {
  const year = new Date().getUTCFullYear();
  await customPolicy('this-year', { Version: '1', Statement: [{ Effect: 'Allow', Action: 'yundun-cert:Describe*', Resource: '*',
    Condition: { DateGreaterThan: { 'acs:CurrentTime': `${year - 1}-12-31T00:00:00Z` }, DateLessThan: { 'acs:CurrentTime': `${year + 1}-01-02T00:00:00Z` } } }] });
  await customPolicy('past', { Version: '1', Statement: [{ Effect: 'Allow', Action: 'yundun-cert:*', Resource: '*',
    Condition: { DateLessThan: { 'acs:CurrentTime': '2020-01-01T00:00:00Z' } } }] });
  const now = await ramUser('this-year');
  assert.equal(await outcome(now.client, 'DescribePackageState'), 'allowed');
  const old = await ramUser('past');
  assert.notEqual(await outcome(old.client, 'DescribePackageState'), 'allowed');
});

test('detaching a policy takes effect on the next request', async () => {
  const u = await ramUser('AliyunYundunCertReadOnlyAccess');
  assert.equal(await outcome(u.client, 'DescribePackageState'), 'allowed');
  const r = await server.admin('policy', 'detach', '--account', String(owner.id), '--user', u.name, '--policy', 'AliyunYundunCertReadOnlyAccess');
  assert.equal(r.code, 0, r.stderr);
  assert.notEqual(await outcome(u.client, 'DescribePackageState'), 'allowed');
});

test('deleting a user removes its keys', async () => {
  const u = await ramUser('AliyunYundunCertFullAccess');
  assert.equal((await server.admin('user', 'delete', '--account', String(owner.id), '--name', u.name)).code, 0);
  await eventually(() => expectCode(calls.DescribePackageState(u.client), 'InvalidAccessKeyId.NotFound', 404));
});

test('malformed policies are refused at the admin command with the reason', async () => {
  const id = String(owner.id);
  const cases = [
    ['{not json', /not a JSON object/],
    [JSON.stringify({ Version: '1', Statement: [{ Effect: 'Permit', Action: '*', Resource: '*' }] }), /Effect/],
    [JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', Condition: { IpAddress: { 'acs:SourceIp': '300.1.1.1' } } }] }), /300\.1\.1\.1/],
  ];
  for (const [doc, why] of cases) {
    const file = path.join(server.dataDir, 'bad.json');
    fs.writeFileSync(file, doc);
    const r = await server.admin('policy', 'create', '--account', id, '--name', 'bad', '--document', file);
    assert.equal(r.code, 1);
    assert.match(r.stderr, why);
    assert.match(r.stderr, /"Code":"InvalidParameter"/);
  }
  for (const [args, why] of [
    [['policy', 'attach', '--account', id, '--user', 'nobody', '--policy', 'AliyunYundunCertFullAccess'], /no such user/],
    [['policy', 'attach', '--account', id, '--user', 'user1', '--policy', 'missing-policy'], /No such policy/],
    [['policy', 'detach', '--account', id, '--user', 'user1', '--policy', 'AliyunYundunCertFullAccess'], /not attached/],
    [['key', 'create', '--account', id, '--user', 'nobody'], /no such user/],
    [['user', 'create', '--account', id, '--name', 'user1'], /already exists/],
  ]) {
    const r = await server.admin(...args);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stderr, why, args.join(' '));
  }
});

test("account A's root key cannot reach account B's plans or orders", async () => {
  const a = await newAccount(server, { 'geotrust-dv-1-starter': 3 });
  const b = await newAccount(server, { 'geotrust-dv-1-starter': 7 });
  const orderB = (await b.client.createCertificateForPackageRequest(new Cas.CreateCertificateForPackageRequestRequest({
    productCode: 'geotrust-dv-1-starter', domain: 'b.example.com' }))).body.orderId;
  assert.equal((await a.client.describePackageState(new Cas.DescribePackageStateRequest({ productCode: 'geotrust-dv-1-starter' }))).body.totalCount, 3);
  await expectCode(a.client.describeCertificateState(new Cas.DescribeCertificateStateRequest({ orderId: orderB })), 'NotFoundOrder', 404);
  await expectCode(a.client.cancelCertificateForPackageRequest(new Cas.CancelCertificateForPackageRequestRequest({ orderId: orderB })), 'NotFoundOrder', 404);
  assert.equal((await a.client.listUserCertificateOrder(new Cas.ListUserCertificateOrderRequest({}))).body.totalCount, 0);
  assert.equal((await b.client.describePackageState(new Cas.DescribePackageStateRequest({ productCode: 'geotrust-dv-1-starter' }))).body.usedCount, 1);
});
