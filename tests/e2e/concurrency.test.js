'use strict';
// 200 concurrent calls on 50 keep-alive connections, all answered correctly (issue #2).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { startServer } = require('./lib/server');
const { Cas, casClient, send, signV3 } = require('./lib/clients');

let server;
before(async () => { server = await startServer(); });
after(async () => { await server.stop(); });

test('200 signed calls on 50 connections', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });
  const sockets = new Set();
  const codes = ['digicert-free-1-free', 'geotrust-dv-1-starter', 'cfca-ev-w-advanced', 'symantec-ov-w-personal'];
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => {
    const code = codes[i % codes.length];
    return send(server, { ...signV3(server, { query: { ProductCode: code } }), agent }).then((r) => {
      sockets.add(r.socket);
      return { code, r };
    });
  }));
  agent.destroy();
  for (const { code, r } of results) {
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.ProductCode, code);
    assert.equal(r.json.TotalCount, 20);
  }
  assert.equal(new Set(results.map(({ r }) => r.json.RequestId)).size, 200, 'RequestIds are unique');
  assert.ok(sockets.size <= 50 && sockets.size > 1, `used ${sockets.size} connections`);
});

test('200 concurrent calls through the V3 SDK', async () => {
  const client = casClient(server);
  const results = await Promise.all(Array.from({ length: 200 }, () =>
    client.describePackageState(new Cas.DescribePackageStateRequest({ productCode: 'globalsign-ov-1-personal' }))));
  for (const r of results) {
    assert.equal(r.body.productCode, 'globalsign-ov-1-personal');
    assert.equal(r.body.totalCount, 20);
  }
});
