'use strict';
// The CI user's setup: certplan `serve --dev` (validation mode "auto": challenges approved at
// once, nothing is fetched) — for pebble PEBBLE_VA_ALWAYS_VALID=1. certbot and lego still answer
// their challenges as they always do; the certificate must verify and carry the names.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { TARGET, startTarget } = require('./lib/target');
const { startPeers } = require('./lib/peers');
const { certbot, lego, verifyChain } = require('./lib/clients');

const SINGLE = 'geotrust-dv-1-starter';
let peers;
let target;
let account;

before(async () => {
  peers = await startPeers();
  target = await startTarget({ peers, live: false });
  account = await target.account({ [SINGLE]: 5 });
});
after(async () => {
  // certplan's stop runs fsck and throws if the store is not clean: the peers stop either way.
  try {
    if (target) await target.stop();
  } finally {
    if (peers) await peers.stop();
  }
});

test(`auto mode: certbot standalone (${TARGET})`, async () => {
  const names = ['auto-certbot.example.test'];
  const r = await certbot(target, peers, { names, eab: await target.eab({ account, product: SINGLE }) });
  assert.equal(r.code, 0, r.output);
  assert.deepEqual(verifyChain(target, r.fullchainFile), names);
});

test(`auto mode: lego --dns exec, three names (${TARGET})`, async () => {
  const names = ['auto-lego.example.test', 'www.auto-lego.example.test', 'api.auto-lego.example.test'];
  const r = await lego(target, peers, { names, challenge: 'dns', eab: await target.eab({ account, product: SINGLE }) });
  assert.equal(r.code, 0, r.output);
  assert.deepEqual(verifyChain(target, r.fullchainFile), [...names].sort());
});
