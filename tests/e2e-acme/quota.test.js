'use strict';
// certplan only (run.sh runs it when ACME_TARGET=certplan): what real clients spend. An EAB binds
// the ACME account to a certplan account and ProductCode; certbot's orders take the plan's
// units exactly as CreateCertificateForPackageRequest does, and DescribePackageState (the
// official SDK) shows it: N+1 orders on a plan of N give N certificates and one refusal naming
// the ProductCode; a challenge that fails gives its unit back; a revocation moves the counters
// as CancelCertificateForPackageRequest does (revoked <= 30 days after issue: Used -1, Issued -1);
// the staging directory spends nothing; the EAB's rules (names, revocation, single use) refuse
// before anything is taken.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { TARGET, startTarget } = require('./lib/target');
const { startPeers } = require('./lib/peers');
const { certbot, certbotRevoke, verifyChain, tempDir } = require('./lib/clients');
const { eventually } = require('../e2e/lib/orders');
const { AcmeClient } = require('./lib/acme');

if (TARGET !== 'certplan') throw new Error('quota.test.js needs ACME_TARGET=certplan: pebble keeps no plans');

const PRODUCT = 'geotrust-dv-1-starter';
const N = 2;
const name = (label) => `${label}.quota.example.test`;
const HTTP_NAMES = ['q1', 'q2', 'q3', 'q4', 'dry', 'single', 'single2', 'revoked-eab', 'in.allowed', 'outside'].map(name);
const BAD = name('wrong-content');

let peers;
let wrong;
let target;

before(async () => {
  peers = await startPeers();
  wrong = await peers.startWrongResponder();
  target = await startTarget({
    peers, live: true,
    addresses: { ...Object.fromEntries(HTTP_NAMES.map((n) => [n, 0])), [BAD]: wrong.port },
  });
});
after(async () => {
  // certplan's stop runs fsck and throws if the store is not clean: the peers stop either way.
  try {
    if (target) await target.stop();
  } finally {
    if (wrong) await wrong.stop();
    if (peers) await peers.stop();
  }
});

const counters = (account) => target.counters(account, PRODUCT);

test(`quota: a plan of ${N}, ${N + 1} certbot orders: ${N} certificates, the last refused naming the ProductCode; a revocation and a failed challenge give units back`, async () => {
  const account = await target.account({ [PRODUCT]: N });
  const eab = await target.eab({ account, product: PRODUCT });
  const dir = tempDir('certbot-quota'); // one certbot account for every run, as on one host
  const issued = [];
  for (let i = 1; i <= N; i++) {
    const r = await certbot(target, peers, { names: [name(`q${i}`)], eab, dir });
    assert.equal(r.code, 0, r.output);
    assert.deepEqual(verifyChain(target, r.fullchainFile), [name(`q${i}`)]);
    issued.push(r);
    assert.deepEqual(await counters(account), { total: N, used: i, issued: i });
  }

  const refused = await certbot(target, peers, { names: [name(`q${N + 1}`)], dir });
  assert.notEqual(refused.code, 0, refused.output);
  // Debian's certbot 2.1 on Python 3.11 prints any ACME error raised here as "AttributeError:
  // can't set attribute" (contextlib sets __traceback__ on josepy's immutable Error), so the
  // problem document is read from its debug log, where certbot records it in full.
  const said = refused.output + refused.log();
  assert.match(said, /urn:ietf:params:acme:error:unauthorized/, 'the refusal is unauthorized');
  assert.match(said, new RegExp(PRODUCT), 'the refusal names the ProductCode');
  assert.deepEqual(await counters(account), { total: N, used: N, issued: N }, 'a refused order takes nothing');

  // Revoked within 30 days of issue: the unit comes back and the certificate no longer counts.
  const revoked = await certbotRevoke(target, { dir, certFile: issued[0].certFile });
  assert.equal(revoked.code, 0, revoked.output);
  assert.deepEqual(await counters(account), { total: N, used: N - 1, issued: N - 1 });

  // The freed unit is taken by an order whose http-01 answer is wrong: the challenge fails, the
  // order becomes invalid and the unit comes back.
  const failed = await certbot(target, peers, { names: [BAD], dir });
  assert.notEqual(failed.code, 0, failed.output);
  assert.ok(wrong.seen.some((s) => s.url.startsWith('/.well-known/acme-challenge/')),
    `certplan asked the responder for the token: ${JSON.stringify(wrong.seen)}`);
  await eventually(async () => assert.deepEqual(await counters(account), { total: N, used: N - 1, issued: N - 1 }), 5000);

  // …and is there for the next order.
  const again = await certbot(target, peers, { names: [name(`q${N + 2}`)], dir });
  assert.equal(again.code, 0, again.output);
  assert.deepEqual(await counters(account), { total: N, used: N, issued: N });
});

