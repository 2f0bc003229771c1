'use strict';
// Configuration that refuses typos, and data directories only `serve`/`init` create (issue 15,
// items 6 and 7): the real binary, its exit codes and its stderr.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, init, storeUrlOf, BIN } = require('./lib/server');

const ROOT = path.resolve(__dirname, '../..');

function tmp(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `certplan-config-${prefix}-`));
}

// Runs the binary to completion (none of these start a server): {status, stdout, stderr, lines}.
function run(args, env = {}) {
  const r = spawnSync(BIN, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30000 });
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, lines };
}

function writeConfig(dir, text) {
  const file = path.join(dir, 'certplan.toml');
  fs.writeFileSync(file, text);
  return file;
}

// Each typo of the issue, with where it is: [key, line, column, what the message must say].
const TYPOS = `[server]
listen = "127.0.0.1:0"
threds = 4
listen_tsl = "127.0.0.1:8443"
max_connections = 0

[validaton]
mode = "auto"

[limits]
body_bytes = "1 MiB"
`;
const EXPECTED = [
  ['server.threds', 3, 1, /unknown key; did you mean "server\.threads"\?/],
  ['server.listen_tsl', 4, 1, /unknown key; did you mean "server\.listen_tls"\?/],
  ['server.max_connections', 5, 19, /integer 1-1000000 is required/],
  ['[validaton]', 7, 2, /unknown section; did you mean "validation"\?/],
  ['limits.body_bytes', 11, 14, /integer 1024-67108864 is required; a string was given/],
];

function assertTypos(r, file) {
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.lines.length, EXPECTED.length, r.stderr);
  EXPECTED.forEach(([key, line, column, why], i) => {
    const got = r.lines[i];
    assert.equal(got.Code, 'InvalidParameter');
    assert.equal(got.Key, key);
    assert.equal(got.File, file);
    assert.equal(got.Line, line, key);
    assert.equal(got.Column, column, key);
    assert.match(got.Message, why);
    assert.ok(got.Message.startsWith(`${file}:${line}:${column}: ${key}: `), got.Message);
  });
}

test('serve refuses a file with typos, wrong types and bad ranges: exit 2, each key with its line and column, nothing created', () => {
  const dir = tmp('serve');
  const file = writeConfig(dir, TYPOS);
  const dataDir = path.join(dir, 'data');
  const r = run(['serve', '--dev', '--config', file, '--data-dir', dataDir]);
  assertTypos(r, file);
  assert.ok(!fs.existsSync(dataDir), 'a refused start creates no data directory');
  assert.doesNotMatch(r.stderr, /listening/);
});

test('config check: the same refusals without starting anything; exit 0 and an ok summary when good', () => {
  const dir = tmp('check');
  const bad = writeConfig(dir, TYPOS);
  assertTypos(run(['config', 'check', bad]), bad);

  const good = path.join(dir, 'good.toml');
  fs.writeFileSync(good, '[server]\nlisten = "127.0.0.1:9099"\nthreads = 2\n[validation]\nmode = "auto"\n');
  const ok = run(['config', 'check', good]);
  assert.equal(ok.status, 0, ok.stderr);
  const summary = JSON.parse(ok.stdout);
  assert.equal(summary.Ok, true);
  assert.equal(summary.File, good);
  assert.equal(summary.KeysSet, 3);
  assert.equal(summary.Listen, '127.0.0.1:9099');
  assert.equal(summary.Validation, 'auto');
  assert.equal(summary.Store, 'sqlite');

  // Keys that only work together are checked as serve checks them.
  const half = path.join(dir, 'half.toml');
  fs.writeFileSync(half, '[server]\ntls_cert = "/etc/certplan/tls.crt"\n');
  const refused = run(['config', 'check', half]);
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /server\.tls_key/);

  const missing = run(['config', 'check', path.join(dir, 'nope.toml')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /nope\.toml: cannot be read/);

  const syntax = path.join(dir, 'syntax.toml');
  fs.writeFileSync(syntax, '[server]\nthreads = = 4\n');
  const broken = run(['config', 'check', syntax]);
  assert.equal(broken.status, 2);
  assert.equal(broken.lines[0].Line, 2);
  assert.match(broken.lines[0].Message, /not valid TOML/);
});

