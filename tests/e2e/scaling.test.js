'use strict';
// Two certplan nodes on one PostgreSQL (issue #5): quota, nonces and the validators hold
// across nodes.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { startServer, fsck, newDatabase } = require('./lib/server');
const { Cas, casClient, send, signV3 } = require('./lib/clients');
const { newAccount, counters, waitForType } = require('./lib/orders');
const { makeCsr } = require('./lib/pki');

let node1;
let node2;
before(async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'certplan-2nodes-'));
  newDatabase(dataDir);  // both nodes share it, whatever backend the rest of the suite uses
  const config = '[validation]\nmode = "auto"\npoll_ms = 20\n';
  node1 = await startServer({ dataDir, config });
  node2 = await startServer({ dataDir, config });
});
after(async () => {
  await node1.stop();
  await node2.stop();
  const check = fsck(node1.dataDir);
  assert.equal(check.status, 0, check.stdout + check.stderr);
});

test('128 concurrent Create* split across both nodes against a plan of 50: exactly 50', async () => {
  const a = await newAccount(node1, { 'geotrust-dv-1-starter': 50 });
  const { csr } = makeCsr({ cn: 'race.example.com' });
  const agents = [new http.Agent({ keepAlive: true, maxSockets: 32 }), new http.Agent({ keepAlive: true, maxSockets: 32 })];
  const results = await Promise.all(Array.from({ length: 128 }, (_, i) => {
    const node = i % 2 ? node2 : node1;
    return send(node, { ...signV3(node, { action: 'CreateCertificateWithCsrRequest', key: a.key,
      query: { Csr: csr, ProductCode: 'geotrust-dv-1-starter', Email: 'a@example.com', Phone: '1', Username: 'u', ValidateType: 'DNS' } }),
    agent: agents[i % 2] });
  }));
  agents.forEach((ag) => ag.destroy());
  const ok = results.filter((r) => r.status === 200);
  assert.equal(ok.length, 50);
  assert.equal(new Set(ok.map((r) => r.json.OrderId)).size, 50);
  assert.ok(results.filter((r) => r.status !== 200).every((r) => r.json.Code === 'NotRemainCount'));
  const c1 = await counters(a.client, 'geotrust-dv-1-starter');
  const c2 = await counters(casClient(node2, a.key), 'geotrust-dv-1-starter');
  assert.equal(c1.used, 50);
  assert.deepEqual(c1.total, c2.total);
});

test('a nonce used on node 1 is refused on node 2', async () => {
  const request = signV3(node1);
  assert.equal((await send(node1, request)).status, 200);
  const again = await send(node2, { ...request, headers: { ...request.headers } });
  assert.equal(again.status, 400);
  assert.equal(again.json.Code, 'SignatureNonceUsed');
});

test('orders created on node 1 are issued exactly once with both validators running', async () => {
  const a = await newAccount(node1, { 'globalsign-dv-1-personal': 12 });
  const { csr } = makeCsr({ cn: 'once.example.com' });
  const ids = [];
  for (let i = 0; i < 12; i++) {
    ids.push((await a.client.createCertificateWithCsrRequest(new Cas.CreateCertificateWithCsrRequestRequest({
      csr, productCode: 'globalsign-dv-1-personal', email: 'a@example.com', phone: '1', username: 'u', validateType: 'DNS' }))).body.orderId);
  }
  for (const id of ids) await waitForType(casClient(node2, a.key), id, 'certificate');
  await new Promise((r) => setTimeout(r, 300));  // any second issuance would have been logged by now
  const logs = node1.logs() + node2.logs();
  for (const id of ids) {
    const issued = logs.split('\n').filter((l) => l.includes('"certificate issued"') && l.includes(`"order_id":${id}`));
    assert.equal(issued.length, 1, `order ${id} issued ${issued.length} times`);
  }
  assert.deepEqual(await counters(a.client, 'globalsign-dv-1-personal'), { total: 12, used: 12, issued: 12 });
});
