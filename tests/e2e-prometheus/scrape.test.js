'use strict';
// Prometheus scrapes certplan's /metrics listener (issue #15, item 3): a real Prometheus server
// with a temporary configuration and a 1 s scrape interval, queried over its HTTP API until
// the target is up and certplan's series carry what the SDK calls did; promtool lints the
// exposition. Readiness is polled with deadlines, never waited for with fixed sleeps.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer } = require('../e2e/lib/server');
const { Cas, casClient } = require('../e2e/lib/clients');
const { freeLoopbackPort } = require('../e2e/lib/peers');
const { metricsAddress, get, scrape } = require('../e2e/lib/metrics');

let server;
let prometheus;
let promPort;
let promLog = '';
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'certplan-prometheus-'));

// Polls fn until it returns a truthy value; fails with `what` after `ms`.
async function until(what, fn, ms = 60000) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what} within ${ms / 1000} s${last ? `: ${last.message}` : ''}\n${promLog.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function query(expr) {
  const r = await get({ host: '127.0.0.1', port: promPort }, `/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = JSON.parse(r.body);
  assert.equal(body.status, 'success', r.body);
  return body.data.result;
}

before(async () => {
  server = await startServer({ config: '[server]\nmetrics_listen = "127.0.0.1:0"\n' });
  const target = metricsAddress(server);
  promPort = await freeLoopbackPort();
  const config = path.join(workDir, 'prometheus.yml');
  fs.writeFileSync(config, [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    'scrape_configs:',
    '  - job_name: certplan',
    '    static_configs:',
    `      - targets: ['${target.host}:${target.port}']`,
    '',
  ].join('\n'));
  prometheus = spawn('prometheus', [
    `--config.file=${config}`, `--storage.tsdb.path=${path.join(workDir, 'data')}`,
    `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  prometheus.stdout.on('data', (d) => { promLog += d; });
  prometheus.stderr.on('data', (d) => { promLog += d; });
  await until('Prometheus ready', async () => (await get({ host: '127.0.0.1', port: promPort }, '/-/ready')).status === 200);
});

after(async () => {
  if (prometheus && prometheus.exitCode === null) {
    const exited = new Promise((r) => prometheus.once('exit', r));
    prometheus.kill('SIGTERM');
    await exited;
  }
  if (server) await server.stop();
  fs.rmSync(workDir, { recursive: true, force: true });
});

test('promtool accepts the exposition', async () => {
  await casClient(server).describePackageState(new Cas.DescribePackageStateRequest({}));
  const text = await scrape(server);
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, `promtool check metrics:\n${r.stdout}${r.stderr}`);
});

test('Prometheus scrapes the target: up == 1 and the SDK calls are counted', async () => {
  const client = casClient(server);
  for (let i = 0; i < 5; i++) await client.describePackageState(new Cas.DescribePackageStateRequest({}));
  await until('up{job="certplan"} == 1', async () => {
    const r = await query('up{job="certplan"}');
    return r.length === 1 && r[0].value[1] === '1';
  });
  const series = 'certplan_requests_total{job="certplan",action="DescribePackageState",code="OK"}';
  await until(`${series} >= 5`, async () => {
    const r = await query(series);
    return r.length === 1 && Number(r[0].value[1]) >= 5;
  });
  const buckets = await until('latency buckets', async () => {
    const r = await query('certplan_request_duration_seconds_bucket{action="DescribePackageState"}');
    return r.length > 0 ? r : null;
  });
  assert.ok(buckets.some((b) => b.metric.le === '+Inf' && Number(b.value[1]) >= 5));
  const orders = await query('certplan_orders');
  assert.ok(orders.some((o) => o.metric.state === 'certificate'));
});
