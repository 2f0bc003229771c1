'use strict';
// Issue #12, faults 4, 5, 6 and 8 on the wire: one key cannot throttle another account, paging
// never wraps, names longer than X.509's 64-character subject bounds are issued, and CSRs
// signed with MD5 or SHA-1 are refused at application with nothing spent.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, fsck, newDatabase } = require('./lib/server');
const { Cas, popClient, send, signV3, isoNow } = require('./lib/clients');
const { newAccount, counters, waitForType, expectCode } = require('./lib/orders');
const { derCsr, opensslVerifiesCsr, opensslVerify, leafOf, leafText } = require('./lib/pki');

let server;
before(async () => { server = await startServer(); });  // --dev: validation.mode = auto
after(async () => {
  await server.stop();
  const check = fsck(server.dataDir);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.equal(check.report.Clean, true);
});

const root = () => fs.readFileSync(path.join(server.dataDir, 'ca', 'root.pem'), 'utf8');
// A valid host name of exactly `length` characters (labels of at most 63).
function longName(length, suffix = '.example.com') {
  let name = '';
  while (length - name.length - suffix.length > 64) name += `${'a'.repeat(63)}.`;
  return name + 'b'.repeat(length - name.length - suffix.length) + suffix;
}
const contacts = { email: 'ops@example.com', phone: '13900000000', username: 'Ops', validateType: 'DNS' };

// --- fault 5: paging ---------------------------------------------------------------------------

async function list(key, params) {
  return popClient(server, key).request('ListUserCertificateOrder', params, { method: 'POST' });
}

test('ListUserCertificateOrder: a CurrentPage past the end is an empty page, never a wrap', async () => {
  const a = await newAccount(server, { 'geotrust-dv-1-starter': 5 });
  for (let i = 0; i < 3; i++) {
    await a.client.createCertificateForPackageRequest(new Cas.CreateCertificateForPackageRequestRequest({
      productCode: 'geotrust-dv-1-starter', domain: `page${i}.example.com` }));
  }
  const first = await list(a.key, { CurrentPage: '1', ShowSize: '4' });
  assert.equal(first.CertificateOrderList.length, 3);
  // The inputs, as exact decimal text (both exceed JavaScript's safe integers).
  for (const [page, size] of [['184467440737095517', '100'], ['4611686018427387905', '4'],
    ['9223372036854775807', '1000'], ['2', '4']]) {
    const r = await list(a.key, { CurrentPage: page, ShowSize: size });
    assert.deepEqual(r.CertificateOrderList, [], `CurrentPage=${page} ShowSize=${size}`);
    assert.equal(r.TotalCount, 3);
    assert.equal(String(r.CurrentPage), page, 'echoed exactly (pop-core reads big integers exactly)');
  }
  for (const page of ['0', '-1', '9223372036854775808', 'x']) {
    await expectCode(list(a.key, { CurrentPage: page }), 'InvalidParameter');
  }
});

test('ListUserCertificateOrder: ShowSize 1…1000 (500 is what a published client sends)', async () => {
  const a = await newAccount(server, { 'geotrust-dv-1-starter': 2 });
  await a.client.createCertificateForPackageRequest(new Cas.CreateCertificateForPackageRequestRequest({
    productCode: 'geotrust-dv-1-starter', domain: 'size.example.com' }));
  for (const size of [1, 500, 1000]) {
    const r = await a.client.listUserCertificateOrder(new Cas.ListUserCertificateOrderRequest({ showSize: size }));
    assert.equal(r.body.showSize, size);
    assert.equal(r.body.certificateOrderList.length, 1);
  }
  for (const size of [0, 1001]) {
    await expectCode(a.client.listUserCertificateOrder(new Cas.ListUserCertificateOrderRequest({ showSize: size })),
      'InvalidParameter', 400);
  }
});

// --- fault 6: names over 64 characters --------------------------------------------------------

test('a 249-character Domain is issued: the long name in the SAN only, no CN', async () => {
  const a = await newAccount(server, { 'geotrust-dv-1-starter': 1 });
  const name = longName(249);
  assert.equal(name.length, 249);
  const r = await a.client.createCertificateForPackageRequest(new Cas.CreateCertificateForPackageRequestRequest({
    productCode: 'geotrust-dv-1-starter', domain: name }));
  const done = await waitForType(a.client, r.body.orderId, 'certificate');
  assert.match(opensslVerify(root(), done.certificate), /: OK/);
  const leaf = leafOf(done.certificate);
  assert.equal(leaf.subjectAltName, `DNS:${name}`);
  assert.doesNotMatch(leaf.subject || '', /CN=/);
  assert.match(leafText(done.certificate), /X509v3 Subject Alternative Name: critical/);
  assert.equal(leaf.checkHost(name), name);
  assert.deepEqual(await counters(a.client, 'geotrust-dv-1-starter'), { total: 1, used: 1, issued: 1 });
});

