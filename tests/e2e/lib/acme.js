'use strict';
// A small RFC 8555 client on node's own crypto (no ACME package): JWS with ES256 (r‖s), RS256 or
// EdDSA, External Account Binding (HS256), key authorizations, CSRs made with the openssl
// command. Every call returns {status, headers, body, json} so tests can check what a refusal
// answers as well as what a success does.
const crypto = require('node:crypto');
const fs = require('node:fs');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const b64u = (buf) => Buffer.from(buf).toString('base64url');
const b64uJson = (obj) => b64u(Buffer.from(JSON.stringify(obj)));

// {status, headers, body (text), json} of one HTTPS request trusting `ca`.
function request(url, { method = 'GET', headers = {}, body = '', ca } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, headers, ca, timeout: 30000 }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { data += c; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(data); } catch (_) { /* PEM or empty */ }
        resolve({ status: res.statusCode, headers: res.headers, body: data, json });
      });
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${url}`)));
    req.end(body);
  });
}

// An account key: {privateKey, jwk, alg}.
function newKey(kind = 'ec256') {
  let pair;
  let alg;
  if (kind === 'ec256') {
    pair = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    alg = 'ES256';
  } else if (kind === 'ec384') {
    pair = crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' });
    alg = 'ES384';
  } else if (kind === 'rsa') {
    pair = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    alg = 'RS256';
  } else if (kind === 'rsa1024') {
    pair = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 });
    alg = 'RS256';
  } else {
    pair = crypto.generateKeyPairSync('ed25519');
    alg = 'EdDSA';
  }
  const full = pair.publicKey.export({ format: 'jwk' });
  const jwk = full.kty === 'RSA' ? { e: full.e, kty: 'RSA', n: full.n }
    : full.kty === 'EC' ? { crv: full.crv, kty: 'EC', x: full.x, y: full.y }
      : { crv: full.crv, kty: 'OKP', x: full.x };
  return { privateKey: pair.privateKey, jwk, alg };
}

// RFC 7638 thumbprint.
function thumbprint(jwk) {
  const members = jwk.kty === 'RSA' ? ['e', 'kty', 'n'] : jwk.kty === 'EC' ? ['crv', 'kty', 'x', 'y'] : ['crv', 'kty', 'x'];
  const canonical = `{${members.map((m) => `"${m}":"${jwk[m]}"`).join(',')}}`;
  return b64u(crypto.createHash('sha256').update(canonical).digest());
}

function signBytes(key, input, { der = false } = {}) {
  if (key.alg === 'EdDSA') return crypto.sign(null, Buffer.from(input), key.privateKey);
  const hash = key.alg === 'ES384' ? 'sha384' : 'sha256';
  const opts = { key: key.privateKey };
  if (key.alg.startsWith('ES')) opts.dsaEncoding = der ? 'der' : 'ieee-p1363';
  return crypto.sign(hash, Buffer.from(input), opts);
}

// A flattened JWS. header: {url, nonce, kid | jwk}; payload: object, '' (POST-as-GET) or a
// string already serialized.
function jws(key, header, payload, { der = false, alg } = {}) {
  const prot = b64uJson({ alg: alg || key.alg, ...header });
  const body = payload === '' ? '' : b64u(Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)));
  const signature = b64u(signBytes(key, `${prot}.${body}`, { der }));
  return { protected: prot, payload: body, signature };
}

// The externalAccountBinding of newAccount (RFC 8555 §7.3.4).
function eabJws(accountJwk, keyId, hmacKey, url) {
  const prot = b64uJson({ alg: 'HS256', kid: keyId, url });
  const payload = b64uJson(accountJwk);
  const mac = crypto.createHmac('sha256', Buffer.from(hmacKey, 'base64url')).update(`${prot}.${payload}`).digest();
  return { protected: prot, payload, signature: b64u(mac) };
}

class AcmeClient {
  constructor(directoryUrl, ca, key = newKey()) {
    this.directoryUrl = directoryUrl;
    this.ca = ca;
    this.key = key;
    this.kid = null;
    this.dir = null;
  }

  async directory() {
    const r = await request(this.directoryUrl, { ca: this.ca });
    this.dir = r.json;
    return r;
  }

  async nonce() {
    const r = await request(this.dir.newNonce, { method: 'HEAD', ca: this.ca });
    return r.headers['replay-nonce'];
  }

  // POSTs a JWS; `opts`: {nonce, url (signed url, defaults to the target), jwk (use jwk instead
  // of kid), der, contentType, tamper(jwsObject), alg, key}.
  async post(target, payload, opts = {}) {
    const key = opts.key || this.key;
    const header = { url: opts.url || target, nonce: opts.nonce || await this.nonce() };
    if (opts.noNonce) delete header.nonce;
    if (opts.jwk || !this.kid) header.jwk = key.jwk;
    else header.kid = this.kid;
    if (opts.both) { header.jwk = key.jwk; header.kid = this.kid; }
    const body = jws(key, header, payload, { der: opts.der, alg: opts.alg });
    if (opts.tamper) opts.tamper(body);
    return request(target, {
      method: 'POST', ca: this.ca, body: JSON.stringify(body),
      headers: { 'content-type': opts.contentType || 'application/jose+json' },
    });
  }

  async newAccount(eab, extra = {}) {
    const payload = { termsOfServiceAgreed: true, contact: ['mailto:ops@example.com'], ...extra };
    if (eab) payload.externalAccountBinding = eabJws(this.key.jwk, eab.KeyId, eab.HmacKey, this.dir.newAccount);
    const r = await this.post(this.dir.newAccount, payload, { jwk: true });
    if (r.status === 201 || r.status === 200) this.kid = r.headers.location;
    return r;
  }

  newOrder(names) {
    return this.post(this.dir.newOrder, { identifiers: names.map((value) => ({ type: 'dns', value })) });
  }

  keyAuthorization(token) { return `${token}.${thumbprint(this.key.jwk)}`; }
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'certplan-acme-'));
let seq = 0;

// A DER CSR (base64url) for `names` made with the openssl command: an EC P-256 key, the names
// in the SAN; `cn`: the subject CN (none by default, as certbot sends).
function csr(names, { cn = null } = {}) {
  const base = path.join(work, `csr${++seq}`);
  const subj = cn ? `/CN=${cn}` : '/';
  execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', `${base}.key`, '-out', `${base}.csr`, '-outform', 'DER', '-subj', subj,
    '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`], { stdio: 'pipe' });
  return { der: b64u(fs.readFileSync(`${base}.csr`)), keyFile: `${base}.key` };
}

