'use strict';
// The ACME server under test, chosen by ACME_TARGET: `certplan` (the default: the real binary,
// CERTPLAN_BIN, through tests/e2e's startServer, on the store CERTPLAN_E2E_STORE names) or
// `pebble` (Debian's ACME test server, to prove this harness). Both require External Account
// Binding. startTarget({peers, live, addresses}) resolves once the directory answers:
//   live: false — certplan `--dev` (validation mode auto) / pebble PEBBLE_VA_ALWAYS_VALID=1;
//   live: true  — real validation: certplan [validation] mode = "live" with dns_server = the
//     peers' dnsmasq and [validation.addresses] (name → "127.0.0.1:PORT", default the peers'
//     http-01 port); pebble -dnsserver = the peers' dnsmasq, httpPort = the peers' http-01 port.
const { spawn, execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');
const { startServer, fsck } = require('../../e2e/lib/server');
const { newAccount, counters } = require('../../e2e/lib/orders');

const TARGET = process.env.ACME_TARGET || 'certplan';
if (!['certplan', 'pebble'].includes(TARGET)) throw new Error(`ACME_TARGET must be certplan or pebble, not ${TARGET}`);

// GET url trusting caFile; {status, headers, body, json}.
function get(url, caFile) {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca: fs.readFileSync(caFile) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(body); } catch (_) { /* not JSON */ }
        resolve({ status: res.statusCode, headers: res.headers, body, json });
      });
    });
    req.on('error', reject);
  });
}

// The directory must answer with newAccount and require EAB; anything else fails the run here,
// by name, rather than in every client.
async function checkDirectory(url, caFile, what) {
  let r;
  try {
    r = await get(url, caFile);
  } catch (e) {
    throw new Error(`${what}: the ACME directory ${url} does not answer: ${e.message}`);
  }
  if (r.status !== 200 || !r.json || !r.json.newAccount) {
    throw new Error(`${what} serves no ACME directory at ${url}: HTTP ${r.status} ${r.body.slice(0, 300)}`);
  }
  if (!r.json.meta || r.json.meta.externalAccountRequired !== true) {
    throw new Error(`${what}'s directory does not require External Account Binding: ${r.body}`);
  }
  return r.json;
}

async function startCertplan({ peers, live, addresses = {} }) {
  let config = '';
  if (live) {
    config = `[validation]\nmode = "live"\ndns_server = "127.0.0.1:${peers.dnsPort}"\n` +
      'retry_initial_seconds = 1\nretry_max_seconds = 1\npoll_ms = 50\n[validation.addresses]\n';
    for (const [name, port] of Object.entries(addresses)) config += `"${name}" = "127.0.0.1:${port || peers.httpPort}"\n`;
  }
  const server = await startServer({ tls: true, config: config || undefined });
  const base = `https://127.0.0.1:${server.tlsPort}/acme`;
  const t = {
    name: 'certplan',
    server,
    directory: `${base}/directory`,
    staging: `${base}/staging/directory`,
    caFile: server.caFile, // signs the HTTPS listener's certificate
    rootFile: path.join(server.dataDir, 'ca', 'root.pem'),
    issuingFile: path.join(server.dataDir, 'ca', 'issuing.pem'),
    // A certplan account holding `grants` ({ProductCode: count}); {id, client} (the SDK client).
    account: (grants) => newAccount(server, grants),
    counters: (account, productCode) => counters(account.client, productCode),
    // An EAB key: {kid, hmac, json} (json: what `acme eab create` printed).
    async eab({ account, product, singleUse = false, names = null }) {
      const args = ['acme', 'eab', 'create', '--account', String(account.id), '--product', product];
      if (singleUse) args.push('--single-use');
      if (names) args.push('--names', names.join(','));
      const r = await server.admin(...args);
      if (r.code !== 0 || !r.json || !r.json.KeyId || !r.json.HmacKey) {
        throw new Error(`certplan admin ${args.join(' ')}: exit ${r.code}: ${r.stdout}${r.stderr}`);
      }
      return { kid: r.json.KeyId, hmac: r.json.HmacKey, json: r.json };
    },
    // Stops the server, then `certplan fsck` must find the store clean: the ACME orders' states
    // and the plans' counters agree with the recount.
    async stop() {
      await server.stop();
      const check = fsck(server.dataDir);
      if (check.status !== 0 || !check.report || check.report.Clean !== true) {
        throw new Error(`certplan fsck after the ACME tests: exit ${check.status}: ${check.stdout}${check.stderr}`);
      }
    },
  };
  try {
    await checkDirectory(t.directory, t.caFile, 'certplan');
  } catch (e) {
    await server.stop();
    throw e;
  }
  return t;
}

