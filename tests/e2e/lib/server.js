'use strict';
// Starts the real certplan binary for a test: a fresh data directory, a free loopback port,
// `serve --dev`; resolves once it logs "listening on HOST:PORT" (and, when HTTPS was asked
// for — `tls: true`, a --listen-tls argument or listen_tls in the config — also
// "listening (tls) on HOST:PORT").
const { spawn, execFile, execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const BIN = process.env.CERTPLAN_BIN || path.resolve(__dirname, '../../../build/src/cli/certplan');

// CERTPLAN_E2E_PG_URL: an admin URL of a PostgreSQL server (the scaling tests need it always).
// CERTPLAN_E2E_STORE=postgres: every data directory gets a database of its own there and the
// whole suite runs on the PostgreSQL backend; otherwise on SQLite.
const PG_ADMIN_URL = process.env.CERTPLAN_E2E_PG_URL || '';
const USE_PG = process.env.CERTPLAN_E2E_STORE === 'postgres';
let dbSeq = 0;

// The store URL of a data directory: '' for SQLite; on PostgreSQL created on first use.
function storeUrlOf(dataDir) {
  const file = path.join(dataDir, 'store-url');
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8');
  if (!USE_PG) return '';
  return newDatabase(dataDir);
}

// A fresh PostgreSQL database for `dataDir` (remembered in DATA_DIR/store-url).
function newDatabase(dataDir) {
  if (!PG_ADMIN_URL) throw new Error('CERTPLAN_E2E_PG_URL is not set: PostgreSQL tests cannot run');
  const file = path.join(dataDir, 'store-url');
  const db = `certplan_e2e_${process.pid}_${++dbSeq}_${Date.now() % 100000}`;
  execFileSync('psql', ['-q', PG_ADMIN_URL, '-c', `CREATE DATABASE ${db}`]);
  const url = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${db}`);
  fs.writeFileSync(file, url);
  return url;
}

// Runs SQL against a data directory's store (sqlite3 or psql); returns stdout.
function sql(dataDir, statement) {
  const url = storeUrlOf(dataDir);
  if (url) return execFileSync('psql', ['-qtA', url, '-c', statement], { encoding: 'utf8' });
  return execFileSync('sqlite3', [path.join(dataDir, 'certplan.db'), statement], { encoding: 'utf8' });
}

// `certplan audit ARGS…` on a data directory: spawnSync's {status, stdout, stderr}.
function audit(dataDir, ...args) {
  return spawnSync(BIN, ['audit', '--data-dir', dataDir, ...args], { encoding: 'utf8', env: storeEnv(dataDir) });
}

// Every audit record of an account, oldest first (the JSON lines of `certplan audit`).
function auditRecords(dataDir, accountId) {
  const r = audit(dataDir, '--account', String(accountId), '--since', '0');
  if (r.status !== 0) throw new Error(`certplan audit exited ${r.status}: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

// `certplan fsck` on a data directory: {status, report}.
function fsck(dataDir) {
  const r = spawnSync(BIN, ['fsck', '--data-dir', dataDir], { encoding: 'utf8', env: storeEnv(dataDir) });
  let report = null;
  try { report = JSON.parse(r.stdout); } catch (_) { /* printed an error instead */ }
  return { status: r.status, report, stdout: r.stdout, stderr: r.stderr };
}

function storeEnv(dataDir, env = {}) {
  const url = storeUrlOf(dataDir);
  return { ...process.env, ...env, ...(url ? { CERTPLAN_STORE_URL: url } : {}) };
}

function startServer({ config, dataDir, extraArgs = [], env = {}, dev = true, tls = false } = {}) {
  dataDir = dataDir || fs.mkdtempSync(path.join(os.tmpdir(), 'certplan-e2e-'));
  const args = ['serve', ...(dev ? ['--dev'] : []), '--listen', '127.0.0.1:0', '--data-dir', dataDir,
    ...(tls ? ['--listen-tls', '127.0.0.1:0'] : []), ...extraArgs];
  const wantTls = tls || extraArgs.includes('--listen-tls') || /^\s*listen_tls\s*=/m.test(config || '');
  if (config) {
    const file = path.join(dataDir, 'test-config.toml');
    fs.writeFileSync(file, config);
    args.push('--config', file);
  }
  const child = spawn(BIN, args, { env: storeEnv(dataDir, env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`certplan did not start within 15 s (${dev ? 'waiting for the demo account and ' : ''}the "listening on" line${wantTls ? ' and the "listening (tls) on" line' : ''}):\n${stderr}`));
    }, 15000);
    let started = false;
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!started) reject(new Error(`certplan exited with ${code} before listening:\n${stderr}`));
    });
    // Ready when stderr has the "listening on" line and, with --dev, stdout has the demo account:
    // the two pipes are read independently, so either may arrive first.
    const check = () => {
      if (started) return;
      const m = /listening on ([0-9.]+):(\d+)/.exec(stderr);
      if (!m) return;
      let tlsLine = null;
      if (wantTls) {
        tlsLine = stderr.split('\n').find((l) => l.includes('"listening (tls) on '));
        if (!tlsLine) return;
      }
      if (dev && !stdout.includes('\n')) return;
      started = true;
      clearTimeout(timer);
      let demo = null;
      if (dev) {
        try {
          demo = JSON.parse(stdout.split('\n')[0]);
        } catch (e) {
          reject(new Error(`certplan printed no demo account (${e.message}):\n${stdout}\n${stderr}`));
          return;
        }
      }
      const port = Number(m[2]);
      const extra = {};
      if (tlsLine) {
        const line = JSON.parse(tlsLine);
        const t = /listening \(tls\) on ([0-9.]+):(\d+)/.exec(line.msg);
        extra.tlsPort = Number(t[2]);
        extra.tlsEndpoint = `${t[1]}:${t[2]}`;
        extra.caFile = line.ca_file || null;
      }
      resolve({
        child, dataDir, demo, port, host: m[1],
        endpoint: `${m[1]}:${port}`,
        ...extra,
        logs: () => stderr,
        stdout: () => stdout,
        admin: (...a) => admin(dataDir, ...a),
        stop: (signal = 'SIGTERM') => stopChild(child, signal),
      });
    };
    child.stdout.on('data', (d) => { stdout += d; check(); });
    child.stderr.on('data', (d) => { stderr += d; check(); });
  });
}

function stopChild(child, signal) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve({ code: child.exitCode, signal: child.signalCode });
    child.once('exit', (code, sig) => resolve({ code, signal: sig }));
    child.kill(signal);
  });
}

// `certplan init --data-dir DIR`: creates a data directory (admin and fsck only open one).
function init(dataDir) {
  return spawnSync(BIN, ['init', '--data-dir', dataDir], { encoding: 'utf8', env: storeEnv(dataDir) });
}

// Runs `certplan admin --data-dir DIR ARGS…`; resolves {code, json, stdout, stderr}.
function admin(dataDir, ...args) {
  return new Promise((resolve) => {
    execFile(BIN, ['admin', '--data-dir', dataDir, ...args], { env: storeEnv(dataDir) }, (err, stdout, stderr) => {
      let json = null;
      try { json = JSON.parse(stdout); } catch (_) { /* not JSON: left null */ }
      resolve({ code: err ? err.code : 0, json, stdout, stderr });
    });
  });
}

module.exports = { startServer, admin, init, fsck, audit, auditRecords, sql, storeUrlOf, newDatabase, BIN, PG_ADMIN_URL };
