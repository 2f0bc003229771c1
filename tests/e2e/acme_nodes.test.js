'use strict';
// ACME on two nodes of one PostgreSQL database (issue #13 item 1): a nonce issued by one node is
// accepted by the other, and once used it is refused on both; an order placed on one node is
// finalized on the other.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, newDatabase } = require('./lib/server');
const { AcmeClient, csr } = require('./lib/acme');

let node1;
let node2;

before(async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'certplan-acme-2nodes-'));
  newDatabase(dataDir);  // both nodes share it, whatever backend the rest of the suite uses
  node1 = await startServer({ dataDir, tls: true });
  node2 = await startServer({ dataDir, tls: true });
});
after(async () => {
  if (node1) await node1.stop();
  if (node2) await node2.stop();
});

test('nonces, accounts and orders are shared by the nodes; a replay is refused on every node', async () => {
  const ca = fs.readFileSync(node1.caFile);
  const key = await node1.admin('acme', 'eab', 'create', '--account', String(node1.demo.AccountId),
    '--product', 'digicert-free-1-free');
  assert.equal(key.code, 0, key.stderr);
  const a = new AcmeClient(`https://${node1.tlsEndpoint}/acme/directory`, ca);
  await a.directory();
  assert.equal((await a.newAccount(key.json)).status, 201);
  const b = new AcmeClient(`https://${node2.tlsEndpoint}/acme/directory`, ca, a.key);
  await b.directory();
  const found = await b.newAccount(null, { onlyReturnExisting: true });
  assert.equal(found.status, 200, found.body);
  // A nonce from node 1 works on node 2 ...
  const nonce = await a.nonce();
  const order = await b.post(b.dir.newOrder, { identifiers: [{ type: 'dns', value: 'nodes.acme-e2e.example.com' }] }, { nonce });
  assert.equal(order.status, 201, order.body);
  // ... once: node 1 refuses it now, and so does node 2.
  const replay1 = await a.post(a.dir.newOrder, { identifiers: [{ type: 'dns', value: 'x.acme-e2e.example.com' }] }, { nonce });
  assert.equal(replay1.json.type, 'urn:ietf:params:acme:error:badNonce');
  const replay2 = await b.post(b.dir.newOrder, { identifiers: [{ type: 'dns', value: 'y.acme-e2e.example.com' }] }, { nonce });
  assert.equal(replay2.json.type, 'urn:ietf:params:acme:error:badNonce');
  // The order placed through node 2 is finalized through node 1.
  const orderPath = new URL(order.headers.location).pathname;
  const viaA = `https://${node1.tlsEndpoint}${orderPath}`;
  const authz = await a.post(order.json.authorizations[0].replace(node2.tlsEndpoint, node1.tlsEndpoint), '');
  assert.equal(authz.status, 200, authz.body);
  await a.post(authz.json.challenges.find((c) => c.type === 'http-01').url, {});
  const done = await a.post(`${viaA}/finalize`, { csr: csr(['nodes.acme-e2e.example.com']).der });
  assert.equal(done.json.status, 'valid', done.body);
});
