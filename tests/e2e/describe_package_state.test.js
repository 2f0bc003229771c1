'use strict';
// DescribePackageState end to end through the official SDKs (issue #2).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer } = require('./lib/server');
const { Cas, casClient, popClient, send, signV3, signV1 } = require('./lib/clients');
const { eventually } = require('./lib/orders');

const CODES = [
  'digicert-free-1-free', 'symantec-free-1-free', 'symantec-dv-1-starter', 'symantec-ov-1-personal',
  'symantec-ov-w-personal', 'geotrust-dv-1-starter', 'geotrust-dv-w-starter', 'geotrust-ov-1-personal',
  'geotrust-ov-w-personal', 'globalsign-dv-1-personal', 'globalsign-dv-w-advanced', 'globalsign-ov-1-personal',
  'globalsign-ov-w-advanced', 'cfca-ov-1-personal', 'cfca-ev-w-advanced',
];
const UUID = /^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/;

let server;
before(async () => { server = await startServer(); });
after(async () => { await server.stop(); });

test('V3 SDK without ProductCode answers the default code', async () => {
  const r = await casClient(server).describePackageState(new Cas.DescribePackageStateRequest({}));
  assert.equal(r.statusCode, 200);
  assert.deepEqual(
    { p: r.body.productCode, t: r.body.totalCount, u: r.body.usedCount, i: r.body.issuedCount },
    { p: 'digicert-free-1-free', t: 20, u: 0, i: 0 });
  assert.match(r.body.requestId, UUID);
  assert.equal(r.headers['x-acs-request-id'], r.body.requestId);
});

test('V3 SDK answers every one of the 15 ProductCodes', async () => {
  const client = casClient(server);
  for (const code of CODES) {
    const r = await client.describePackageState(new Cas.DescribePackageStateRequest({ productCode: code }));
    assert.equal(r.body.productCode, code);
    assert.equal(r.body.totalCount, 20, code);
    assert.equal(r.body.usedCount, 0, code);
    assert.equal(r.body.issuedCount, 0, code);
  }
});

test('counts are JSON integers and strings are strings on the wire', async () => {
  const r = await send(server, signV3(server, { query: { ProductCode: 'geotrust-dv-1-starter' } }));
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/json;charset=utf-8');
  assert.ok(Number.isInteger(r.json.TotalCount) && Number.isInteger(r.json.UsedCount) && Number.isInteger(r.json.IssuedCount));
  assert.equal(typeof r.json.ProductCode, 'string');
  assert.equal(typeof r.json.RequestId, 'string');
  assert.equal(r.json.Code, undefined, 'a success body never has a Code');
});

test('V1 through pop-core, GET and POST', async () => {
  const client = popClient(server);
  for (const method of ['GET', 'POST']) {
    const r = await client.request('DescribePackageState', { ProductCode: 'cfca-ov-1-personal' }, { method });
    assert.equal(r.ProductCode, 'cfca-ov-1-personal', method);
    assert.equal(r.TotalCount, 20, method);
    assert.equal(r.UsedCount, 0, method);
    assert.equal(r.IssuedCount, 0, method);
  }
});

test("V1 through cas20200407 with signatureAlgorithm 'v2' (POST, all in the query)", async () => {
  const r = await casClient(server, server.demo, { signatureAlgorithm: 'v2' })
    .describePackageState(new Cas.DescribePackageStateRequest({ productCode: 'symantec-free-1-free' }));
  assert.equal(r.body.productCode, 'symantec-free-1-free');
  assert.equal(r.body.totalCount, 20);
});

test('V3 with ACS3-HMAC-SM3', async () => {
  const r = await casClient(server, server.demo, { signatureAlgorithm: 'ACS3-HMAC-SM3' })
    .describePackageState(new Cas.DescribePackageStateRequest({ productCode: 'globalsign-dv-1-personal' }));
  assert.equal(r.body.productCode, 'globalsign-dv-1-personal');
  assert.equal(r.body.totalCount, 20);
});

test('Format=XML answers XML with the Action root', async () => {
  const r = await send(server, signV1(server, { params: { ProductCode: 'geotrust-dv-w-starter' }, format: 'XML' }));
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'text/xml;charset=utf-8');
  assert.match(r.body, /^<\?xml version="1.0" encoding="UTF-8"\?><DescribePackageStateResponse><RequestId>[0-9A-F-]{36}<\/RequestId>/);
  assert.match(r.body, /<ProductCode>geotrust-dv-w-starter<\/ProductCode><TotalCount>20<\/TotalCount><UsedCount>0<\/UsedCount><IssuedCount>0<\/IssuedCount><\/DescribePackageStateResponse>$/);
  const err = await send(server, signV1(server, { params: { ProductCode: 'nope' }, format: 'xml' }));
  assert.equal(err.status, 400);
  assert.match(err.body, /<Error>.*<Code>InvalidParameter<\/Code>.*<\/Error>$/);
});

