'use strict';
// PostgreSQL unavailable at start or dropping mid-run (issue #5): requests fail with
// ServiceUnavailable — never a crash, never a wrong success — and the node recovers when the
// database returns. Uses a PostgreSQL cluster of its own, so stopping it disturbs no other test.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, admin } = require('./lib/server');
const { Cas, casClient } = require('./lib/clients');
const { freeLoopbackPort } = require('./lib/peers');
const { get } = require('./lib/metrics');
const { eventually } = require('./lib/orders');

const SCRIPT = path.resolve(__dirname, '../../scripts/pg-cluster.sh');
const pgDir = fs.mkdtempSync(path.join(os.tmpdir(), 'certplan-pg-outage-'));
let port;
let url;

const pgStart = () => execFileSync(SCRIPT, ['start', path.join(pgDir, 'data'), String(port)], { encoding: 'utf8' }).trim();
const pgStop = () => execFileSync(SCRIPT, ['stop', path.join(pgDir, 'data')]);

before(async () => {
  port = await freeLoopbackPort();
  fs.chmodSync(pgDir, 0o777);  // as root the cluster runs as the postgres user
  const adminUrl = pgStart();
  execFileSync('psql', ['-q', adminUrl, '-c', 'CREATE DATABASE outage']);
  url = adminUrl.replace(/\/[^/]*$/, '/outage');
  pgStop();
});
after(() => { pgStop(); });

function storeDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certplan-outage-'));
  fs.writeFileSync(path.join(dir, 'store-url'), url);
  return dir;
}

const isUnavailable = (e) => e.code === 'ServiceUnavailable' && e.statusCode === 503;

test('down at start: 503 until the database comes up, then served', async () => {
  const server = await startServer({ dataDir: storeDir(), dev: false });
  try {
    const nobody = casClient(server, { AccessKeyId: 'LTAIwhoever', AccessKeySecret: 'x' });
    await assert.rejects(nobody.describePackageState(new Cas.DescribePackageStateRequest({})), isUnavailable);
    pgStart();
    const acct = await admin(server.dataDir, 'account', 'create', '--name', 'outage-a');
    assert.equal(acct.code, 0, acct.stderr);
    const grant = await admin(server.dataDir, 'plan', 'grant', '--account', String(acct.json.AccountId),
      '--product', 'geotrust-dv-1-starter', '--count', '5');
    assert.equal(grant.code, 0, grant.stderr);
    const r = await casClient(server, acct.json).describePackageState(new Cas.DescribePackageStateRequest({ productCode: 'geotrust-dv-1-starter' }));
    assert.equal(r.body.totalCount, 5);
  } finally {
    await server.stop();
  }
});

test('dropping mid-run: reads and writes answer 503, nothing half-written, recovery after', async () => {
  pgStart();
  const server = await startServer({ dataDir: storeDir(), dev: false });
  try {
    const acct = await admin(server.dataDir, 'account', 'create', '--name', 'outage-b');
    await admin(server.dataDir, 'plan', 'grant', '--account', String(acct.json.AccountId), '--product', 'geotrust-dv-1-starter', '--count', '5');
    const client = casClient(server, acct.json);
    const create = () => client.createCertificateForPackageRequest(new Cas.CreateCertificateForPackageRequestRequest({
      productCode: 'geotrust-dv-1-starter', domain: 'outage.example.com' }));
    await create();
    pgStop();
    await assert.rejects(client.describePackageState(new Cas.DescribePackageStateRequest({})), isUnavailable);
    await assert.rejects(create(), isUnavailable);
    pgStart();
    let recovered = null;
    for (let i = 0; i < 50 && !recovered; i++) {
      recovered = await client.describePackageState(new Cas.DescribePackageStateRequest({ productCode: 'geotrust-dv-1-starter' }))
        .catch((e) => { assert.ok(isUnavailable(e), e.message); return null; });
      if (!recovered) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(recovered, 'the node recovered');
    assert.equal(recovered.body.usedCount, 1, 'the refused Create* took nothing');
    await create();
    assert.equal((await client.describePackageState(new Cas.DescribePackageStateRequest({ productCode: 'geotrust-dv-1-starter' }))).body.usedCount, 2);
  } finally {
    await server.stop();
  }
});

test('/readyz: 503 naming the store while the database is down, 200 once it is back; /healthz stays 200', async () => {
  pgStart();
  const server = await startServer({ dataDir: storeDir(), dev: false });
  try {
    const at = { host: server.host, port: server.port };
    const ready = await get(at, '/readyz');
    assert.equal(ready.status, 200, ready.body);
    pgStop();
    const down = await get(at, '/readyz');
    assert.equal(down.status, 503);
    assert.deepEqual(JSON.parse(down.body), { status: 'unavailable', reason: 'store: The store is not available.' });
    assert.equal((await get(at, '/healthz')).status, 200);
    pgStart();
    await eventually(async () => assert.equal((await get(at, '/readyz')).status, 200), 10000);
  } finally {
    await server.stop();
  }
});