test('a CSR whose CN has 75 characters is issued: CN absent, the name in the SAN', async () => {
  const a = await newAccount(server, { 'geotrust-dv-1-starter': 1 });
  const cn = longName(75);
  const r = await a.client.createCertificateWithCsrRequest(new Cas.CreateCertificateWithCsrRequestRequest({
    ...contacts, productCode: 'geotrust-dv-1-starter', csr: derCsr({ cn }) }));
  const done = await waitForType(a.client, r.body.orderId, 'certificate');
  assert.match(opensslVerify(root(), done.certificate), /: OK/);
  const leaf = leafOf(done.certificate);
  assert.equal(leaf.subjectAltName, `DNS:${cn}`);
  assert.doesNotMatch(leaf.subject || '', /CN=/);
  const listed = await a.client.listUserCertificateOrder(new Cas.ListUserCertificateOrderRequest({ orderType: 'CERT' }));
  assert.equal(listed.body.certificateOrderList[0].commonName, '', 'CommonName is the certificate CN');
  assert.equal(listed.body.certificateOrderList[0].sans, cn);
});

test('an OV order with a 300-character CompanyName is issued with O cut to 64 characters', async () => {
  const a = await newAccount(server, { 'symantec-ov-1-personal': 1 });
  const company = `${'C'.repeat(62)}ÄÖ${'x'.repeat(236)}`;
  assert.equal([...company].length, 300);
  const r = await a.client.createCertificateForPackageRequest(new Cas.CreateCertificateForPackageRequestRequest({
    productCode: 'symantec-ov-1-personal', domain: 'ov-long.example.com', companyName: company }));
  const done = await waitForType(a.client, r.body.orderId, 'certificate');
  const leaf = leafOf(done.certificate);
  assert.match(leaf.subject, new RegExp(`^O=${'C'.repeat(62)}ÄÖ$`, 'm'));
  assert.match(leaf.subject, /^CN=ov-long\.example\.com$/m);
});

test('a CSR without CN is still refused at application, nothing spent', async () => {
  const a = await newAccount(server, { 'geotrust-dv-1-starter': 1 });
  const { makeCsr } = require('./lib/pki');
  await expectCode(a.client.createCertificateWithCsrRequest(new Cas.CreateCertificateWithCsrRequestRequest({
    ...contacts, productCode: 'geotrust-dv-1-starter', csr: makeCsr({}).csr })), 'CreateCertificateRequestFailed', 403);
  assert.deepEqual(await counters(a.client, 'geotrust-dv-1-starter'), { total: 1, used: 0, issued: 0 });
});

// --- fault 8: weak CSR signatures --------------------------------------------------------------

test('CSRs signed with MD5 or SHA-1 are refused with CreateCertificateRequestFailed, nothing spent', async () => {
  const a = await newAccount(server, { 'geotrust-dv-1-starter': 2 });
  for (const [key, digest, named] of [['rsa', 'md5', 'MD5'], ['rsa', 'sha1', 'SHA1'], ['ec', 'sha1', 'SHA1']]) {
    const csr = derCsr({ cn: `weak-${digest}.example.com`, key, digest });
    assert.ok(opensslVerifiesCsr(csr), `the ${key}/${digest} request is well signed`);
    for (const call of [
      () => a.client.createCertificateWithCsrRequest(new Cas.CreateCertificateWithCsrRequestRequest({
        ...contacts, productCode: 'geotrust-dv-1-starter', csr })),
      () => a.client.createCertificateForPackageRequest(new Cas.CreateCertificateForPackageRequestRequest({
        productCode: 'geotrust-dv-1-starter', csr })),
    ]) {
      await assert.rejects(call(), (e) => {
        assert.equal(e.code, 'CreateCertificateRequestFailed', e.message);
        assert.match(e.message, new RegExp(`signed with ${named}, a weak digest`));
        return true;
      });
    }
  }
  assert.deepEqual(await counters(a.client, 'geotrust-dv-1-starter'), { total: 2, used: 0, issued: 0 });
  // The same request over SHA-256 is accepted.
  const ok = await a.client.createCertificateWithCsrRequest(new Cas.CreateCertificateWithCsrRequestRequest({
    ...contacts, productCode: 'geotrust-dv-1-starter', csr: derCsr({ cn: 'strong.example.com', key: 'rsa' }) }));
  await waitForType(a.client, ok.body.orderId, 'certificate');
});

// --- fault 4: replay shares --------------------------------------------------------------------

// The in-memory guard (and its shares) is SQLite's: a data directory whose store URL is empty
// stays on SQLite in either pass of the suite.
function sqliteDataDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certplan-e2e-'));
  fs.writeFileSync(path.join(dir, 'store-url'), '');
  return dir;
}
// A data directory on a fresh PostgreSQL database (CERTPLAN_E2E_PG_URL), in either pass.
function postgresDataDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certplan-e2e-'));
  newDatabase(dir);
  return dir;
}

