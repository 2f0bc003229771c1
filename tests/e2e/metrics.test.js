'use strict';
// Health probes beside the API and the Prometheus /metrics listener (issue #15, item 3).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer } = require('./lib/server');
const { Cas, casClient, send, signV3 } = require('./lib/clients');
const { eventually } = require('./lib/orders');
const { metricsAddress, get, scrape, sample } = require('./lib/metrics');

const CONFIG = '[server]\nmetrics_listen = "127.0.0.1:0"\n';
let server;
before(async () => { server = await startServer({ config: CONFIG }); });
after(async () => { await server.stop(); });

const api = () => ({ host: server.host, port: server.port });

test('/healthz and /readyz answer on the API listener', async () => {
  const live = await get(api(), '/healthz');
  assert.equal(live.status, 200);
  assert.deepEqual(JSON.parse(live.body), { status: 'ok' });
  assert.equal(live.headers['cache-control'], 'no-store');
  const ready = await get(api(), '/readyz');
  assert.equal(ready.status, 200);
  assert.deepEqual(JSON.parse(ready.body), { status: 'ready' });
  const post = await get(api(), '/readyz', 'POST');
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET');
});

test('/metrics is served on its own listener only', async () => {
  const onApi = await get(api(), '/metrics');
  assert.equal(onApi.status, 404);
  assert.equal(JSON.parse(onApi.body).Code, 'InvalidAction.NotFound');
  const m = metricsAddress(server);
  assert.equal(m.host, '127.0.0.1');
  const r = await get(m, '/metrics');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  assert.match(r.body, /^# HELP certplan_requests_total /m);
  assert.equal((await get(m, '/')).status, 404);
  assert.equal((await get(m, '/metrics', 'POST')).status, 405);
});

test('request counts and latencies move with SDK calls, by Action and Code', async () => {
  const before = await scrape(server);
  const ok = 'certplan_requests_total{action="DescribePackageState",code="OK"}';
  const bad = 'certplan_requests_total{action="DescribePackageState",code="InvalidParameter"}';
  const count = 'certplan_request_duration_seconds_count{action="DescribePackageState"}';
  const client = casClient(server);
  for (let i = 0; i < 3; i++) await client.describePackageState(new Cas.DescribePackageStateRequest({}));
  await assert.rejects(client.describePackageState(new Cas.DescribePackageStateRequest({ productCode: 'no-such-code' })),
    (e) => e.code === 'InvalidParameter');
  // An Action certplan does not serve is counted as "unknown": the label set stays bounded.
  const bogus = await send(server, signV3(server, { action: 'NoSuchAction' }));
  assert.equal(bogus.json.Code, 'InvalidAction.NotFound');
  const after = await scrape(server);
  assert.equal(sample(after, ok) - sample(before, ok), 3);
  assert.equal(sample(after, bad) - (sample(before, bad) || 0), 1);
  assert.equal(sample(after, count) - sample(before, count), 4);
  assert.ok(sample(after, 'certplan_requests_total{action="unknown",code="InvalidAction.NotFound"}') >= 1);
  assert.doesNotMatch(after, /NoSuchAction/);
  assert.ok(sample(after, 'certplan_store_operation_duration_seconds_count{backend="sqlite",path="connection"}') > 0
    || sample(after, 'certplan_store_operation_duration_seconds_count{backend="postgres",path="connection"}') > 0);
});

test('orders, plan units, issuance and expiry are read from the store', async () => {
  const client = casClient(server);
  const product = 'geotrust-dv-1-starter';
  const before = await scrape(server);
  const used = `certplan_plan_units_used{product_code="${product}"}`;
  const granted = `certplan_plan_units_granted{product_code="${product}"}`;
  const issued = 'certplan_certificates_issued_total';
  const order = await client.createCertificateForPackageRequest(new Cas.CreateCertificateForPackageRequestRequest({
    productCode: product, domain: 'metrics.example.com', validateType: 'DNS' }));
  assert.ok(order.body.orderId);
  // --dev validates in auto mode: the worker issues at once (the counter moves when the CA has
  // signed, the order's state once the transition is committed).
  const after = await eventually(async () => {
    const text = await scrape(server);
    assert.equal(sample(text, issued) - sample(before, issued), 1);
    assert.equal(sample(text, 'certplan_orders{state="certificate"}') - (sample(before, 'certplan_orders{state="certificate"}') || 0), 1);
    return text;
  }, 10000);
  assert.equal(sample(after, granted), 20);
  assert.equal(sample(after, used) - (sample(before, used) || 0), 1);
  assert.equal(sample(after, 'certplan_orders{state="domain_verify"}') !== undefined, true);
  const expiry = sample(after, 'certplan_certificate_soonest_expiry_timestamp_seconds{source="issued"}');
  assert.ok(expiry > Date.now() / 1000 && expiry < Date.now() / 1000 + 400 * 86400, String(expiry));
  assert.ok(sample(after, 'process_resident_memory_bytes') > 0);
  assert.ok(Math.abs(sample(after, 'process_start_time_seconds') - Date.now() / 1000) < 3600);
  assert.ok(sample(after, 'certplan_store_up{backend="sqlite"}') === 1 || sample(after, 'certplan_store_up{backend="postgres"}') === 1);
});

test('metrics_listen = "" starts no metrics listener', async () => {
  const quiet = await startServer({ config: '[server]\nmetrics_listen = ""\n' });
  try {
    assert.doesNotMatch(quiet.logs(), /metrics at /);
    assert.equal((await get({ host: quiet.host, port: quiet.port }, '/healthz')).status, 200);
  } finally {
    await quiet.stop();
  }
});

test('a configured metrics address that is taken stops serve, naming the key', async () => {
  const { host, port } = metricsAddress(server);
  await assert.rejects(startServer({ config: `[server]\nmetrics_listen = "${host}:${port}"\n` }),
    (e) => /exited with [12]/.test(e.message) && /server\.metrics_listen/.test(e.message));
});

test('a malformed metrics_listen is refused at start', async () => {
  await assert.rejects(startServer({ config: '[server]\nmetrics_listen = "nowhere"\n' }),
    (e) => /exited with/.test(e.message) && /server\.metrics_listen/.test(e.message));
});
