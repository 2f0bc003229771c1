'use strict';
// Real ACME clients from Debian (certbot 2.1, lego 4.9.1, uacme 1.7.4), unmodified, obtain
// certificates from the target (ACME_TARGET: certplan, or pebble to prove this harness) with
// External Account Binding and real validation: http-01 answered on a loopback port the server
// is told about, dns-01 through TXT records a hook publishes into dnsmasq. Each certificate must
// verify up to the target's root with `openssl verify` and carry exactly the requested names.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { TARGET, startTarget } = require('./lib/target');
const { startPeers } = require('./lib/peers');
const { certbot, certbotRevoke, lego, uacme, verifyChain } = require('./lib/clients');

const SINGLE = 'geotrust-dv-1-starter';
const WILDCARD = 'geotrust-dv-w-starter';
const name = (label) => `${label}.example.test`;
// Names validated by http-01: certplan is told where each is served ([validation.addresses]).
const HTTP_NAMES = ['certbot-http', 'lego-http', 'www.lego-http', 'uacme-http'].map(name);

let peers;
let target;
let account;

before(async () => {
  peers = await startPeers();
  target = await startTarget({ peers, live: true, addresses: Object.fromEntries(HTTP_NAMES.map((n) => [n, 0])) });
  account = await target.account({ [SINGLE]: 20, [WILDCARD]: 5 });
});
after(async () => {
  // certplan's stop runs fsck and throws if the store is not clean: the peers stop either way.
  try {
    if (target) await target.stop();
  } finally {
    if (peers) await peers.stop();
  }
});

// Asserts a client run succeeded and its certificate verifies with exactly `names`.
function assertIssued(r, names) {
  assert.equal(r.code, 0, r.output);
  assert.deepEqual(verifyChain(target, r.fullchainFile), [...names].map((n) => n.toLowerCase()).sort(), r.output);
}

let certbotHttp = null;
test(`certbot: standalone http-01 on a loopback port (${TARGET})`, async () => {
  const names = [name('certbot-http')];
  const r = await certbot(target, peers, { names, eab: await target.eab({ account, product: SINGLE }) });
  assertIssued(r, names);
  certbotHttp = r;
});

test(`certbot revoke: the certificate it obtained, signed by its account key (${TARGET})`, async () => {
  assert.ok(certbotHttp, 'the standalone test obtained a certificate');
  const r = await certbotRevoke(target, { dir: certbotHttp.dir, certFile: certbotHttp.certFile, reason: 'superseded' });
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /successfully revoked/, r.output);
});

test(`certbot: dns-01 through a manual auth hook writing into dnsmasq, wildcard with its base name (${TARGET})`, async () => {
  const names = ['*.certbot-dns.example.test', name('certbot-dns')];
  const before = peers.hookLog.length;
  const r = await certbot(target, peers, { names, challenge: 'dns', eab: await target.eab({ account, product: WILDCARD }) });
  assertIssued(r, names);
  const published = peers.hookLog.slice(before).filter((j) => j.kind === 'dns' && j.op === 'add');
  assert.deepEqual(published.map((j) => j.name), ['_acme-challenge.certbot-dns.example.test', '_acme-challenge.certbot-dns.example.test'],
    'one TXT record per authorization, both at the base name');
  assert.deepEqual(peers.dns.records, [], 'the cleanup hook removed them');
});

test(`certbot: --dry-run against the staging directory (${TARGET})`, async () => {
  const r = await certbot(target, peers, { names: [name('certbot-http')], server: target.staging, dryRun: true,
    eab: await target.eab({ account, product: SINGLE }) });
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /The dry run was successful/, r.output);
});

test(`lego: --http on a loopback port, two names, P-384 keys (ES384 signatures) (${TARGET})`, async () => {
  const names = [name('lego-http'), name('www.lego-http')];
  const r = await lego(target, peers, { names, keyType: 'ec384', eab: await target.eab({ account, product: SINGLE }) });
  assertIssued(r, names);
});

// lego puts the first name in the CSR's CN, whatever its length; a CN has at most 64 characters
// in X.509, so the server must take the names from the SAN (certbot 2.1 sends no CN at all).
test(`lego: a first name over 64 characters in the CSR's CN, RSA 2048 keys (RS256) (${TARGET})`, async () => {
  const long = `${'a'.repeat(60)}.lego-long.example.test`;
  assert.ok(long.length > 64);
  const names = [long];
  const r = await lego(target, peers, { names, challenge: 'dns', keyType: 'rsa2048',
    eab: await target.eab({ account, product: SINGLE }) });
  assertIssued(r, names);
});

test(`lego: --dns exec writing into dnsmasq, --dns.resolvers at it with --dns.disable-cp (${TARGET})`, async () => {
  const names = [name('lego-dns')];
  const before = peers.hookLog.length;
  const r = await lego(target, peers, { names, challenge: 'dns', eab: await target.eab({ account, product: SINGLE }) });
  assertIssued(r, names);
  const published = peers.hookLog.slice(before).filter((j) => j.kind === 'dns' && j.op === 'add');
  assert.deepEqual(published.map((j) => j.name), ['_acme-challenge.lego-dns.example.test']);
});

test(`uacme: http-01 through its hook, the target's CA in a private trust store (${TARGET})`, async () => {
  const names = [name('uacme-http')];
  const eab = await target.eab({ account, product: SINGLE });
  const r = await peers.serveChallenges(() => uacme(target, peers, { names, eab }));
  assertIssued(r, names);
});

test(`uacme: dns-01 through its hook writing into dnsmasq (${TARGET})`, async () => {
  const names = [name('uacme-dns')];
  const r = await uacme(target, peers, { names, types: 'dns-01', eab: await target.eab({ account, product: SINGLE }) });
  assertIssued(r, names);
});

test(`certbot without EAB: the directory requires external account binding, no account is made (${TARGET})`, async () => {
  const r = await certbot(target, peers, { names: [name('certbot-http')] });
  assert.notEqual(r.code, 0, r.output);
  assert.match(r.output, /external account binding/i, r.output);
});

test(`lego with an EAB key the server never issued is refused (${TARGET})`, async () => {
  const real = await target.eab({ account, product: SINGLE });
  const r = await lego(target, peers, { names: [name('lego-http')], eab: { kid: `${real.kid}x`, hmac: real.hmac } });
  assert.notEqual(r.code, 0, r.output);
  assert.doesNotMatch(r.output, /Server responded with a certificate/, r.output);
});
