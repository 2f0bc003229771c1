'use strict';
// What real clients trip over at the protocol level (issue 13, item 5), checked with a minimal
// raw client (lib/acme.js) on both targets: newNonce's status codes, a Replay-Nonce on every
// answer to a POST (refusals and the certificate download included), 415 for a body that is not
// application/jose+json, badNonce with a fresh nonce, Location on created resources,
// Link rel="up" on a challenge, the certificate as application/pem-certificate-chain; and, where
// the issue asks more of certplan than pebble does, Retry-After in whole seconds >= 1.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { TARGET, startTarget } = require('./lib/target');
const { startPeers } = require('./lib/peers');
const { AcmeClient, request, makeCsr } = require('./lib/acme');

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

const problemType = (r) => (r.json && r.json.type) || '';
function assertProblem(r, status, type) {
  assert.equal(r.status, status, r.body);
  assert.match(r.headers['content-type'] || '', /^application\/problem\+json/, JSON.stringify(r.headers));
  assert.equal(problemType(r), `urn:ietf:params:acme:error:${type}`, r.body);
  assert.ok(r.headers['replay-nonce'], `a Replay-Nonce on the ${status} answer`);
}

async function newClient() {
  const c = new AcmeClient(target);
  const r = await c.newAccount(await target.eab({ account, product: SINGLE }));
  assert.equal(r.status, 201, r.body);
  assert.ok(r.headers.location, 'newAccount answers the account URL in Location');
  assert.ok(r.headers['replay-nonce']);
  return c;
}

test(`newNonce: HEAD answers 200 and GET 204, each with a Replay-Nonce (${TARGET})`, async () => {
  const c = new AcmeClient(target);
  const head = await c.newNonce('HEAD');
  assert.equal(head.status, 200);
  assert.match(head.headers['replay-nonce'] || '', /^[A-Za-z0-9_-]+$/);
  const get = await c.newNonce('GET');
  assert.equal(get.status, 204);
  assert.match(get.headers['replay-nonce'] || '', /^[A-Za-z0-9_-]+$/);
  assert.notEqual(get.headers['replay-nonce'], head.headers['replay-nonce']);
});

test(`a POST that is not application/jose+json: 415 with a problem document and a Replay-Nonce (${TARGET})`, async () => {
  const c = new AcmeClient(target);
  const dir = await c.directory();
  const r = await c.post(dir.newAccount, { termsOfServiceAgreed: true }, { contentType: 'application/json' });
  assert.equal(r.status, 415, r.body);
  assert.match(r.headers['content-type'] || '', /^application\/problem\+json/);
  assert.ok(r.headers['replay-nonce'], 'a Replay-Nonce on the 415');
});

test(`a nonce used twice: badNonce, with a fresh Replay-Nonce to retry with (${TARGET})`, async () => {
  const c = await newClient();
  const dir = await c.directory();
  await c.newNonce();
  const nonce = c.nonce;
  const first = await c.post(dir.newOrder, { identifiers: [{ type: 'dns', value: 'nonce-1.example.test' }] }, { nonce });
  assert.equal(first.status, 201, first.body);
  const again = await c.post(dir.newOrder, { identifiers: [{ type: 'dns', value: 'nonce-2.example.test' }] }, { nonce });
  assertProblem(again, 400, 'badNonce');
  assert.notEqual(again.headers['replay-nonce'], nonce);
  const retried = await c.newOrder(['nonce-2.example.test']);
  assert.equal(retried.status, 201, 'the nonce of the badNonce answer is good');
});

test(`a full order: Location on what is created, Link rel="up" on the challenge, a PEM chain, a Replay-Nonce on every answer (${TARGET})`, async () => {
  const c = await newClient();
  const name = 'protocol.example.test';
  const order = await c.newOrder([name]);
  assert.equal(order.status, 201, order.body);
  assert.ok(order.headers.location, 'newOrder answers the order URL in Location');
  assert.ok(order.headers['replay-nonce']);
  const [authzUrl] = order.json.authorizations;
  const authz = await c.post(authzUrl, '');
  assert.equal(authz.status, 200, authz.body);
  assert.ok(authz.headers['replay-nonce']);
  const challenge = authz.json.challenges.find((ch) => ch.type === 'http-01');
  assert.ok(challenge, authz.body);
  const answered = await c.post(challenge.url, {});
  assert.equal(answered.status, 200, answered.body);
  assert.ok(answered.headers['replay-nonce']);
  const links = [].concat(answered.headers.link || []).join(', ');
  assert.ok(links.split(/,\s*(?=<)/).some((l) => l.startsWith(`<${authzUrl}>`) && /;\s*rel="?up"?/.test(l)),
    `the challenge answer links its authorization (rel="up"): ${links}`);
  // Until the order is ready (auto mode / PEBBLE_VA_ALWAYS_VALID: at once or nearly).
  let state = order.json;
  const deadline = Date.now() + 10000;
  const pause = () => new Promise((r) => setTimeout(r, 100));
  while (state.status === 'pending') {
    assert.ok(Date.now() < deadline, `the order stays pending: ${JSON.stringify(state)}`);
    await pause();
    const r = await c.post(order.headers.location, '');
    assert.ok(r.headers['replay-nonce']);
    state = r.json;
  }
  assert.equal(state.status, 'ready', JSON.stringify(state));
  let fin = await c.post(state.finalize, { csr: makeCsr([name]) });
  assert.equal(fin.status, 200, fin.body);
  assert.ok(fin.headers['replay-nonce']);
  while (fin.json.status === 'processing') {
    if (TARGET === 'certplan') {
      // lego's and certbot's polling: whole seconds, at least 1.
      assert.match(fin.headers['retry-after'] || '', /^[1-9][0-9]*$/, 'Retry-After on a processing order');
    }
    assert.ok(Date.now() < deadline + 20000, 'the order is valid within 30 s');
    await pause();
    fin = await c.post(order.headers.location, '');
  }
  assert.equal(fin.json.status, 'valid', fin.body);
  const cert = await c.post(fin.json.certificate, '');
  assert.equal(cert.status, 200, cert.body);
  assert.match(cert.headers['content-type'] || '', /^application\/pem-certificate-chain/);
  assert.ok(cert.headers['replay-nonce'], 'a Replay-Nonce on the certificate download');
  assert.ok((cert.body.match(/-----BEGIN CERTIFICATE-----/g) || []).length >= 2, 'the leaf and its chain');
});

test(`a refusal carries a Replay-Nonce: an order signed for an account that does not exist (${TARGET})`, async () => {
  const c = await newClient();
  c.kid = `${c.kid}0`; // an account URL the server never issued
  const r = await c.newOrder(['nobody.example.test']);
  assert.ok(r.status >= 400 && r.status < 500, r.body);
  assert.match(r.headers['content-type'] || '', /^application\/problem\+json/);
  assert.ok(r.headers['replay-nonce'], 'a Replay-Nonce on the refusal');
});

test(`the directory answers a plain GET without authentication (${TARGET})`, async () => {
  const r = await request(target.directory, { ca: require('node:fs').readFileSync(target.caFile) });
  assert.equal(r.status, 200);
  assert.equal(r.json.meta.externalAccountRequired, true);
});
