'use strict';
// ACME (issue #13): an RFC 8555 client on node's own crypto drives the real binary over HTTPS —
// directory → newNonce → newAccount with External Account Binding → newOrder → authorization →
// challenge (validation mode auto) → finalize → certificate — and DescribePackageState moves by
// exactly one unit. Every refusal answers its RFC 8555 problem type, carries a Replay-Nonce and
// spends nothing.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, fsck, auditRecords } = require('./lib/server');
const { Cas, casClient } = require('./lib/clients');
const { AcmeClient, newKey, issue, csr, request, eabJws, b64u } = require('./lib/acme');

const PRODUCT = 'digicert-free-1-free';
const WILDCARD = 'geotrust-dv-w-starter';
const ERR = (t) => `urn:ietf:params:acme:error:${t}`;

let server;
let ca;
let dirUrl;
let accountId;

before(async () => {
  server = await startServer({ tls: true });
  ca = fs.readFileSync(server.caFile);
  dirUrl = `https://${server.tlsEndpoint}/acme/directory`;
  accountId = server.demo.AccountId;
});
after(async () => { if (server) await server.stop(); });

async function packageState(productCode = PRODUCT, key = server.demo) {
  const r = await casClient(server, key).describePackageState(new Cas.DescribePackageStateRequest({ productCode }));
  return { total: r.body.totalCount, used: r.body.usedCount, issued: r.body.issuedCount };
}

async function eab(args = [], account = accountId, product = PRODUCT) {
  const r = await server.admin('acme', 'eab', 'create', '--account', String(account), '--product', product, ...args);
  assert.equal(r.code, 0, r.stderr);
  return r.json;
}

async function client(key) {
  const c = new AcmeClient(dirUrl, ca, key);
  await c.directory();
  return c;
}

async function boundClient(eabArgs = [], account, product) {
  const c = await client();
  const r = await c.newAccount(await eab(eabArgs, account, product));
  assert.equal(r.status, 201, r.body);
  return c;
}

// A refusal: status, problem type, content type, a fresh nonce.
function assertProblem(r, type, status) {
  assert.equal(r.headers['content-type'], 'application/problem+json', r.body);
  assert.equal(r.json.type, ERR(type), r.body);
  if (status) assert.equal(r.status, status, r.body);
  assert.ok(r.headers['replay-nonce'], 'a refusal carries a Replay-Nonce');
}

test('eab create prints one JSON object; list shows bound accounts, never the HMAC key; unknown account and product fail', async () => {
  const key = await eab(['--single-use', '--names', '*.example.org,host.example.org']);
  assert.match(key.KeyId, /^eab-/);
  assert.ok(Buffer.from(key.HmacKey, 'base64url').length >= 32);
  assert.doesNotMatch(key.HmacKey, /[=+/]/);
  assert.equal(key.AccountId, accountId);
  assert.equal(key.ProductCode, PRODUCT);
  assert.equal(key.SingleUse, true);
  assert.deepEqual(key.Names, ['*.example.org', 'host.example.org']);
  const list = await server.admin('acme', 'eab', 'list', '--account', String(accountId));
  assert.equal(list.code, 0, list.stderr);
  const listed = list.json.find((k) => k.KeyId === key.KeyId);
  assert.ok(listed);
  assert.equal(JSON.stringify(list.json).includes(key.HmacKey), false);
  const badAccount = await server.admin('acme', 'eab', 'create', '--account', '999999', '--product', PRODUCT);
  assert.notEqual(badAccount.code, 0);
  assert.match(badAccount.stderr, /account/);
  const badProduct = await server.admin('acme', 'eab', 'create', '--account', String(accountId), '--product', 'no-such');
  assert.notEqual(badProduct.code, 0);
  assert.match(badProduct.stderr, /ProductCode/);
  const badRevoke = await server.admin('acme', 'eab', 'revoke', 'eab-nosuchkey');
  assert.notEqual(badRevoke.code, 0);
});

