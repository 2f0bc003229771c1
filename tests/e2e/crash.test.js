'use strict';
// Crash consistency (issue #5): clients drive Create* load and record every acknowledged
// OrderId; the server is killed with SIGKILL at a random moment; after a restart every
// acknowledged order exists and fsck is clean. 20 rounds per backend, bounded in time.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { startServer, fsck, newDatabase } = require('./lib/server');
const { Cas, casClient, send, signV3 } = require('./lib/clients');
const { newAccount } = require('./lib/orders');

const ROUNDS = 20;
const CONFIG = '[validation]\nmode = "live"\ndns_server = "127.0.0.1:9"\nretry_initial_seconds = 3600\n';

async function load(server, key, acked, stopAt) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const worker = async () => {
    while (Date.now() < stopAt) {
      try {
        const r = await send(server, { ...signV3(server, { action: 'CreateCertificateForPackageRequest', key,
          query: { ProductCode: 'geotrust-dv-1-starter', Domain: 'crash.example.com' } }), agent });
        if (r.status === 200) acked.push(r.json.OrderId);
      } catch (_) { return; }  // the server died: stop this worker
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  agent.destroy();
}

async function allOrderIds(client) {
  const ids = new Set();
  for (let page = 1; ; page++) {
    const r = await client.listUserCertificateOrder(new Cas.ListUserCertificateOrderRequest({ showSize: 100, currentPage: page }));
    r.body.certificateOrderList.forEach((o) => ids.add(o.orderId));
    if (page * 100 >= r.body.totalCount) return { ids, total: r.body.totalCount };
  }
}

for (const backend of ['sqlite', 'postgres']) {
  test(`SIGKILL under load never loses an acknowledged order (${backend})`, { timeout: 240000 }, async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `certplan-crash-${backend}-`));
    if (backend === 'postgres') newDatabase(dataDir);
    let server = await startServer({ dataDir, config: CONFIG });
    const account = await newAccount(server, { 'geotrust-dv-1-starter': 1000000 });
    const acked = [];
    for (let round = 0; round < ROUNDS; round++) {
      const killAfter = 50 + Math.floor(Math.random() * 300);
      const loading = load(server, account.key, acked, Date.now() + 5000);
      await new Promise((r) => setTimeout(r, killAfter));
      assert.deepEqual(await server.stop('SIGKILL'), { code: null, signal: 'SIGKILL' });
      await loading;
      const check = fsck(dataDir);
      assert.equal(check.status, 0, `round ${round}: ${check.stdout}${check.stderr}`);
      server = await startServer({ dataDir, config: CONFIG });
    }
    const { ids, total } = await allOrderIds(casClient(server, account.key));
    const missing = acked.filter((id) => !ids.has(id));
    assert.deepEqual(missing, [], `${missing.length} acknowledged orders lost`);
    assert.ok(acked.length > ROUNDS, `load was applied (${acked.length} acknowledged)`);
    const state = await casClient(server, account.key)
      .describePackageState(new Cas.DescribePackageStateRequest({ productCode: 'geotrust-dv-1-starter' }));
    assert.equal(state.body.usedCount, total, 'UsedCount equals the orders that exist');
    await server.stop();
  });
}
