'use strict';
// Per account, per Action rate limits (issue #15, item 5): Throttling.User with the real status,
// message and x-acs-retry-after, driven through the official SDKs, and the SDKs' retry logic
// against it.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, BIN } = require('./lib/server');
const { Cas, casClient, popClient, send, signV3 } = require('./lib/clients');
const { eventually } = require('./lib/orders');
const { RetryOptions, RuntimeOptions: DaraRuntimeOptions } = require('@darabonba/typescript');

const MESSAGE = 'Request was denied due to user flow control.';
const describe = (client, extra = {}) =>
  client.describePackageState(new Cas.DescribePackageStateRequest({ ...extra }));
const isThrottled = (e) => e.code === 'Throttling.User' && e.statusCode === 400 && e.name === 'ThrottlingError';
// Access-log lines of throttled calls of `action` ("code" is the wire Code).
const throttledIn = (server, action) => server.logs().split('\n')
  .filter((l) => l.includes('"code":"Throttling.User"') && l.includes(`"action":"${action}"`)).length;

// A slow refill (one token every 5 s) with a burst of 2: nothing refills during a test.
const SLOW = `
[rate_limits]
enabled = true
preset = "none"
[rate_limits.actions]
DescribePackageState = { qps = 0.2, burst = 2 }
ListUserCertificateOrder = 100
`;
let slow;
before(async () => { slow = await startServer({ config: SLOW }); });
after(async () => { await slow.stop(); });

test('the burst passes, then Throttling.User: HTTP 400, the spec message, x-acs-retry-after', async () => {
  const acct = await slow.admin('account', 'create', '--name', 'throttled-a');
  assert.equal(acct.code, 0, acct.stderr);
  const client = casClient(slow, acct.json);
  // Forged requests for the account's key spend nothing: the limit applies after the signature.
  for (let i = 0; i < 5; i++) {
    const forged = await send(slow, signV3(slow, { key: { ...acct.json, AccessKeySecret: 'not-the-secret' } }));
    assert.equal(forged.json.Code, 'SignatureDoesNotMatch');
  }
  await describe(client);
  await describe(client);
  const e = await describe(client).then(() => null, (err) => err);
  assert.ok(e && isThrottled(e), e && e.message);
  assert.equal(e.message, `Throttling.User: code: 400, ${MESSAGE} request id: ${e.requestId}`);
  assert.ok(e.retryAfter > 0 && e.retryAfter <= 5000, String(e.retryAfter));
  // The raw answer: the error envelope and the header the SDK read.
  const raw = await send(slow, signV3(slow, { key: acct.json }));
  assert.equal(raw.status, 400);
  assert.equal(raw.json.Code, 'Throttling.User');
  assert.equal(raw.json.Message, MESSAGE);
  assert.match(raw.headers['x-acs-retry-after'], /^\d+$/);
  assert.ok(Number(raw.headers['x-acs-retry-after']) <= 5000);
  // pop-core (V1) sees the same Code.
  await assert.rejects(popClient(slow, acct.json).request('DescribePackageState', {}, { method: 'POST' }),
    (err) => err.code === 'Throttling.User');
});

test('buckets are per account and per Action', async () => {
  const a = await slow.admin('account', 'create', '--name', 'throttled-b');
  const b = await slow.admin('account', 'create', '--name', 'throttled-c');
  const ca = casClient(slow, a.json);
  await describe(ca);
  await describe(ca);
  await assert.rejects(describe(ca), isThrottled);
  // Another Action of the same account, and the same Action of another account, still pass.
  for (let i = 0; i < 5; i++) {
    await ca.listUserCertificateOrder(new Cas.ListUserCertificateOrderRequest({}));
  }
  await describe(casClient(slow, b.json));
});

test('limits are off by default: far beyond the CAS table, nothing is throttled', async () => {
  const open = await startServer();
  try {
    const client = casClient(open);
    await Promise.all(Array.from({ length: 40 }, () => describe(client)));
    assert.equal(throttledIn(open, 'DescribePackageState'), 0);
  } finally {
    await open.stop();
  }
});

test('the cas preset applies the spec table (DescribePackageState: 10 a second)', async () => {
  const cas = await startServer({ config: '[rate_limits]\nenabled = true\n' });
  try {
    const client = casClient(cas);
    const results = await Promise.allSettled(Array.from({ length: 60 }, () => describe(client)));
    const refused = results.filter((r) => r.status === 'rejected');
    assert.ok(refused.length >= 1, 'some of 60 concurrent calls were throttled');
    assert.ok(results.length - refused.length >= 10, 'the burst of 10 passed');
    for (const r of refused) assert.ok(isThrottled(r.reason), r.reason.message);
  } finally {
    await cas.stop();
  }
});

