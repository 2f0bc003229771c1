'use strict';
// certplan's HTTPS endpoint for certd, and certd's client run against it.
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');

// {endpoint: 'HOST:PORT', caFile, close()} of a server started by tests/e2e/lib/server.js with
// `tls: true`: its own TLS listener (`serve --listen-tls`, reported as tlsEndpoint and caFile).
async function httpsOf(server) {
  assert.ok(server.tlsEndpoint, 'certplan reported no TLS listener ("listening (tls) on")');
  assert.ok(server.caFile, 'certplan reported no ca_file for its TLS listener');
  return { endpoint: server.tlsEndpoint.replace(/^https:\/\//, ''), caFile: server.caFile, close: async () => {} };
}

// A child node running certd's AliyunSslClient (lib/certd-call.mjs) that trusts `caFile` through
// NODE_EXTRA_CA_CERTS (TLS verification stays on). Resolves {call(endpoint, key, method, ...args),
// close()}; call resolves the method's result or rejects with an Error carrying pop-core's code,
// data (the answer), url, and the HTTP statusCode.
function certdSession(caFile) {
  const child = spawn(process.execPath, [path.join(__dirname, 'certd-call.mjs')], {
    cwd: path.join(__dirname, '..'),
    env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let seq = 0;
  const pending = new Map();
  let ready;
  const readyPromise = new Promise((resolve, reject) => { ready = { resolve, reject }; });
  const fail = (why) => {
    const e = new Error(`certd child ${why}:\n${stderr}`);
    ready.reject(e);
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  child.on('exit', (code, signal) => fail(`exited (${code ?? signal})`));
  child.on('error', (e) => fail(`failed: ${e.message}`));
  child.stderr.on('data', (d) => { stderr += d; });
  child.stdout.on('data', (d) => {
    stdout += d;
    let nl;
    while ((nl = stdout.indexOf('\n')) >= 0) {
      const text = stdout.slice(0, nl);
      stdout = stdout.slice(nl + 1);
      if (text === 'CERTD-READY') ready.resolve();
      if (!text.startsWith('CERTD-RESULT ')) continue;
      const out = JSON.parse(text.slice('CERTD-RESULT '.length));
      const p = pending.get(out.id);
      pending.delete(out.id);
      if (out.ok) {
        p.resolve(out.result);
      } else {
        const e = new Error(`certd ${p.method}: ${out.error.message}`);
        p.reject(Object.assign(e, out.error, { message: e.message }));
      }
    }
  });
  const call = (endpoint, key, method, ...args) => new Promise((resolve, reject) => {
    const id = ++seq;
    pending.set(id, { resolve, reject, method });
    child.stdin.write(`${JSON.stringify({ id, endpoint, accessKeyId: key.AccessKeyId, accessKeySecret: key.AccessKeySecret, method, args })}\n`);
  });
  const close = () => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.stdin.end();
  });
  return readyPromise.then(() => ({ call, close, logs: () => stderr }));
}

module.exports = { httpsOf, certdSession };
