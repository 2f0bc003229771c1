'use strict';
// HTTPS (issue #11, part 1): the official SDKs with their default protocol (HTTPS) against a
// certificate from the built-in CA (trusted through NODE_EXTRA_CA_CERTS) or the operator's
// own, reloaded on SIGHUP; TLS settings refused at start name their key.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFile, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tls = require('node:tls');
const { startServer } = require('./lib/server');
const { Cas, casClient } = require('./lib/clients');
const { eventually } = require('./lib/orders');

const CLIENT = path.join(__dirname, 'lib', 'https_client.js');

// Runs one SDK in a child node (NODE_EXTRA_CA_CERTS is read at process start); resolves with
// its JSON answer.
function sdkCall(sdk, server, { caFile, domain = `${sdk}.https.example.com` } = {}) {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  if (caFile) env.NODE_EXTRA_CA_CERTS = caFile;
  const job = JSON.stringify({ sdk, endpoint: server.tlsEndpoint, key: server.demo, domain });
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLIENT, job], { env, timeout: 30000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${sdk} client failed: ${err.message}\n${stderr}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()));
    });
  });
}

// The certificate the HTTPS listener presents to a new connection, verified against `ca`.
function peerCertificate(server, ca) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: server.tlsPort, ca }, () => {
      const cert = socket.getPeerCertificate();
      const protocol = socket.getProtocol();
      socket.end();
      resolve({ cert, protocol });
    });
    socket.on('error', reject);
  });
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'certplan-https-'));
let seq = 0;

// An operator's CA and a leaf for 127.0.0.1 made with the openssl command: {caFile, certFile,
// keyFile, serial}.
function operatorCertificate(cn = 'operator.example.com') {
  const base = path.join(work, `op${++seq}`);
  const run = (...args) => execFileSync('openssl', args, { stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30',
    '-subj', `/CN=Operator Test CA ${seq}`, '-keyout', `${base}-ca.key`, '-out', `${base}-ca.pem`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  run('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${cn}`,
    '-keyout', `${base}.key`, '-out', `${base}.csr`);
  fs.writeFileSync(`${base}.ext`, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  run('x509', '-req', '-in', `${base}.csr`, '-CA', `${base}-ca.pem`, '-CAkey', `${base}-ca.key`,
    '-CAcreateserial', '-days', '30', '-extfile', `${base}.ext`, '-out', `${base}.crt`);
  fs.chmodSync(`${base}.key`, 0o600);
  const serial = execFileSync('openssl', ['x509', '-in', `${base}.crt`, '-noout', '-serial'], { encoding: 'utf8' })
    .trim().replace(/^serial=/, '');
  return { caFile: `${base}-ca.pem`, certFile: `${base}.crt`, keyFile: `${base}.key`, serial };
}

let server;
before(async () => { server = await startServer({ tls: true }); });
after(async () => { await server.stop(); });

test('serve --listen-tls: a certificate from the built-in CA under DATA_DIR/tls, key 0600', async () => {
  assert.ok(server.tlsPort > 0 && server.tlsPort !== server.port);
  assert.equal(server.caFile, path.join(server.dataDir, 'tls', 'ca.pem'));
  assert.equal(fs.statSync(path.join(server.dataDir, 'tls', 'server.key')).mode & 0o777, 0o600);
  assert.equal(server.demo.TlsEndpoint, `https://${server.tlsEndpoint}`);
  assert.equal(server.demo.CaFile, server.caFile);
  // The chain verifies with the openssl command against the CA file alone.
  const crt = path.join(server.dataDir, 'tls', 'server.crt');
  const [leaf, ...chain] = fs.readFileSync(crt, 'utf8').match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n/g);
  assert.equal(chain.length, 1, 'the leaf, then the issuing intermediate');
  fs.writeFileSync(path.join(work, 'leaf.pem'), leaf);
  fs.writeFileSync(path.join(work, 'chain.pem'), chain.join(''));
  const verified = execFileSync('openssl', ['verify', '-CAfile', server.caFile, '-untrusted', path.join(work, 'chain.pem'),
    '-verify_ip', '127.0.0.1', '-purpose', 'sslserver', path.join(work, 'leaf.pem')], { encoding: 'utf8' });
  assert.match(verified, /: OK/);
  const { protocol } = await peerCertificate(server, fs.readFileSync(server.caFile));
  assert.equal(protocol, 'TLSv1.3');
});

for (const sdk of ['v3', 'v1', 'pop']) {
  test(`${sdk === 'v3' ? '@alicloud/cas20200407 3.0.0' : sdk === 'v1' ? '@alicloud/cas20200407 1.3.0' : 'pop-core'} over HTTPS (default protocol) with NODE_EXTRA_CA_CERTS`, async () => {
    const r = await sdkCall(sdk, server, { caFile: server.caFile });
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    assert.equal(r.productCode, 'digicert-free-1-free');
    assert.equal(r.totalCount, 20);
    assert.match(r.orderId, /^[1-9][0-9]*$/);
  });
}

test('without the CA file the SDK refuses the certificate; HTTP still answers on its own port', async () => {
  const r = await sdkCall('v3', server, {});
  assert.ok(r.error, 'the handshake must fail without the CA');
  assert.match(`${r.error.code} ${r.error.message}`, /certificate|UNABLE_TO_VERIFY|SELF_SIGNED/i);
  const plain = await casClient(server).describePackageState(new Cas.DescribePackageStateRequest({}));
  assert.equal(plain.statusCode, 200);
});

test('a 60 KiB query passes over HTTPS; a request line over 64 KiB gets 431', async () => {
  const ca = fs.readFileSync(server.caFile);
  const exchange = (target) => new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: server.tlsPort, ca }, () => {
      socket.end(`GET ${target} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`);
    });
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (d) => { data += d; });
    socket.on('error', () => {});
    socket.on('close', () => resolve(data));
    socket.on('timeout', () => reject(new Error('no answer')));
    socket.setTimeout(10000);
  });
  const ok = await exchange(`/?x=${'a'.repeat(60 * 1024)}`);
  assert.match(ok, /^HTTP\/1\.1 400 /, 'parsed and answered by the application (unsigned)');
  assert.match(ok, /MissingParameter/);
  const big = await exchange(`/?x=${'a'.repeat(65 * 1024)}`);
  assert.match(big, /^HTTP\/1\.1 431 /);
  assert.match(big, /RequestHeaderFieldsTooLarge/);
});

