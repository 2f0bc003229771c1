'use strict';
// The CLI contract: serve --dev, SIGTERM, admin errors, files at rest (issue #2).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, admin, init, fsck, sql, storeUrlOf } = require('./lib/server');
const { Cas, casClient } = require('./lib/clients');

test('--dev is idempotent across restarts and SIGTERM exits 0', async () => {
  const first = await startServer();
  const r = await casClient(first).describePackageState(new Cas.DescribePackageStateRequest({}));
  assert.equal(r.body.totalCount, 20);
  assert.deepEqual(await first.stop('SIGTERM'), { code: 0, signal: null });
  assert.match(first.logs(), /"msg":"draining"/);
  const second = await startServer({ dataDir: first.dataDir });
  assert.equal(second.demo.AccessKeyId, first.demo.AccessKeyId);
  assert.equal(second.demo.AccountId, first.demo.AccountId);
  const again = await casClient(second).describePackageState(new Cas.DescribePackageStateRequest({}));
  assert.equal(again.body.totalCount, 20, 'plans are not granted twice');
  assert.deepEqual(await second.stop('SIGINT'), { code: 0, signal: null });
});

test('secrets at rest: key and database are 0600, the secret is not stored in clear', async () => {
  const s = await startServer();
  await s.stop();
  assert.equal(fs.statSync(path.join(s.dataDir, 'master.key')).mode & 0o777, 0o600);
  assert.equal(fs.statSync(path.join(s.dataDir, 'ca', 'issuing.key')).mode & 0o777, 0o600);
  assert.equal(fs.statSync(s.dataDir).mode & 0o777, 0o700);
  const stored = sql(s.dataDir, 'SELECT sealed_secret FROM access_keys');
  assert.ok(stored.length > 0);
  assert.ok(!stored.includes(s.demo.AccessKeySecret));
  if (!storeUrlOf(s.dataDir)) {
    assert.equal(fs.statSync(path.join(s.dataDir, 'certplan.db')).mode & 0o777, 0o600);
    for (const f of fs.readdirSync(s.dataDir).filter((n) => n.startsWith('certplan.db'))) {
      const bytes = fs.readFileSync(path.join(s.dataDir, f));
      assert.ok(!bytes.includes(Buffer.from(s.demo.AccessKeySecret)), `secret found in ${f}`);
    }
  }
});

test('a wrong master key cannot open the secrets', async () => {
  const s = await startServer({ env: { CERTPLAN_MASTER_KEY: 'ab'.repeat(32) } });
  await s.stop();
  const restarted = await startServer({ dataDir: s.dataDir, env: { CERTPLAN_MASTER_KEY: 'cd'.repeat(32) } })
    .then(async (x) => { await x.stop(); return 'started'; }, (e) => e.message);
  assert.match(restarted, /exited with 1/);
});

test('admin: bad arguments get a clear message and a non-zero exit', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certplan-admin-'));
  assert.equal(init(dir).status, 0);
  const created = await admin(dir, 'account', 'create', '--name', 'ops');
  assert.equal(created.code, 0, created.stderr);
  const id = String(created.json.AccountId);
  const cases = [
    [['plan', 'grant', '--account', id, '--product', 'nope', '--count', '1'], /ProductCode/],
    [['plan', 'grant', '--account', id, '--product', 'digicert-free-1-free', '--count', '0'], /Count/],
    [['plan', 'grant', '--account', id, '--product', 'digicert-free-1-free', '--count', '1', '--expires', 'tomorrow'], /RFC 3339/],
    [['plan', 'grant', '--account', id, '--product', 'digicert-free-1-free', '--count', '1', '--expires', '2001-01-01T00:00:00Z'], /future/],
    [['plan', 'grant', '--account', '42', '--product', 'digicert-free-1-free', '--count', '1'], /no such account/],
    [['account', 'create', '--name', 'ops'], /already exists/],
    [['account', 'create', '--name', 'bad name!'], /Name/],
    [['key', 'disable', '--id', 'LTAInope'], /no such AccessKey/],
    [['key', 'create', '--account', '42'], /no such account/],
  ];
  for (const [args, why] of cases) {
    const r = await admin(dir, ...args);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.stderr, why, args.join(' '));
    assert.match(r.stderr, /"Code":"InvalidParameter"/);
  }
  const usage = await admin(dir, 'plan', 'grant', '--account', id);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--product/);
});