test('staging: certbot --dry-run against /acme/staging/directory issues with the same EAB and spends nothing', async () => {
  const account = await target.account({ [PRODUCT]: 1 });
  const eab = await target.eab({ account, product: PRODUCT });
  const r = await certbot(target, peers, { names: [name('dry')], eab, server: target.staging, dryRun: true });
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /The dry run was successful/);
  assert.deepEqual(await counters(account), { total: 1, used: 0, issued: 0 });
});

test('EAB --names: an order outside the patterns is refused with rejectedIdentifier and spends nothing', async () => {
  const account = await target.account({ [PRODUCT]: 2 });
  const eab = await target.eab({ account, product: PRODUCT, names: ['*.allowed.quota.example.test'] });
  const dir = tempDir('certbot-names');
  const outside = await certbot(target, peers, { names: [name('outside')], eab, dir });
  assert.notEqual(outside.code, 0, outside.output);
  assert.match(outside.output + outside.log(), /urn:ietf:params:acme:error:rejectedIdentifier/, outside.output);
  assert.deepEqual(await counters(account), { total: 2, used: 0, issued: 0 });
  const inside = await certbot(target, peers, { names: [name('in.allowed')], dir });
  assert.equal(inside.code, 0, inside.output);
  assert.deepEqual(await counters(account), { total: 2, used: 1, issued: 1 });
});

test('EAB revoke: the account it bound can order no more, and nothing is spent', async () => {
  const account = await target.account({ [PRODUCT]: 2 });
  const eab = await target.eab({ account, product: PRODUCT });
  const dir = tempDir('certbot-revoked-eab');
  const first = await certbot(target, peers, { names: [name('q3')], eab, dir });
  assert.equal(first.code, 0, first.output);
  const r = await target.server.admin('acme', 'eab', 'revoke', eab.kid);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const refused = await certbot(target, peers, { names: [name('revoked-eab')], dir });
  assert.notEqual(refused.code, 0, refused.output);
  assert.deepEqual(await counters(account), { total: 2, used: 1, issued: 1 });
});

test('EAB --single-use binds one ACME account: a second host with the same key is refused; a reusable key binds both', async () => {
  const account = await target.account({ [PRODUCT]: 3 });
  const once = await target.eab({ account, product: PRODUCT, singleUse: true });
  const a = await certbot(target, peers, { names: [name('single')], eab: once });
  assert.equal(a.code, 0, a.output);
  const b = await certbot(target, peers, { names: [name('single2')], eab: once });
  assert.notEqual(b.code, 0, b.output);
  assert.deepEqual(await counters(account), { total: 3, used: 1, issued: 1 });
  const shared = await target.eab({ account, product: PRODUCT });
  const c = await certbot(target, peers, { names: [name('single2')], eab: shared });
  assert.equal(c.code, 0, c.output);
  const d = await certbot(target, peers, { names: [name('q4')], eab: shared });
  assert.equal(d.code, 0, d.output);
  assert.deepEqual(await counters(account), { total: 3, used: 3, issued: 3 });
});

test("the ProductCode's name rules: a wildcard on a single-name product, six names — refused with a problem document, nothing spent", async () => {
  const account = await target.account({ [PRODUCT]: 10 });
  const eab = await target.eab({ account, product: PRODUCT });
  const dir = tempDir('certbot-rules');
  const wildcard = await certbot(target, peers, { names: ['*.rules.quota.example.test'], challenge: 'dns', eab, dir });
  assert.notEqual(wildcard.code, 0, wildcard.output);
  assert.match(wildcard.output + wildcard.log(), /urn:ietf:params:acme:error:(rejectedIdentifier|malformed)/, wildcard.output);
  const six = await certbot(target, peers, { names: [1, 2, 3, 4, 5, 6].map((i) => `n${i}.rules.quota.example.test`), challenge: 'dns', dir });
  assert.notEqual(six.code, 0, six.output);
  assert.match(six.output + six.log(), /urn:ietf:params:acme:error:(rejectedIdentifier|malformed)/, six.output);
  assert.deepEqual(await counters(account), { total: 10, used: 0, issued: 0 });
});

test('an order for names the account already has pending: 201 with a Location, charged once', async () => {
  const account = await target.account({ [PRODUCT]: 3 });
  const c = new AcmeClient(target);
  const created = await c.newAccount(await target.eab({ account, product: PRODUCT }));
  assert.equal(created.status, 201, created.body);
  // Live validation and no challenge answered: the order stays pending.
  const first = await c.newOrder([name('pending')]);
  assert.equal(first.status, 201, first.body);
  assert.equal(first.json.status, 'pending');
  assert.deepEqual(await counters(account), { total: 3, used: 1, issued: 0 });
  const again = await c.newOrder([name('PENDING')]); // names compare lower-cased
  assert.equal(again.status, 201, again.body);
  assert.ok(again.headers.location, again.body);
  assert.ok(again.headers['replay-nonce']);
  assert.deepEqual(await counters(account), { total: 3, used: 1, issued: 0 }, 'never charged twice');
});