test('the certificate is reused across restarts and reissued when tls_names change', async () => {
  const s = await startServer({ tls: true });
  const crt = path.join(s.dataDir, 'tls', 'server.crt');
  const first = fs.readFileSync(crt, 'utf8');
  await s.stop();
  const again = await startServer({ dataDir: s.dataDir, tls: true });
  assert.equal(fs.readFileSync(crt, 'utf8'), first, 'same names, far from expiry: kept');
  assert.doesNotMatch(again.logs(), /TLS certificate issued/);
  await again.stop();
  const renamed = await startServer({ dataDir: s.dataDir, tls: true,
    config: '[server]\ntls_names = ["certplan.internal", "10.1.2.3"]\n' });
  try {
    assert.notEqual(fs.readFileSync(crt, 'utf8'), first);
    assert.match(renamed.logs(), /TLS certificate issued/);
    const text = execFileSync('openssl', ['x509', '-in', crt, '-noout', '-ext', 'subjectAltName'], { encoding: 'utf8' });
    assert.match(text, /DNS:certplan\.internal/);
    assert.match(text, /IP Address:127\.0\.0\.1/);
    assert.match(text, /IP Address:10\.1\.2\.3/);
    const { cert } = await peerCertificate(renamed, fs.readFileSync(renamed.caFile));
    assert.match(cert.subjectaltname, /DNS:certplan\.internal/);
  } finally {
    await renamed.stop();
  }
});

test("the operator's tls_cert/tls_key are served, and SIGHUP swaps them without dropping connections", async () => {
  const first = operatorCertificate();
  const live = path.join(work, 'live');
  fs.mkdirSync(live);
  fs.copyFileSync(first.certFile, path.join(live, 'tls.crt'));
  fs.copyFileSync(first.keyFile, path.join(live, 'tls.key'));
  const s = await startServer({
    config: `[server]\nlisten_tls = "127.0.0.1:0"\ntls_cert = "${path.join(live, 'tls.crt')}"\ntls_key = "${path.join(live, 'tls.key')}"\n`,
  });
  try {
    assert.equal(s.caFile, null, 'no CA file: the operator owns the certificate');
    assert.equal(fs.existsSync(path.join(s.dataDir, 'tls')), false);
    const before = await peerCertificate(s, fs.readFileSync(first.caFile));
    assert.equal(before.cert.serialNumber.toUpperCase(), first.serial.toUpperCase());
    const r = await sdkCall('v3', s, { caFile: first.caFile, domain: 'operator.https.example.com' });
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    assert.equal(r.productCode, 'digicert-free-1-free');

    // An open keep-alive connection made with the first certificate.
    const ca = Buffer.concat([fs.readFileSync(first.caFile), Buffer.from('\n')]);
    const kept = await new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: s.tlsPort, ca }, () => resolve(socket));
      socket.on('error', reject);
    });
    const ask = () => new Promise((resolve) => {
      let data = '';
      const onData = (d) => {
        data += d;
        if (/\r\n\r\n/.test(data) && data.includes('"Code"')) { kept.off('data', onData); resolve(data); }
      };
      kept.setEncoding('utf8');
      kept.on('data', onData);
      kept.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    });
    assert.match(await ask(), /^HTTP\/1\.1 400 /);

    // A failed reload (a key that does not match) keeps the old certificate and logs an error.
    const second = operatorCertificate();
    fs.copyFileSync(second.certFile, path.join(live, 'tls.crt'));
    s.child.kill('SIGHUP');
    await eventually(() => assert.match(s.logs(), /TLS certificate not reloaded/), 5000);
    assert.equal((await peerCertificate(s, fs.readFileSync(first.caFile))).cert.serialNumber.toUpperCase(),
      first.serial.toUpperCase());

    // With the matching key in place the reload succeeds: new connections see the new certificate.
    fs.copyFileSync(second.keyFile, path.join(live, 'tls.key'));
    s.child.kill('SIGHUP');
    await eventually(() => assert.match(s.logs(), /TLS certificate reloaded/), 5000);
    const after = await peerCertificate(s, fs.readFileSync(second.caFile));
    assert.equal(after.cert.serialNumber.toUpperCase(), second.serial.toUpperCase());
    // … and the connection opened before still works.
    assert.match(await ask(), /^HTTP\/1\.1 400 /);
    kept.destroy();
    assert.equal(s.child.exitCode, null, 'SIGHUP does not stop the server');
  } finally {
    await s.stop();
  }
});