test('fsck: clean data exits 0, drifted counters exit 1 and are named', async () => {
  const s = await startServer();
  await s.stop();
  const clean = fsck(s.dataDir);
  assert.equal(clean.status, 0, clean.stderr);
  assert.equal(clean.report.Clean, true);
  sql(s.dataDir, "UPDATE package_usage SET used = used + 1 WHERE product_code = 'geotrust-dv-1-starter'");
  const drift = fsck(s.dataDir);
  assert.equal(drift.status, 1);
  assert.equal(drift.report.Clean, false);
  assert.deepEqual(drift.report.Drift.map((d) => [d.ProductCode, d.UsedCount, d.UsedCountRecounted]), [['geotrust-dv-1-starter', 1, 0]]);
});

test('fsck: list counters (orders per account and state) that disagree with the orders are named and exit 1', async () => {
  const s = await startServer({ config: '[validation]\nmode = "auto"\nworker = false\n' });
  const { newAccount } = require('./lib/orders');
  const a = await newAccount(s, { 'geotrust-dv-1-starter': 2 });
  await a.client.createCertificateForPackageRequest(new Cas.CreateCertificateForPackageRequestRequest({
    productCode: 'geotrust-dv-1-starter', domain: 'fsck-counts.example.com' }));
  await s.stop();
  const clean = fsck(s.dataDir);
  assert.equal(clean.status, 0, clean.stdout + clean.stderr);
  assert.deepEqual(clean.report.ListCountDrift, []);
  const state = sql(s.dataDir, `SELECT status FROM orders WHERE account_id = ${a.id}`).trim();
  sql(s.dataDir, `UPDATE order_counts SET n = n + 4 WHERE account_id = ${a.id}`);
  const drift = fsck(s.dataDir);
  assert.equal(drift.status, 1, drift.stdout + drift.stderr);
  assert.equal(drift.report.Clean, false);
  assert.deepEqual(drift.report.ListCountDrift, [{ AccountId: a.id, State: state, Stored: 5, Actual: 1 }]);
  assert.deepEqual(drift.report.Drift, [], 'the quota counters are right');
});

test('validation.worker = false: an API-only node takes orders but never validates them', async () => {
  const s = await startServer({ config: '[validation]\nmode = "auto"\nworker = false\n' });
  try {
    const { newAccount } = require('./lib/orders');
    const a = await newAccount(s, { 'geotrust-dv-1-starter': 1 });
    const id = (await a.client.createCertificateForPackageRequest(new Cas.CreateCertificateForPackageRequestRequest({
      productCode: 'geotrust-dv-1-starter', domain: 'api-only.example.com' }))).body.orderId;
    await new Promise((r) => setTimeout(r, 1500));
    const st = await a.client.describeCertificateState(new Cas.DescribeCertificateStateRequest({ orderId: id }));
    assert.equal(st.body.type, 'domain_verify');
  } finally {
    await s.stop();
  }
  const bad = await startServer({ config: '[validation]\nworker = "no"\n' }).then(async (x) => { await x.stop(); return 'started'; }, (e) => e.message);
  assert.match(bad, /validation\.worker/);
});

test('[ca] key_pool: with no pool the worker makes each key itself; a bad size is refused', async () => {
  const s = await startServer({ config: '[ca]\nkey_pool = 0\n' });
  try {
    const { newAccount, waitForType } = require('./lib/orders');
    const { keyMatches } = require('./lib/pki');
    const a = await newAccount(s, { 'digicert-free-1-free': 2 });
    const ids = [];
    for (const name of ['k1.example.org', 'k2.example.org']) {
      ids.push((await a.client.createCertificateRequest(new Cas.CreateCertificateRequestRequest({
        domain: name, email: 'ops@example.org', phone: '13900000000', username: 'Ops', validateType: 'DNS' }))).body.orderId);
    }
    const keys = new Set();
    for (const id of ids) {
      const done = await waitForType(a.client, id, 'certificate');
      assert.ok(keyMatches(done.privateKey, done.certificate));
      keys.add(done.privateKey);
    }
    assert.equal(keys.size, 2, 'every order gets its own key');
  } finally {
    await s.stop();
  }
  for (const bad of ['-1', '1025', '"eight"']) {
    const r = await startServer({ config: `[ca]\nkey_pool = ${bad}\n` }).then(async (x) => { await x.stop(); return 'started'; }, (e) => e.message);
    assert.match(r, /ca\.key_pool/);
  }
});