// One token every 2 s, burst 1: a second call at once is throttled with x-acs-retry-after ≈ 2 s.
const RETRY = `
[rate_limits]
enabled = true
preset = "none"
[rate_limits.actions]
DescribePackageState = { qps = 0.5, burst = 1 }
`;

test('V3 SDK: retryOptions on ThrottlingError waits x-acs-retry-after and then succeeds', async () => {
  const server = await startServer({ config: RETRY });
  try {
    const retryOptions = new RetryOptions({
      retryable: true,
      retryCondition: [{ maxAttempts: 3, exception: ['ThrottlingError'], errorCode: ['Throttling.User'] }],
    });
    const client = casClient(server, server.demo, { retryOptions });
    await describe(client);
    const started = Date.now();
    const r = await describe(client);  // throttled once, retried after the advertised wait
    assert.equal(r.statusCode, 200);
    assert.equal(r.body.totalCount, 20);
    await eventually(() => assert.ok(throttledIn(server, 'DescribePackageState') >= 1));
    assert.ok(Date.now() - started >= 1000, 'the SDK waited for the bucket to refill');
  } finally {
    await server.stop();
  }
});

test('V3 SDK: RuntimeOptions autoretry alone does not retry a throttled call', async () => {
  const server = await startServer({ config: RETRY });
  try {
    const client = casClient(server);
    await describe(client);
    const runtime = new DaraRuntimeOptions({ autoretry: true, maxAttempts: 3 });
    await assert.rejects(
      client.describePackageStateWithOptions(new Cas.DescribePackageStateRequest({}), runtime), isThrottled);
    await eventually(() => assert.equal(throttledIn(server, 'DescribePackageState'), 1));
  } finally {
    await server.stop();
  }
});

test('V1-signing SDK (cas20200407 1.3.0): autoretry retries transport errors only', async () => {
  const server = await startServer({ config: RETRY });
  try {
    const CasV1 = require('cas20200407-v1');
    const from = { paths: [require.resolve('cas20200407-v1')] };
    const { Config } = require(require.resolve('@alicloud/openapi-client', from));
    const { RuntimeOptions } = require(require.resolve('@alicloud/tea-util', from));
    const client = new CasV1.default(new Config({
      accessKeyId: server.demo.AccessKeyId, accessKeySecret: server.demo.AccessKeySecret,
      endpoint: server.endpoint, protocol: 'HTTP',
    }));
    const runtime = new RuntimeOptions({ autoretry: true, maxAttempts: 3, backoffPolicy: 'fixed', backoffPeriod: 10 });
    await client.describePackageStateWithOptions(new CasV1.DescribePackageStateRequest({}), runtime);
    await assert.rejects(client.describePackageStateWithOptions(new CasV1.DescribePackageStateRequest({}), runtime),
      (e) => e.code === 'Throttling.User' && e.data.statusCode === 400);
    await eventually(() => assert.equal(throttledIn(server, 'DescribePackageState'), 1));
  } finally {
    await server.stop();
  }
});

test('bad [rate_limits] settings stop serve, naming the key', () => {
  const cases = [
    ['[rate_limits]\npreset = "aws"\n', 'rate_limits.preset'],
    ['[rate_limits]\nenabled = "yes"\n', 'rate_limits.enabled'],
    ['[rate_limits]\nmax_buckets = 1\n', 'rate_limits.max_buckets'],
    ['[rate_limits.actions]\nNoSuchAction = 5\n', 'rate_limits.actions.NoSuchAction'],
    ['[rate_limits.actions]\nDescribePackageState = -1\n', 'rate_limits.actions.DescribePackageState'],
    ['[rate_limits.actions]\nDescribePackageState = "fast"\n', 'rate_limits.actions.DescribePackageState'],
    ['[rate_limits.actions]\nDescribePackageState = { qps = 1, burst = 0 }\n', 'rate_limits.actions.DescribePackageState'],
    ['[rate_limits.actions]\nDescribePackageState = { qps = 1, burts = 3 }\n', 'rate_limits.actions.DescribePackageState'],
    ['[metrics]\nper_account = 1\n', 'metrics.per_account'],
  ];
  for (const [config, key] of cases) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certplan-rl-config-'));
    const file = path.join(dir, 'config.toml');
    fs.writeFileSync(file, config);
    const r = spawnSync(BIN, ['serve', '--listen', '127.0.0.1:0', '--data-dir', dir, '--config', file],
      { encoding: 'utf8', timeout: 15000 });
    assert.equal(r.status, 2, `${config}: ${r.stderr}`);  // the configuration exit code
    assert.ok(r.stderr.includes(key), `${config}: ${r.stderr}`);
  }
});