test('TLS settings that cannot work are refused at start, naming the key', async () => {
  const op = operatorCertificate();
  const other = operatorCertificate();
  // A configuration refused as such exits 2 (issue 15); files that cannot be used exit 1.
  const cases = [
    [`[server]\nlisten_tls = "127.0.0.1:0"\ntls_cert = "${op.certFile}"\n`, /server\.tls_key/, 2],
    [`[server]\ntls_cert = "${op.certFile}"\ntls_key = "${op.keyFile}"\n`, /server\.listen_tls/, 2],
    [`[server]\nlisten_tls = "127.0.0.1:0"\ntls_cert = "${op.certFile}"\ntls_key = "${other.keyFile}"\n`, /tls_key.*(does not match|mismatch)/, 1],
    [`[server]\nlisten_tls = "127.0.0.1:0"\ntls_cert = "${path.join(work, 'missing.crt')}"\ntls_key = "${op.keyFile}"\n`, /tls_cert/, 1],
    ['[server]\nlisten_tls = "nowhere"\n', /server\.listen_tls/, 2],
    ['[server]\nlisten_tls = "127.0.0.1:0"\ntls_names = "not-a-list"\n', /server\.tls_names/, 2],
  ];
  for (const [config, why, exit] of cases) {
    const outcome = await startServer({ config }).then(async (x) => { await x.stop(); return 'started'; }, (e) => e.message);
    assert.match(outcome, new RegExp(`exited with ${exit}`), config);
    assert.match(outcome, why, config);
  }
});

// A signed V3 request sent over TLS to the HTTPS listener, trusting `caFile`: {status, json}.
function sendTls(server, request, caFile) {
  const https = require('node:https');
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: server.tlsPort, method: request.method, path: request.path,
      headers: request.headers, ca: fs.readFileSync(caFile) }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { data += c; });
      res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(data) }));
    });
    req.on('error', reject);
    req.end(request.body);
  });
}

test('RAM sees HTTPS: acs:SecureTransport is true over the TLS listener, false over HTTP', async () => {
  const { signV3, send } = require('./lib/clients');
  const s = await startServer({ tls: true });
  try {
    const id = String(s.demo.AccountId);
    const file = path.join(s.dataDir, 'tls-only.json');
    fs.writeFileSync(file, JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: 'yundun-cert:*',
      Resource: '*', Condition: { Bool: { 'acs:SecureTransport': 'true' } } }] }));
    assert.equal((await s.admin('policy', 'create', '--account', id, '--name', 'tls-only', '--document', file)).code, 0);
    assert.equal((await s.admin('user', 'create', '--account', id, '--name', 'tlsuser')).code, 0);
    assert.equal((await s.admin('policy', 'attach', '--account', id, '--user', 'tlsuser', '--policy', 'tls-only')).code, 0);
    const key = (await s.admin('key', 'create', '--account', id, '--user', 'tlsuser')).json;
    const overTls = await sendTls(s, signV3(s, { key }), s.caFile);
    assert.equal(overTls.status, 200, JSON.stringify(overTls.json));
    const overHttp = await send(s, signV3(s, { key }));
    assert.equal(overHttp.status, 403);
    assert.equal(overHttp.json.Code, 'Forbidden.RAM');
  } finally {
    await s.stop();
  }
});

test('a start that fails on listen_tls writes nothing under DATA_DIR/tls', async () => {
  const s = await startServer({ tls: true });
  const certFile = path.join(s.dataDir, 'tls', 'server.crt');
  const before = fs.readFileSync(certFile, 'utf8');
  try {
    const { BIN, storeUrlOf } = require('./lib/server');
    const url = storeUrlOf(s.dataDir);
    const r = require('node:child_process').spawnSync(BIN, ['serve', '--listen', '127.0.0.1:0', '--listen-tls', 'localhost:0',
      '--data-dir', s.dataDir], { encoding: 'utf8', env: { ...process.env, ...(url ? { CERTPLAN_STORE_URL: url } : {}) } });
    assert.notEqual(r.status, 0, r.stderr);
    assert.match(r.stderr, /listen_tls/);
    assert.equal(fs.readFileSync(certFile, 'utf8'), before, 'the running server keeps its certificate');
    assert.ok(path.isAbsolute(s.caFile), `the CA file is printed as an absolute path: ${s.caFile}`);
  } finally {
    await s.stop();
  }
});