test("config check accepts README's example and the deployment's file", () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const example = /An example with every section[^\n]*\n\n```toml\n([\s\S]*?)```/.exec(readme);
  assert.ok(example, 'README has the example configuration');
  const file = writeConfig(tmp('readme'), example[1]);
  const r = run(['config', 'check', file]);
  assert.equal(r.status, 0, r.stderr);
  // Every key the example sets is read: its plain `key = value` lines, and each table of
  // free-form names ([validation.addresses], [rate_limits.actions]) as one key.
  const freeForm = new Set(['[validation.addresses]', '[rate_limits.actions]']);
  let expected = 0;
  let inFreeForm = false;
  for (const l of example[1].split('\n')) {
    if (/^\[/.test(l.trim())) {
      inFreeForm = freeForm.has(l.trim().replace(/\s*#.*$/, ''));
      if (inFreeForm) expected += 1;
    } else if (!inFreeForm && /^[A-Za-z_]+\s*=/.test(l)) {
      expected += 1;
    }
  }
  assert.equal(JSON.parse(r.stdout).KeysSet, expected);
  const deploy = run(['config', 'check', path.join(ROOT, 'deploy/certplan.toml')]);
  assert.equal(deploy.status, 0, deploy.stderr);
});

test('environment variables get the same checks and are named', () => {
  const dataDir = path.join(tmp('env'), 'data');
  for (const [name, value, why] of [
    ['CERTPLAN_THREADS', 'four', /integer 0-256/],
    ['CERTPLAN_LISTEN', '127.0.0.1', /HOST:PORT/],
    ['CERTPLAN_LOG_LEVEL', 'loud', /"debug", "info", "warn" or "error"/],
    ['CERTPLAN_STORE_URL', 'mysql://db', /postgresql:\/\//],
  ]) {
    const r = run(['serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0'], { [name]: value });
    assert.equal(r.status, 2, `${name}: ${r.stderr}`);
    assert.equal(r.lines[0].Key, name);
    assert.match(r.lines[0].Message, new RegExp(`^environment: ${name}: `));
    assert.match(r.lines[0].Message, why);
  }
  assert.ok(!fs.existsSync(dataDir));
});

test('admin and fsck read --config with the same strictness', () => {
  const dir = tmp('admin');
  const file = writeConfig(dir, '[server]\ndata_dir = "x"\n[stroe]\nurl = ""\n');
  for (const args of [['admin', '--config', file, 'plan', 'list', '--account', '1'], ['fsck', '--config', file]]) {
    const r = run(args);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.lines[0].Key, '[stroe]');
    assert.equal(r.lines[0].Line, 3);
    assert.match(r.lines[0].Message, /did you mean "store"\?/);
  }
  assert.ok(!fs.existsSync(path.join(dir, 'x')));
});

test('admin and fsck refuse a missing data directory by name and create nothing', () => {
  const parent = tmp('missing');
  const missing = path.join(parent, 'nonexistent');
  // A store URL nothing listens on: the refusal must come before any store is opened.
  const pg = { CERTPLAN_STORE_URL: 'postgresql://certplan@127.0.0.1:1/never' };
  for (const [args, env] of [
    [['admin', '--data-dir', missing, 'plan', 'list', '--account', '1'], {}],
    [['admin', '--data-dir', missing, 'account', 'create', '--name', 'typo'], {}],
    [['fsck', '--data-dir', missing], {}],
    [['admin', '--data-dir', missing, 'plan', 'list', '--account', '1'], pg],
    [['fsck', '--data-dir', missing], pg],
  ]) {
    const r = run(args, env);
    assert.notEqual(r.status, 0, args.join(' '));
    assert.equal(r.lines[0].Code, 'InvalidParameter');
    assert.ok(r.lines[0].Message.includes(`"${missing}" does not exist`), r.stderr);
    assert.match(r.lines[0].Message, /certplan init --data-dir/);
    assert.equal(r.stdout, '');
    assert.ok(!fs.existsSync(missing), `${args.join(' ')} created ${missing}`);
  }
  assert.deepEqual(fs.readdirSync(parent), []);

  // An existing directory that certplan never initialized is refused too, and left empty.
  const empty = tmp('empty');
  const r = run(['admin', '--data-dir', empty, 'account', 'create', '--name', 'x']);
  assert.notEqual(r.status, 0);
  assert.match(r.lines[0].Message, /is not a certplan data directory \(it has no master\.key\)/);
  assert.deepEqual(fs.readdirSync(empty), []);
});

test('init creates a data directory once; then admin works and plan list names an unknown account', () => {
  const dataDir = path.join(tmp('init'), 'data');
  const url = storeUrlOf(path.dirname(dataDir));  // PostgreSQL runs: a database of its own
  const env = url ? { CERTPLAN_STORE_URL: url } : {};
  const first = run(['init', '--data-dir', dataDir], env);
  assert.equal(first.status, 0, first.stderr);
  const made = JSON.parse(first.stdout);
  assert.equal(made.DataDir, dataDir);
  assert.equal(made.Created, true);
  assert.equal(made.Store, url ? 'postgresql' : 'sqlite');
  assert.ok(fs.existsSync(made.RootCertificate));
  assert.equal(fs.statSync(dataDir).mode & 0o777, 0o700);
  const again = run(['init', '--data-dir', dataDir], env);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(JSON.parse(again.stdout).Created, false);

  const unknown = run(['admin', '--data-dir', dataDir, 'plan', 'list', '--account', '1'], env);
  assert.equal(unknown.status, 1);
  assert.match(unknown.lines[0].Message, /AccountId.*no such account/);
  const created = run(['admin', '--data-dir', dataDir, 'account', 'create', '--name', 'ops'], env);
  assert.equal(created.status, 0, created.stderr);
  const id = String(JSON.parse(created.stdout).AccountId);
  const listed = run(['admin', '--data-dir', dataDir, 'plan', 'list', '--account', id], env);
  assert.equal(listed.status, 0, listed.stderr);
  assert.deepEqual(JSON.parse(listed.stdout), []);

  // --config supplies the data directory (and the store) to admin as to serve.
  const file = writeConfig(path.dirname(dataDir), `[server]\ndata_dir = "${dataDir}"\n`);
  const viaConfig = run(['admin', '--config', file, 'plan', 'list', '--account', id], env);
  assert.equal(viaConfig.status, 0, viaConfig.stderr);
  assert.deepEqual(JSON.parse(viaConfig.stdout), []);
});

test('a data directory made by init is the one serve uses', async () => {
  const dataDir = tmp('init-serve');
  assert.equal(init(dataDir).status, 0);
  const root = fs.readFileSync(path.join(dataDir, 'ca', 'root.pem'), 'utf8');
  const s = await startServer({ dataDir });
  try {
    const plans = await s.admin('plan', 'list', '--account', String(s.demo.AccountId));
    assert.equal(plans.code, 0, plans.stderr);
    assert.equal(plans.json.length, 15);
    assert.equal(fs.readFileSync(path.join(dataDir, 'ca', 'root.pem'), 'utf8'), root, 'serve keeps the CA init made');
  } finally {
    await s.stop();
  }
});
