'use strict';
// FALLBACK — delete this file once certplan's own HTTPS listener (`serve --listen-tls`) is merged,
// together with the one line in lib/https.js that requires it.
//
// Until then certplan speaks plain HTTP only, while certd hard-codes https:// for the CAS
// endpoint. This terminates TLS in front of certplan's HTTP port: a throwaway self-signed
// certificate for 127.0.0.1/localhost made by `openssl req -x509`, and every accepted TLS
// connection piped byte for byte to certplan. Used ONLY when certplan did not report a TLS
// listener.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const tls = require('node:tls');

// Resolves {endpoint: '127.0.0.1:PORT', caFile, close()} once the proxy listens.
function terminateTls(server) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certplan-certd-tls-'));
  const keyFile = path.join(dir, 'proxy.key');
  const caFile = path.join(dir, 'proxy.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', keyFile, '-out', caFile, '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'pipe' });
  const sockets = new Set();
  const proxy = tls.createServer({ key: fs.readFileSync(keyFile), cert: fs.readFileSync(caFile) }, (client) => {
    const upstream = net.connect(server.port, server.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => { client.destroy(); upstream.destroy(); });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve, reject) => {
    proxy.once('error', reject);
    proxy.listen(0, '127.0.0.1', () => resolve({
      endpoint: `127.0.0.1:${proxy.address().port}`,
      caFile,
      fallback: true,
      close: () => new Promise((done) => {
        for (const s of sockets) s.destroy();
        proxy.close(() => done());
      }),
    }));
  });
}

module.exports = { terminateTls };