test('directory, nonces and content type', async () => {
  const c = await client();
  assert.equal(c.dir.meta.externalAccountRequired, true);
  for (const k of ['newNonce', 'newAccount', 'newOrder', 'revokeCert', 'keyChange']) {
    assert.ok(c.dir[k].startsWith(`https://${server.tlsEndpoint}/acme/`), k);
  }
  const head = await request(c.dir.newNonce, { method: 'HEAD', ca });
  assert.equal(head.status, 200);
  assert.ok(head.headers['replay-nonce']);
  const get = await request(c.dir.newNonce, { ca });
  assert.equal(get.status, 204);
  assert.ok(get.headers['replay-nonce']);
  assert.notEqual(head.headers['replay-nonce'], get.headers['replay-nonce']);
  const wrongType = await c.post(c.dir.newAccount, {}, { jwk: true, contentType: 'application/json' });
  assertProblem(wrongType, 'malformed', 415);
});

test('happy path: EAB account, order, http-01 (auto), finalize without CN, PEM chain; exactly one unit', async () => {
  const before = await packageState();
  const c = await boundClient();
  const names = ['www.acme-e2e.example.com', 'acme-e2e.example.com'];
  const { order, orderUrl, certificate, certResponse, finalized } = await issue(c, names);
  assert.equal(order.status, 'valid');
  assert.ok(finalized.headers['replay-nonce']);
  assert.equal(certResponse.status, 200);
  assert.equal(certResponse.headers['content-type'], 'application/pem-certificate-chain');
  assert.ok(certResponse.headers['replay-nonce'], 'a certificate download carries a Replay-Nonce');
  const blocks = certificate.match(/-----BEGIN CERTIFICATE-----/g);
  assert.ok(blocks.length >= 2, 'leaf and intermediate');
  // The chain verifies to the CA serve printed, with both names in the SAN.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acme-chain-'));
  const parts = certificate.split(/(?=-----BEGIN CERTIFICATE-----)/);
  fs.writeFileSync(path.join(dir, 'leaf.pem'), parts[0]);
  fs.writeFileSync(path.join(dir, 'chain.pem'), parts.slice(1).join(''));
  execFileSync('openssl', ['verify', '-CAfile', server.caFile, '-untrusted', path.join(dir, 'chain.pem'),
    path.join(dir, 'leaf.pem')], { stdio: 'pipe' });
  const text = execFileSync('openssl', ['x509', '-in', path.join(dir, 'leaf.pem'), '-noout', '-text'], { encoding: 'utf8' });
  for (const n of names) assert.ok(text.includes(`DNS:${n}`), n);
  const afterState = await packageState();
  assert.deepEqual(afterState, { ...before, used: before.used + 1, issued: before.issued + 1 });
  // The order is a certplan order: CAS sees it, issued, with a CertId.
  const orderId = Number(orderUrl.split('/').pop());
  const cas = casClient(server);
  const state = await cas.describeCertificateState(new Cas.DescribeCertificateStateRequest({ orderId }));
  assert.equal(state.body.type, 'certificate');
  const list = await cas.listUserCertificateOrder(new Cas.ListUserCertificateOrderRequest({ orderType: 'CPACK', keyword: 'acme-e2e' }));
  assert.ok(list.body.certificateOrderList.some((o) => String(o.orderId) === String(orderId)));
  // revokeCert by the account key follows CancelCertificateForPackageRequest: the unit comes back.
  const der = b64u(Buffer.from(parts[0].replace(/-----[^-]+-----|\s/g, ''), 'base64'));
  const revoked = await c.post(c.dir.revokeCert, { certificate: der });
  assert.equal(revoked.status, 200, revoked.body);
  assert.ok(revoked.headers['replay-nonce']);
  assert.deepEqual(await packageState(), before);
  const again = await c.post(c.dir.revokeCert, { certificate: der });
  assertProblem(again, 'alreadyRevoked', 400);
  // The audit trail holds the ACME account's steps on this order, each once, in order.
  const steps = auditRecords(server.dataDir, accountId).filter((r) => r.ObjectId === String(orderId));
  assert.deepEqual(steps.map((r) => [r.PrincipalType, r.Action, r.Result]), [
    ['acme', 'acme:newOrder', 'OK'], ['acme', 'acme:authorized', 'OK'], ['acme', 'acme:finalize', 'OK'],
    ['acme', 'acme:revokeCert', 'OK']]);
  for (const r of steps) {
    assert.match(r.Principal, /^acme-account-\d+$/);
    assert.ok(r.AccessKeyId, 'the EAB key id the account was bound with');
    assert.equal(r.SourceIp, '127.0.0.1');
  }
  const report = fsck(server.dataDir);
  assert.equal(report.status, 0, report.stdout + report.stderr);
});