async function ramUserWithoutPolicy(srv, owner) {
  const id = String(owner.id);
  assert.equal((await srv.admin('user', 'create', '--account', id, '--name', 'noperm')).code, 0);
  const made = await srv.admin('key', 'create', '--account', id, '--user', 'noperm');
  assert.equal(made.code, 0, made.stderr);
  return made.json;
}

test('a RAM user with no permissions fills only its own replay share', async () => {
  // The setting: replay_max_entries = 1000, now the size of each key's own share.
  const small = await startServer({ dataDir: sqliteDataDir(), config: '[auth]\nreplay_max_entries = 1000\n' });
  try {
    const victim = await newAccount(small, { 'geotrust-dv-1-starter': 1 });
    const owner = await newAccount(small, {});
    const noperm = await ramUserWithoutPolicy(small, owner);
    // One signed time for every request (well inside the window): nothing ages out meanwhile,
    // so the counts below are exact.
    const date = isoNow();
    const codes = {};
    const burst = Array.from({ length: 1800 }, () => signV3(small, { key: noperm, date }));
    for (let i = 0; i < burst.length; i += 20) {
      const answers = await Promise.all(burst.slice(i, i + 20).map((r) => send(small, r)));
      for (const a of answers) codes[a.json.Code] = (codes[a.json.Code] || 0) + 1;
    }
    assert.deepEqual(Object.keys(codes).sort(), ['Forbidden.RAM', 'Throttling.User'], JSON.stringify(codes));
    assert.deepEqual(codes, { 'Forbidden.RAM': 1000, 'Throttling.User': 800 });
    // Another account's next 50 requests, and the owner's own root key (scope: AccessKey), are
    // unaffected, signed at the same moment.
    for (let i = 0; i < 50; i++) {
      const r = await send(small, signV3(small, { key: victim.key, date }));
      assert.equal(r.status, 200, r.body);
    }
    assert.equal((await counters(victim.client, 'geotrust-dv-1-starter')).total, 1);
    assert.equal((await send(small, signV3(small, { key: owner.key, date }))).status, 200);
    // The key stays refused while its share is full.
    const refused = await send(small, signV3(small, { key: noperm, date }));
    assert.equal(refused.status, 400);
    assert.equal(refused.json.Code, 'Throttling.User');
  } finally {
    await small.stop();
  }
});

test('replay_scope = "account": an account\'s keys share one share, other accounts keep theirs', async () => {
  const small = await startServer({
    dataDir: sqliteDataDir(), config: '[auth]\nreplay_max_entries = 30\nreplay_scope = "account"\n' });
  try {
    const owner = await newAccount(small, {});
    const other = await newAccount(small, {});
    const noperm = await ramUserWithoutPolicy(small, owner);
    const date = isoNow();
    const codes = [];
    for (let i = 0; i < 40; i++) codes.push((await send(small, signV3(small, { key: noperm, date }))).json.Code);
    // 30 nonces for the whole account.
    assert.deepEqual(codes, [...Array(30).fill('Forbidden.RAM'), ...Array(10).fill('Throttling.User')]);
    // The owner's root key is in the same (full) share …
    const rootAnswer = await send(small, signV3(small, { key: owner.key, date }));
    assert.equal(rootAnswer.json && rootAnswer.json.Code, 'Throttling.User');
    // … another account is not.
    for (let i = 0; i < 5; i++) {
      assert.equal((await send(small, signV3(small, { key: other.key, date }))).status, 200);
    }
  } finally {
    await small.stop();
  }
});

test('auth.replay_scope must be access_key or account', async () => {
  await assert.rejects(startServer({ config: '[auth]\nreplay_scope = "global"\n' }), /replay_scope/);
});

test('on PostgreSQL the shared nonces table has no cap: a key without permissions throttles nobody', async () => {
  const pg = await startServer({ dataDir: postgresDataDir() });
  try {
    const victim = await newAccount(pg, {});
    const key = await ramUserWithoutPolicy(pg, await newAccount(pg, {}));
    const date = isoNow();
    const codes = {};
    const burst = Array.from({ length: 300 }, () => signV3(pg, { key, date }));
    for (let i = 0; i < burst.length; i += 20) {
      for (const a of await Promise.all(burst.slice(i, i + 20).map((r) => send(pg, r)))) {
        codes[a.json.Code] = (codes[a.json.Code] || 0) + 1;
      }
    }
    assert.deepEqual(codes, { 'Forbidden.RAM': 300 });
    for (let i = 0; i < 50; i++) assert.equal((await send(pg, signV3(pg, { key: victim.key, date }))).status, 200);
  } finally {
    await pg.stop();
  }
});
