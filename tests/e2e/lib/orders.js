'use strict';
// Helpers for order tests: fresh accounts with plans, counters, waiting for a state.
const assert = require('node:assert/strict');
const { Cas, casClient } = require('./clients');

let seq = 0;

// A new account holding `grants` ({ProductCode: count}); returns {key, client, id}.
async function newAccount(server, grants = {}) {
  const created = await server.admin('account', 'create', '--name', `acct-${process.pid}-${++seq}`);
  assert.equal(created.code, 0, created.stderr);
  for (const [code, count] of Object.entries(grants)) {
    const g = await server.admin('plan', 'grant', '--account', String(created.json.AccountId),
      '--product', code, '--count', String(count));
    assert.equal(g.code, 0, g.stderr);
  }
  return { key: created.json, id: created.json.AccountId, client: casClient(server, created.json) };
}

async function counters(client, productCode) {
  const r = await client.describePackageState(new Cas.DescribePackageStateRequest({ productCode }));
  return { total: r.body.totalCount, used: r.body.usedCount, issued: r.body.issuedCount };
}

async function state(client, orderId) {
  return (await client.describeCertificateState(new Cas.DescribeCertificateStateRequest({ orderId }))).body;
}

// Polls DescribeCertificateState until Type is `type` (or fails after `ms`).
async function waitForType(client, orderId, type, ms = 20000) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    last = await state(client, orderId);
    if (last.type === type) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`order ${orderId} did not reach ${type}; last: ${JSON.stringify(last)}`);
}

async function expectCode(promise, code, status) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.code, code, e.message);
    if (status) assert.equal(e.statusCode, status);
    return true;
  });
}

// Retries `fn` until it resolves (up to `ms`): for changes documented to take effect within a
// bound, such as a disabled AccessKey (auth.key_cache_milliseconds, 1 s by default).
async function eventually(fn, ms = 3000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

module.exports = { newAccount, counters, state, waitForType, expectCode, eventually };
