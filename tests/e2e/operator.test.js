'use strict';
// The operator API (issue #15 item 1): a billing script on [server] admin_listen creates an
// account and an AccessKey, grants a plan with an idempotency key (twice, granted once), and a
// client spends it through the official SDK. Every refusal answers the CAS error envelope with
// its code and writes nothing.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { startServer, sql, auditRecords, BIN } = require('./lib/server');
const { Cas, casClient } = require('./lib/clients');
const { counters, eventually } = require('./lib/orders');

const PRODUCT = 'geotrust-dv-1-starter';
let server;
let adminPort;
let token;

// One operator API call; resolves {status, headers, json, body}.
function op(method, urlPath, { body, bearer = token, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const h = { ...headers };
    if (bearer !== null) h.authorization = `Bearer ${bearer}`;
    let payload = '';
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      h['content-type'] = 'application/json';
    }
    const req = http.request({ host: '127.0.0.1', port: adminPort, method, path: urlPath, headers: h }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { data += c; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(data); } catch (_) { /* left null */ }
        resolve({ status: res.statusCode, headers: res.headers, json, body: data });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

// The CAS error envelope with `code` at `status`.
function assertRefusal(r, status, code, what) {
  assert.equal(r.status, status, `${what}: ${r.body}`);
  assert.equal(r.json.Code, code, `${what}: ${r.body}`);
  assert.ok(r.json.Message, what);
  assert.match(r.json.RequestId, /^[0-9A-F-]{36}$/, what);
  assert.equal(r.headers['x-acs-request-id'], r.json.RequestId, what);
  assert.ok('HostId' in r.json && 'Recommend' in r.json, what);
}

const planRows = (accountId) => Number(sql(server.dataDir, `SELECT COUNT(*) FROM plans WHERE account_id = ${accountId}`).trim());

before(async () => {
  server = await startServer({ config: '[server]\nadmin_listen = "127.0.0.1:0"\n' });
  // Written before the CAS API's "listening on" line, which startServer waited for.
  const m = /operator API listening at 127\.0\.0\.1:(\d+)/.exec(server.logs());
  assert.ok(m, server.logs());
  adminPort = Number(m[1]);
  const created = await server.admin('operator', 'token', 'create', '--name', 'billing');
  assert.equal(created.code, 0, created.stderr);
  token = created.json.Token;
  assert.match(token, /^cpo_[a-z0-9]{16}_[A-Za-z0-9]{43}$/);
  assert.equal(created.json.Status, 'Active');
});
after(async () => { await server.stop(); });

test('billing flow: account, AccessKey and an idempotent grant through the API; the SDK spends it', async () => {
  const account = await op('POST', '/v1/accounts', { body: { Name: `billing-${process.pid}` } });
  assert.equal(account.status, 200, account.body);
  const id = account.json.AccountId;
  assert.ok(Number.isSafeInteger(id));
  const key = await op('POST', `/v1/accounts/${id}/keys`, { body: {} });
  assert.equal(key.status, 200, key.body);
  assert.equal(key.json.AccountId, id);

  const grant = { ProductCode: PRODUCT, Count: 3 };
  const first = await op('POST', `/v1/accounts/${id}/plans`, { body: grant, headers: { 'idempotency-key': `invoice-${id}` } });
  assert.equal(first.status, 200, first.body);
  assert.equal(first.headers['idempotent-replayed'], 'false');
  assert.equal(first.json.Count, 3);
  // The billing system retries (it never saw the answer): the same plan, nothing granted twice.
  const retry = await op('POST', `/v1/accounts/${id}/plans`, { body: grant, headers: { 'idempotency-key': `invoice-${id}` } });
  assert.equal(retry.status, 200, retry.body);
  assert.equal(retry.headers['idempotent-replayed'], 'true');
  assert.equal(retry.json.PlanId, first.json.PlanId);
  // The CLI calls the same service: the key is the same key there.
  const cli = await server.admin('plan', 'grant', '--account', String(id), '--product', PRODUCT, '--count', '3',
    '--idempotency-key', `invoice-${id}`);
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal(cli.json.PlanId, first.json.PlanId);
  const cliClash = await server.admin('plan', 'grant', '--account', String(id), '--product', PRODUCT, '--count', '9',
    '--idempotency-key', `invoice-${id}`);
  assert.equal(cliClash.code, 1);
  assert.match(cliClash.stderr, /"Code":"IdempotentParameterMismatch"/);
  const plans = await op('GET', `/v1/accounts/${id}/plans`);
  assert.equal(plans.json.Plans.length, 1);
  assert.equal(planRows(id), 1);

  const client = casClient(server, key.json);
  assert.deepEqual(await counters(client, PRODUCT), { total: 3, used: 0, issued: 0 });
  const order = await client.createCertificateForPackageRequest(new Cas.CreateCertificateForPackageRequestRequest({
    productCode: PRODUCT, domain: 'billing.example.com', validateType: 'DNS' }));
  assert.ok(order.body.orderId);
  // Validation mode auto (serve --dev): the order is issued shortly.
  await eventually(async () => assert.deepEqual(await counters(client, PRODUCT), { total: 3, used: 1, issued: 1 }), 20000);

  // The same key with another request: refused, nothing granted.
  const clash = await op('POST', `/v1/accounts/${id}/plans`, { body: { ProductCode: PRODUCT, Count: 4 }, headers: { 'idempotency-key': `invoice-${id}` } });
  assertRefusal(clash, 409, 'IdempotentParameterMismatch', 'idempotency conflict');
  assert.equal(planRows(id), 1);
  assert.equal((await counters(client, PRODUCT)).total, 3);

  // Who did what (issue #15's audit trail): `certplan audit` on the account, oldest first.
  const trail = auditRecords(server.dataDir, id);
  assert.deepEqual(trail.map((r) => [r.PrincipalType, r.Action, r.Result]), [
    ['operator', 'admin account create', 'OK'],
    ['operator', 'admin key create', 'OK'],
    ['operator', 'admin plan grant', 'OK'],  // the retries granted nothing and left nothing
    ['cli', 'admin plan grant', 'IdempotentParameterMismatch'],
    ['root', 'CreateCertificateForPackageRequest', 'OK'],
    ['worker', 'worker:issue', 'OK'],
    ['operator', 'admin plan grant', 'IdempotentParameterMismatch'],
  ]);
  const tokenId = token.split('_')[1];
  for (const r of trail.filter((x) => x.PrincipalType === 'operator')) {
    assert.equal(r.Principal, tokenId);
    assert.equal(r.SourceIp, '127.0.0.1');
    assert.match(r.RequestId, /^[0-9A-F-]{36}$/);
  }
  assert.equal(trail[2].ObjectType, 'PlanId');
  assert.equal(trail[2].ObjectId, String(first.json.PlanId));
  assert.equal(trail[4].AccessKeyId, key.json.AccessKeyId);
  assert.equal(trail[4].ObjectId, String(order.body.orderId));
  assert.equal(trail[5].ObjectId, String(order.body.orderId));

  const fsck = await op('GET', '/v1/fsck');
  assert.equal(fsck.status, 200, fsck.body);
  assert.equal(fsck.json.Clean, true);

  // The CLI sees the token's use, and never the token.
  const listed = await server.admin('operator', 'token', 'list');
  assert.equal(listed.code, 0, listed.stderr);
  assert.ok(!listed.stdout.includes(token));
  const billing = listed.json.find((t) => t.Name === 'billing');
  assert.equal(billing.Status, 'Active');
  assert.ok(billing.LastUsedAt, listed.stdout);
});

test('refusals: tokens, unknown accounts, bad JSON, wrong types, unknown fields, routes', async () => {
  const account = await op('POST', '/v1/accounts', { body: { Name: `refusals-${process.pid}` } });
  assert.equal(account.status, 200, account.body);
  const id = account.json.AccountId;
  const plansPath = `/v1/accounts/${id}/plans`;
  const good = { ProductCode: PRODUCT, Count: 1 };

  assertRefusal(await op('POST', plansPath, { body: good, bearer: null }), 401, 'InvalidOperatorToken', 'no token');
  assertRefusal(await op('POST', plansPath, { body: good, bearer: 'cpo_nope' }), 401, 'InvalidOperatorToken', 'malformed token');
  assertRefusal(await op('POST', plansPath, { body: good, bearer: token.slice(0, -1) + (token.endsWith('a') ? 'b' : 'a') }), 401,
    'InvalidOperatorToken', 'wrong secret');
  assertRefusal(await op('GET', '/v1/fsck', { bearer: null, headers: { authorization: `Basic ${token}` } }), 401,
    'InvalidOperatorToken', 'not a bearer token');

  const second = await server.admin('operator', 'token', 'create', '--name', 'to-revoke');
  assert.equal(second.code, 0, second.stderr);
  assert.equal((await op('GET', '/v1/fsck', { bearer: second.json.Token })).status, 200);
  const revoked = await server.admin('operator', 'token', 'revoke', second.json.TokenId);
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.equal(revoked.json.Status, 'Revoked');
  assertRefusal(await op('POST', plansPath, { body: good, bearer: second.json.Token }), 401, 'InvalidOperatorToken', 'revoked token');
  const unknownRevoke = await server.admin('operator', 'token', 'revoke', 'nosuchtoken');
  assert.equal(unknownRevoke.code, 1);
  assert.match(unknownRevoke.stderr, /"Code":"NotFound"/);

  assertRefusal(await op('POST', '/v1/accounts/4242424242/plans', { body: good, headers: { 'idempotency-key': 'unknown-acct' } }), 404,
    'InvalidAccount.NotFound', 'unknown account');
  assert.equal(planRows(4242424242), 0);
  assert.equal(sql(server.dataDir, "SELECT COUNT(*) FROM plan_grant_keys WHERE idempotency_key = 'unknown-acct'").trim(), '0');
  assertRefusal(await op('GET', '/v1/accounts/4242424242/keys'), 404, 'InvalidAccount.NotFound', 'unknown account (keys)');
  assertRefusal(await op('POST', '/v1/accounts/not-a-number/plans', { body: good }), 400, 'InvalidParameter', 'account id not a number');

  assertRefusal(await op('POST', plansPath, { body: '{"ProductCode": ' }), 400, 'InvalidParameter', 'bad JSON');
  assertRefusal(await op('POST', plansPath, { body: '["not", "an", "object"]' }), 400, 'InvalidParameter', 'JSON not an object');
  for (const [body, field] of [
    [{ ProductCode: PRODUCT, Count: '3' }, 'Count'],
    [{ ProductCode: PRODUCT, Count: 2.5 }, 'Count'],
    [{ ProductCode: 12, Count: 1 }, 'ProductCode'],
    [{ ProductCode: PRODUCT, Count: 1, Expires: 20270101 }, 'Expires'],
    [{ ProductCode: PRODUCT, Count: 1, Expires: 'next year' }, 'Expires'],
    [{ ProductCode: PRODUCT, Count: 0 }, 'Count'],
    [{ ProductCode: 'no-such-product', Count: 1 }, 'ProductCode'],
    [{ ProductCode: PRODUCT, Count: 1, Cuont: 1 }, 'Cuont'],
  ]) {
    const r = await op('POST', plansPath, { body });
    assertRefusal(r, 400, 'InvalidParameter', JSON.stringify(body));
    assert.match(r.json.Message, new RegExp(field), JSON.stringify(body));
  }
  const missing = await op('POST', plansPath, { body: { Count: 1 } });
  assertRefusal(missing, 400, 'MissingParameter', 'missing ProductCode');
  assert.match(missing.json.Message, /ProductCode/);
  assertRefusal(await op('POST', plansPath, { body: good, headers: { 'idempotency-key': 'has space' } }), 400, 'InvalidParameter', 'bad key');
  assert.equal(planRows(id), 0);

  assertRefusal(await op('POST', '/v1/accounts', { body: { Name: 42 } }), 400, 'InvalidParameter', 'account name type');
  assertRefusal(await op('POST', `/v1/accounts/${id}/users`, { body: { User: 'bad name' } }), 400, 'InvalidParameter', 'user name');
  assertRefusal(await op('GET', '/v1/nowhere'), 404, 'InvalidAction.NotFound', 'unknown route');
  assertRefusal(await op('PUT', plansPath, { body: good }), 403, 'UnsupportedHTTPMethod', 'wrong method');
  assert.equal(planRows(id), 0);
});

test('the OpenAPI document is served, without a token, and lists the routes used here', async () => {
  const r = await op('GET', '/openapi.json', { bearer: null });
  assert.equal(r.status, 200);
  assert.match(r.json.openapi, /^3\./);
  for (const p of ['/v1/accounts', '/v1/accounts/{AccountId}/plans', '/v1/accounts/{AccountId}/keys', '/v1/fsck', '/v1/operator-tokens/{TokenId}']) {
    assert.ok(r.json.paths[p], p);
  }
});

test('admin_listen refuses an address that is not loopback unless allowed', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certplan-operator-'));
  const r = spawnSync(BIN, ['serve', '--listen', '127.0.0.1:0', '--data-dir', dir, '--admin-listen', '0.0.0.0:0'],
    { encoding: 'utf8', timeout: 15000 });
  assert.equal(r.status, 2, r.stderr);  // a configuration mistake
  assert.match(r.stderr, /"Code":"InvalidParameter"/);
  assert.match(r.stderr, /admin_listen/);
  assert.match(r.stderr, /loopback/);
  const bad = spawnSync(BIN, ['serve', '--listen', '127.0.0.1:0', '--data-dir', dir, '--admin-listen', 'localhost:8081'],
    { encoding: 'utf8', timeout: 15000 });
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /not an IP address/);
});