test('revokeCert signed by the certificate\'s own key; a CSR whose CN is one of the names', async () => {
  const c = await boundClient();
  const before = await packageState();
  const name = 'certkey.acme-e2e.example.com';
  const { certificate, csrMade } = await issue(c, [name], { csrOptions: { cn: name.toUpperCase() } });
  assert.deepEqual(await packageState(), { ...before, used: before.used + 1, issued: before.issued + 1 });
  const leaf = certificate.split(/(?=-----BEGIN CERTIFICATE-----)/)[0];
  const der = b64u(Buffer.from(leaf.replace(/-----[^-]+-----|\s/g, ''), 'base64'));
  const privateKey = crypto.createPrivateKey(fs.readFileSync(csrMade.keyFile));
  const pub = crypto.createPublicKey(privateKey).export({ format: 'jwk' });
  const certKey = { privateKey, alg: 'ES256', jwk: { crv: pub.crv, kty: 'EC', x: pub.x, y: pub.y } };
  // Another key is refused; the certificate's key revokes, and the unit comes back.
  assertProblem(await c.post(c.dir.revokeCert, { certificate: der }, { jwk: true, key: newKey() }), 'unauthorized', 403);
  const revoked = await c.post(c.dir.revokeCert, { certificate: der, reason: 4 }, { jwk: true, key: certKey });
  assert.equal(revoked.status, 200, revoked.body);
  assert.deepEqual(await packageState(), before);
});

test('an order for names already pending is answered 201 with the same Location and never charged twice', async () => {
  const c = await boundClient();
  const before = await packageState();
  const names = ['dup.acme-e2e.example.com'];
  const first = await c.newOrder(names);
  assert.equal(first.status, 201, first.body);
  const second = await c.newOrder([...names].reverse().map((n) => n.toUpperCase()));
  assert.equal(second.status, 201, second.body);
  assert.equal(second.headers.location, first.headers.location);
  assert.deepEqual(await packageState(), { ...before, used: before.used + 1 });
});

test('wildcard product: *.example.com with its base name; dns-01 only for the wildcard', async () => {
  const before = await packageState(WILDCARD);
  const c = await boundClient([], accountId, WILDCARD);
  const created = await c.newOrder(['*.wild-e2e.example.com', 'wild-e2e.example.com']);
  assert.equal(created.status, 201, created.body);
  const authz = await c.post(created.json.authorizations[0], '');
  assert.equal(authz.json.wildcard, true);
  assert.equal(authz.json.identifier.value, 'wild-e2e.example.com');
  assert.deepEqual(authz.json.challenges.map((x) => x.type), ['dns-01']);
  const challenge = await c.post(authz.json.challenges[0].url, {});
  assert.equal(challenge.status, 200);
  assert.match(challenge.headers.link, /;rel="up"/);
  assert.ok(challenge.headers.link.includes(created.json.authorizations[0]));
  assert.deepEqual(await packageState(WILDCARD), { ...before, used: before.used + 1 });
  // A single-name product refuses wildcards; nothing spent.
  const single = await boundClient();
  const s0 = await packageState();
  assertProblem(await single.newOrder(['*.wild-e2e.example.com']), 'rejectedIdentifier', 400);
  assertProblem(await single.newOrder(['a.x.example.com', 'b.x.example.com', 'c.x.example.com',
    'd.x.example.com', 'e.x.example.com', 'f.x.example.com']), 'rejectedIdentifier', 400);
  assert.deepEqual(await packageState(), s0);
});

