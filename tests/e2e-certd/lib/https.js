'use strict';
// certplan's HTTPS endpoint for certd, and certd's client run against it.
const { execFile } = require('node:child_process');
const path = require('node:path');

// {endpoint: 'HOST:PORT', caFile, close()} of a server started by tests/e2e/lib/server.js: its own
// TLS listener (`serve --listen-tls`, reported as tlsEndpoint and caFile).
async function httpsOf(server) {
  if (server.tlsEndpoint) {
    return { endpoint: server.tlsEndpoint.replace(/^https:\/\//, ''), caFile: server.caFile, fallback: false, close: async () => {} };
  }
  // FALLBACK until certplan's HTTPS listener is merged: remove this line and lib/tls-fallback.js.
  return require('./tls-fallback').terminateTls(server);
}

// Calls `method(...args)` of certd's AliyunSslClient in a child node that trusts `https.caFile`
// (NODE_EXTRA_CA_CERTS; TLS verification stays on). Resolves the method's result; rejects with
// an Error carrying certd/pop-core's code, statusCode, data (the answer) and url.
function certd(https, key, method, ...args) {
  const req = { endpoint: https.endpoint, accessKeyId: key.AccessKeyId, accessKeySecret: key.AccessKeySecret, method, args };
  const env = { ...process.env, NODE_EXTRA_CA_CERTS: https.caFile };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(__dirname, 'certd-call.mjs'), JSON.stringify(req)],
      { env, cwd: path.join(__dirname, '..'), timeout: 60000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
        const m = /^CERTD-RESULT (.*)$/m.exec(stdout);
        if (!m) return reject(new Error(`certd ${method} printed no result (${err ? err.message : 'exit 0'}):\n${stderr}`));
        const out = JSON.parse(m[1]);
        if (out.ok) return resolve(out.result);
        const e = new Error(`certd ${method}: ${out.error.message}`);
        Object.assign(e, out.error, { message: e.message, stderr });
        return reject(e);
      });
  });
}

module.exports = { httpsOf, certd };