test('parameters that need percent-encoding verify on every path', async () => {
  const odd = { ProductCode: 'digicert-free-1-free', 'Tags.1.Key': 'k 1', 'Tags.1.Value': "v*~+/é!'()", Username: '张三', Note: 'a&b=c%d' };
  const v3 = await send(server, signV3(server, { query: odd }));
  assert.equal(v3.status, 200, v3.body);
  for (const method of ['GET', 'POST']) {
    const v1 = await send(server, signV1(server, { params: odd, method }));
    assert.equal(v1.status, 200, v1.body);
    const sdk = await popClient(server).request('DescribePackageState', odd, { method });
    assert.equal(sdk.ProductCode, 'digicert-free-1-free');
  }
  const form = 'ProductCode=digicert-free-1-free&Username=Tom+Zhang';
  const v3form = await send(server, signV3(server, { body: form, contentType: 'application/x-www-form-urlencoded' }));
  assert.equal(v3form.status, 200, v3form.body);
});

test('unknown ProductCode is InvalidParameter through both SDKs', async () => {
  await assert.rejects(
    casClient(server).describePackageState(new Cas.DescribePackageStateRequest({ productCode: 'digicert-free-2-free' })),
    (e) => e.code === 'InvalidParameter' && e.statusCode === 400 && /ProductCode/.test(e.message));
  await assert.rejects(popClient(server).request('DescribePackageState', { ProductCode: 'Digicert-Free-1-Free' }),
    (e) => e.code === 'InvalidParameter');
});

test('each account sees only its own plans; admin works beside the running server', async () => {
  const created = await server.admin('account', 'create', '--name', 'team-b');
  assert.equal(created.code, 0, created.stderr);
  const teamB = created.json;
  assert.ok(Number.isSafeInteger(teamB.AccountId));
  const client = casClient(server, teamB);
  const req = new Cas.DescribePackageStateRequest({ productCode: 'geotrust-dv-1-starter' });
  assert.equal((await client.describePackageState(req)).body.totalCount, 0, 'never bought: zeros');
  const grant = await server.admin('plan', 'grant', '--account', String(teamB.AccountId),
    '--product', 'geotrust-dv-1-starter', '--count', '7', '--expires', '2099-01-01T00:00:00Z');
  assert.equal(grant.code, 0, grant.stderr);
  assert.equal(grant.json.Count, 7);
  // The admin CLI is another process: the node sees its grant within the counters cache's
  // bound (the next second, server.counters_cache_milliseconds), never later.
  const since = Date.now();
  await eventually(async () => assert.equal((await client.describePackageState(req)).body.totalCount, 7));
  assert.ok(Date.now() - since < 1500, 'seen within the documented bound');
  assert.equal((await casClient(server).describePackageState(req)).body.totalCount, 20, 'demo account unchanged');
  const plans = await server.admin('plan', 'list', '--account', String(teamB.AccountId));
  assert.equal(plans.json.length, 1);
  assert.equal(plans.json[0].Expires, '2099-01-01T00:00:00Z');
});

test('a second AccessKey works, and disabling it takes effect within the 1 s key cache', async () => {
  const key = await server.admin('key', 'create', '--account', String(server.demo.AccountId));
  assert.equal(key.code, 0, key.stderr);
  const client = casClient(server, key.json);
  assert.equal((await client.describePackageState(new Cas.DescribePackageStateRequest({}))).body.totalCount, 20);
  const listed = await server.admin('key', 'list', '--account', String(server.demo.AccountId));
  assert.ok(listed.json.some((k) => k.AccessKeyId === key.json.AccessKeyId && k.Status === 'Active'));
  assert.ok(!listed.stdout.includes(key.json.AccessKeySecret), 'secrets are never listed');
  const disabled = await server.admin('key', 'disable', '--id', key.json.AccessKeyId);
  assert.equal(disabled.code, 0);
  const since = Date.now();
  await eventually(() => assert.rejects(client.describePackageState(new Cas.DescribePackageStateRequest({})),
    (e) => e.code === 'InvalidAccessKeyId.Inactive' && e.statusCode === 400));
  assert.ok(Date.now() - since < 1500, 'refused within the documented bound');
});