// Drives one order to a certificate in auto mode: {order, orderUrl, certificate (PEM chain)}.
async function issue(client, names, { csrOptions } = {}) {
  const created = await client.newOrder(names);
  if (created.status !== 201) throw new Error(`newOrder: ${created.status} ${created.body}`);
  const orderUrl = created.headers.location;
  for (const authzUrl of created.json.authorizations) {
    const authz = await client.post(authzUrl, '');
    if (authz.json.status === 'valid') continue;
    const challenge = authz.json.challenges.find((c) => c.type === (authz.json.wildcard ? 'dns-01' : 'http-01'));
    const answered = await client.post(challenge.url, {});
    if (answered.status !== 200) throw new Error(`challenge: ${answered.status} ${answered.body}`);
  }
  const ready = await client.post(orderUrl, '');
  if (ready.json.status !== 'ready') throw new Error(`order not ready: ${ready.body}`);
  const csrMade = csr(names, csrOptions);
  const finalized = await client.post(created.json.finalize, { csr: csrMade.der });
  if (finalized.status !== 200) throw new Error(`finalize: ${finalized.status} ${finalized.body}`);
  let order = finalized.json;
  for (let i = 0; order.status !== 'valid' && i < 30; i++) {
    order = (await client.post(orderUrl, '')).json;
  }
  const cert = await client.post(order.certificate, '');
  return { order, orderUrl, certificate: cert.body, certResponse: cert, finalized, csrMade };
}

module.exports = { AcmeClient, newKey, thumbprint, jws, eabJws, csr, issue, request, b64u };