test('refusals: bad signature, wrong url, reused nonce, DER ES256, jwk and kid, wrong alg — nothing spent', async () => {
  const c = await boundClient();
  const before = await packageState();
  const order = { identifiers: [{ type: 'dns', value: 'refused.acme-e2e.example.com' }] };
  const badSig = await c.post(c.dir.newOrder, order, {
    tamper: (j) => { const s = Buffer.from(j.signature, 'base64url'); s[5] ^= 1; j.signature = b64u(s); },
  });
  assertProblem(badSig, 'malformed', 400);
  assert.match(badSig.json.detail, /signature/);
  const wrongUrl = await c.post(c.dir.newOrder, order, { url: c.dir.newAccount });
  assertProblem(wrongUrl, 'unauthorized', 403);
  const nonce = await c.nonce();
  const first = await c.post(c.dir.newOrder, { identifiers: [{ type: 'dns', value: 'nonce.acme-e2e.example.com' }] }, { nonce });
  assert.equal(first.status, 201, first.body);
  const before2 = await packageState();
  const replay = await c.post(c.dir.newOrder, { identifiers: [{ type: 'dns', value: 'nonce2.acme-e2e.example.com' }] }, { nonce });
  assertProblem(replay, 'badNonce', 400);
  const forged = await c.post(c.dir.newOrder, order, { nonce: b64u(Buffer.alloc(32, 7)) });
  assertProblem(forged, 'badNonce', 400);
  const noNonce = await c.post(c.dir.newOrder, order, { noNonce: true });
  assertProblem(noNonce, 'badNonce', 400);
  const der = await c.post(c.dir.newOrder, order, { der: true });
  assertProblem(der, 'malformed', 400);
  const both = await c.post(c.dir.newOrder, order, { both: true });
  assertProblem(both, 'malformed', 400);
  const jwkInstead = await c.post(c.dir.newOrder, order, { jwk: true });
  assertProblem(jwkInstead, 'malformed', 400);
  const none = await c.post(c.dir.newOrder, order, { alg: 'none' });
  assertProblem(none, 'badSignatureAlgorithm', 400);
  assert.ok(Array.isArray(none.json.algorithms));
  const mismatch = await c.post(c.dir.newOrder, order, { alg: 'RS256' });
  assertProblem(mismatch, 'badSignatureAlgorithm', 400);
  assert.deepEqual(await packageState(), before2);
  assert.deepEqual(before2, { ...before, used: before.used + 1 });
});

test('refusals at newAccount: no EAB, bad EAB MAC, EAB for another key, revoked and used single-use keys, weak RSA', async () => {
  const c = await client();
  assertProblem(await c.newAccount(null), 'externalAccountRequired', 400);
  const key = await eab();
  const other = await eab();
  // The MAC of another key under this key id.
  const forged = await c.post(c.dir.newAccount, {
    termsOfServiceAgreed: true,
    externalAccountBinding: eabJws(c.key.jwk, key.KeyId, other.HmacKey, c.dir.newAccount),
  }, { jwk: true });
  assertProblem(forged, 'unauthorized', 403);
  // An EAB binding someone else's key.
  const stranger = newKey();
  const bindsOther = await c.post(c.dir.newAccount, {
    externalAccountBinding: eabJws(stranger.jwk, key.KeyId, key.HmacKey, c.dir.newAccount),
  }, { jwk: true });
  assertProblem(bindsOther, 'unauthorized', 403);
  const unknown = await c.post(c.dir.newAccount, {
    externalAccountBinding: eabJws(c.key.jwk, 'eab-unknown', key.HmacKey, c.dir.newAccount),
  }, { jwk: true });
  assertProblem(unknown, 'unauthorized', 403);
  // Single use: one account, then refused.
  const once = await eab(['--single-use']);
  const a = await client();
  assert.equal((await a.newAccount(once)).status, 201);
  assert.equal((await a.newAccount(once)).status, 200, 'the same key gets its account back');
  const b = await client();
  assertProblem(await b.newAccount(once), 'unauthorized', 403);
  // Revoked: no new account, and no new order for accounts it bound.
  const revocable = await eab();
  const bound = await client();
  assert.equal((await bound.newAccount(revocable)).status, 201);
  const r = await server.admin('acme', 'eab', 'revoke', revocable.KeyId);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.json, { KeyId: revocable.KeyId, Revoked: true });
  const before = await packageState();
  assertProblem(await bound.newOrder(['revoked.acme-e2e.example.com']), 'unauthorized', 403);
  assertProblem(await (await client()).newAccount(revocable), 'unauthorized', 403);
  assert.deepEqual(await packageState(), before);
  const weak = await client(newKey('rsa1024'));
  assertProblem(await weak.newAccount(await eab()), 'badPublicKey', 400);
  // onlyReturnExisting for an unknown key.
  assertProblem(await (await client()).newAccount(null, { onlyReturnExisting: true }), 'accountDoesNotExist', 400);
});

