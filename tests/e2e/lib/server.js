'use strict';
// Starts the real certplan binary for a test: a fresh data directory, a free loopback port,
// `serve --dev`; resolves once it logs "listening on HOST:PORT".
const { spawn, execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const BIN = process.env.CERTPLAN_BIN || path.resolve(__dirname, '../../../build/src/cli/certplan');

function startServer({ config, dataDir, extraArgs = [], env = {} } = {}) {
  dataDir = dataDir || fs.mkdtempSync(path.join(os.tmpdir(), 'certplan-e2e-'));
  const args = ['serve', '--dev', '--listen', '127.0.0.1:0', '--data-dir', dataDir, ...extraArgs];
  if (config) {
    const file = path.join(dataDir, 'test-config.toml');
    fs.writeFileSync(file, config);
    args.push('--config', file);
  }
  const child = spawn(BIN, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('certplan did not start:\n' + stderr)), 15000);
    let started = false;
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!started) reject(new Error(`certplan exited with ${code} before listening:\n${stderr}`));
    });
    child.stderr.on('data', (d) => {
      stderr += d;
      if (started) return;
      const m = /listening on ([0-9.]+):(\d+)/.exec(stderr);
      if (!m) return;
      started = true;
      clearTimeout(timer);
      // --dev prints the demo account on stdout before the listening line.
      const demo = JSON.parse(stdout.trim().split('\n')[0]);
      const port = Number(m[2]);
      resolve({
        child, dataDir, demo, port, host: m[1],
        endpoint: `${m[1]}:${port}`,
        logs: () => stderr,
        admin: (...a) => admin(dataDir, ...a),
        stop: (signal = 'SIGTERM') => stopChild(child, signal),
      });
    });
  });
}

function stopChild(child, signal) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve({ code: child.exitCode, signal: child.signalCode });
    child.once('exit', (code, sig) => resolve({ code, signal: sig }));
    child.kill(signal);
  });
}

// Runs `certplan admin --data-dir DIR ARGS…`; resolves {code, json, stdout, stderr}.
function admin(dataDir, ...args) {
  return new Promise((resolve) => {
    execFile(BIN, ['admin', '--data-dir', dataDir, ...args], (err, stdout, stderr) => {
      let json = null;
      try { json = JSON.parse(stdout); } catch (_) { /* not JSON: left null */ }
      resolve({ code: err ? err.code : 0, json, stdout, stderr });
    });
  });
}

module.exports = { startServer, admin, BIN };