// A CA and a certificate for 127.0.0.1 and localhost made with openssl: pebble's HTTPS listener.
function makeTlsFiles(dir) {
  const run = (...a) => execFileSync('openssl', a, { stdio: ['ignore', 'pipe', 'pipe'] });
  run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${dir}/ca.key`,
    '-out', `${dir}/ca.pem`, '-days', '2', '-subj', '/CN=acme e2e pebble TLS CA');
  run('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${dir}/key.pem`,
    '-subj', '/CN=localhost', '-out', `${dir}/tls.csr`);
  fs.writeFileSync(`${dir}/ext`, 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  run('x509', '-req', '-in', `${dir}/tls.csr`, '-CA', `${dir}/ca.pem`, '-CAkey', `${dir}/ca.key`, '-CAcreateserial',
    '-days', '2', '-extfile', `${dir}/ext`, '-out', `${dir}/cert.pem`);
}

// EAB keys pebble is configured with (pebble takes them from its config file only).
const PEBBLE_EAB_KEYS = 40;

async function startPebble({ peers, live }) {
  const { freeLoopbackPort } = require('./peers');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acme-e2e-pebble-'));
  makeTlsFiles(dir);
  const port = await freeLoopbackPort();
  const mgmtPort = await freeLoopbackPort();
  const keys = {};
  for (let i = 0; i < PEBBLE_EAB_KEYS; i++) keys[`kid-${i}`] = crypto.randomBytes(32).toString('base64url');
  fs.writeFileSync(`${dir}/config.json`, JSON.stringify({
    pebble: {
      listenAddress: `127.0.0.1:${port}`, managementListenAddress: `127.0.0.1:${mgmtPort}`,
      certificate: `${dir}/cert.pem`, privateKey: `${dir}/key.pem`,
      httpPort: peers.httpPort, tlsPort: await freeLoopbackPort(), ocspResponderURL: '',
      externalAccountBindingRequired: true, externalAccountMACKeys: keys,
    },
  }));
  const env = { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' };
  if (!live) env.PEBBLE_VA_ALWAYS_VALID = '1';
  const child = spawn('pebble', ['-config', `${dir}/config.json`, '-dnsserver', `127.0.0.1:${peers.dnsPort}`],
    { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`pebble did not start in 15 s:\n${log}`)); }, 15000);
    const onData = (d) => {
      log += d;
      if (log.includes('ACME directory available at')) { clearTimeout(timer); resolve(); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`pebble exited ${code}:\n${log}`)); });
  });
  const stop = () => new Promise((r) => {
    if (child.exitCode !== null || child.signalCode !== null) { r(); return; }
    child.once('exit', () => { fs.rmSync(dir, { recursive: true, force: true }); r(); });
    child.kill('SIGTERM');
  });
  const directory = `https://127.0.0.1:${port}/dir`;
  const caFile = `${dir}/ca.pem`;
  try {
    // pebble logs its address just before it listens: the directory answering is the signal.
    const deadline = Date.now() + 10000;
    for (;;) {
      try {
        await checkDirectory(directory, caFile, 'pebble');
        break;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    // The issuing chain, for `openssl verify` of what the clients obtain.
    for (const [what, file] of [['roots', 'root.pem'], ['intermediates', 'issuing.pem']]) {
      const r = await get(`https://127.0.0.1:${mgmtPort}/${what}/0`, caFile);
      if (r.status !== 200) throw new Error(`pebble /${what}/0: HTTP ${r.status}`);
      fs.writeFileSync(`${dir}/${file}`, r.body);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  const free = Object.keys(keys);
  return {
    name: 'pebble',
    directory,
    staging: directory, // pebble has no staging directory: --dry-run runs against the real one
    caFile,
    rootFile: `${dir}/root.pem`,
    issuingFile: `${dir}/issuing.pem`,
    logs: () => log,
    account: async () => ({ id: 0 }),
    async eab() {
      const kid = free.shift();
      if (!kid) throw new Error(`pebble has only ${PEBBLE_EAB_KEYS} EAB keys configured`);
      return { kid, hmac: keys[kid] };
    },
    stop,
  };
}

function startTarget(options) {
  return TARGET === 'pebble' ? startPebble(options) : startCertplan(options);
}

module.exports = { TARGET, startTarget, get };