test('EAB names, another account\'s order, exhausted plan: each refused with nothing spent', async () => {
  const limited = await boundClient(['--names', '*.allowed.example.com,host.allowed.example.com']);
  const before = await packageState();
  assertProblem(await limited.newOrder(['other.example.com']), 'rejectedIdentifier', 400);
  assertProblem(await limited.newOrder(['a.b.allowed.example.com']), 'rejectedIdentifier', 400);
  assert.deepEqual(await packageState(), before);
  const ok = await limited.newOrder(['x.allowed.example.com']);
  assert.equal(ok.status, 201, ok.body);
  // Another ACME account (even of the same certplan account) cannot read or finalize it.
  const stranger = await boundClient();
  assertProblem(await stranger.post(ok.headers.location, ''), 'unauthorized', 404);
  assertProblem(await stranger.post(ok.json.finalize, { csr: csr(['x.allowed.example.com']).der }), 'unauthorized', 404);
  // A fresh account with a plan of 1: the second order is refused naming the plan.
  const created = await server.admin('account', 'create', '--name', `acme-quota-${Date.now()}`);
  assert.equal(created.code, 0, created.stderr);
  const other = created.json;
  const grant = await server.admin('plan', 'grant', '--account', String(other.AccountId), '--product', PRODUCT, '--count', '1');
  assert.equal(grant.code, 0, grant.stderr);
  const q = await boundClient([], other.AccountId);
  await issue(q, ['one.quota-e2e.example.com']);
  const full = await packageState(PRODUCT, other);
  assert.deepEqual(full, { total: 1, used: 1, issued: 1 });
  const refused = await q.newOrder(['two.quota-e2e.example.com']);
  assertProblem(refused, 'unauthorized', 403);
  assert.ok(refused.json.detail.includes(PRODUCT), refused.json.detail);
  assert.match(refused.json.detail, /TotalCount=1, UsedCount=1, IssuedCount=1/);
  assert.deepEqual(await packageState(PRODUCT, other), full);
  // An account without any plan of the product.
  const none = await boundClient([], other.AccountId, WILDCARD);
  assertProblem(await none.newOrder(['*.none-e2e.example.com']), 'unauthorized', 403);
  // Each refused newOrder is one audit record with the problem type; nothing else was written
  // for them (the account's trail: its creation, the grant, the one order's steps, two refusals).
  const trail = auditRecords(server.dataDir, other.AccountId);
  assert.deepEqual(trail.map((r) => [r.Action, r.Result]), [
    ['admin account create', 'OK'], ['admin plan grant', 'OK'],
    ['acme:newOrder', 'OK'], ['acme:authorized', 'OK'], ['acme:finalize', 'OK'],
    ['acme:newOrder', 'unauthorized'], ['acme:newOrder', 'unauthorized']]);
  // eab list shows what each bound account spent.
  const list = await server.admin('acme', 'eab', 'list', '--account', String(other.AccountId));
  const spent = list.json.find((k) => k.ProductCode === PRODUCT);
  assert.equal(spent.UnitsHeld, 1);
  assert.equal(spent.Issued, 1);
});

test('finalize refusals: not ready, CSR names differ; account update, deactivation and keyChange', async () => {
  const c = await boundClient();
  const created = await c.newOrder(['final.acme-e2e.example.com']);
  assert.equal(created.status, 201);
  assertProblem(await c.post(created.json.finalize, { csr: csr(['final.acme-e2e.example.com']).der }), 'orderNotReady', 403);
  const authz = await c.post(created.json.authorizations[0], '');
  await c.post(authz.json.challenges.find((x) => x.type === 'http-01').url, {});
  assertProblem(await c.post(created.json.finalize, { csr: csr(['other.acme-e2e.example.com']).der }), 'badCSR', 400);
  assert.equal((await c.post(created.headers.location, '')).json.status, 'ready', 'a refused CSR leaves the order ready');
  // Contact update.
  const updated = await c.post(c.kid, { contact: ['mailto:new@example.com'] });
  assert.equal(updated.status, 200);
  assert.deepEqual(updated.json.contact, ['mailto:new@example.com']);
  assertProblem(await c.post(c.kid, { contact: ['tel:+123'] }), 'unsupportedContact', 400);
  // keyChange to an RSA key; the old key no longer works.
  const next = newKey('rsa');
  const inner = require('./lib/acme').jws(next, { jwk: next.jwk, url: c.dir.keyChange },
    { account: c.kid, oldKey: c.key.jwk });
  const changed = await c.post(c.dir.keyChange, JSON.stringify(inner));
  assert.equal(changed.status, 200, changed.body);
  const old = c.key;
  c.key = next;
  assert.equal((await c.post(c.kid, '')).status, 200);
  c.key = old;
  assertProblem(await c.post(c.kid, ''), 'badSignatureAlgorithm', 400);
  c.key = next;
  // Deactivation: later requests are unauthorized.
  assert.equal((await c.post(c.kid, { status: 'deactivated' })).json.status, 'deactivated');
  assertProblem(await c.newOrder(['late.acme-e2e.example.com']), 'unauthorized', 403);
});

test('staging directory: same EAB keys, a certificate from its own untrusted issuer, no unit spent', async () => {
  const key = await eab();
  const before = await packageState();
  const staging = new AcmeClient(`https://${server.tlsEndpoint}/acme/staging/directory`, ca);
  await staging.directory();
  assert.equal(staging.dir.meta.externalAccountRequired, true);
  assert.ok(staging.dir.newOrder.includes('/acme/staging/'));
  assert.equal((await staging.newAccount(key)).status, 201);
  const { order, orderUrl, certificate } = await issue(staging, ['dry-run.acme-e2e.example.com']);
  assert.equal(order.status, 'valid');
  assert.ok(orderUrl.includes('/acme/staging/order/'));
  assert.deepEqual(await packageState(), before);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acme-staging-'));
  const parts = certificate.split(/(?=-----BEGIN CERTIFICATE-----)/);
  fs.writeFileSync(path.join(dir, 'leaf.pem'), parts[0]);
  fs.writeFileSync(path.join(dir, 'chain.pem'), parts.slice(1).join(''));
  const verify = require('node:child_process').spawnSync('openssl', ['verify', '-CAfile', server.caFile,
    '-untrusted', path.join(dir, 'chain.pem'), path.join(dir, 'leaf.pem')], { encoding: 'utf8' });
  assert.notEqual(verify.status, 0, 'a staging certificate does not chain to the production root');
  const list = await casClient(server).listUserCertificateOrder(new Cas.ListUserCertificateOrderRequest({ keyword: 'dry-run' }));
  assert.equal((list.body.certificateOrderList || []).length, 0);
  // The production account of the same key is the same account, and spends there as usual.
  const prod = await client(staging.key);
  const again = await prod.newAccount(null, { onlyReturnExisting: true });
  assert.equal(again.status, 200, again.body);
});
