'use strict';
// A minimal ACME (RFC 8555) client over raw HTTPS, for the protocol details real clients depend
// on (headers, status codes) that their own output does not show. ES256 account keys (JWS
// signatures as fixed-length r||s), External Account Binding (HS256), POST-as-GET.
const crypto = require('node:crypto');
const fs = require('node:fs');
const https = require('node:https');

const b64u = (b) => Buffer.from(b).toString('base64url');

// One HTTPS exchange; {status, headers, body, json}. `body` a string or null.
function request(url, { method = 'GET', headers = {}, body = null, ca }) {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, headers, ca, agent: false }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { data += d; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(data); } catch (_) { /* PEM or empty */ }
        resolve({ status: res.statusCode, headers: res.headers, body: data, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

class AcmeClient {
  constructor(target) {
    this.target = target;
    this.ca = fs.readFileSync(target.caFile);
    this.key = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const { crv, kty, x, y } = this.key.export({ format: 'jwk' });
    this.jwk = { crv, kty, x, y }; // members in lexicographic order
    this.kid = null;
    this.nonce = null;
  }

  async directory() {
    if (!this.dir) this.dir = (await request(this.target.directory, { ca: this.ca })).json;
    return this.dir;
  }

  async newNonce(method = 'HEAD') {
    const r = await request((await this.directory()).newNonce, { method, ca: this.ca });
    this.nonce = r.headers['replay-nonce'] || null;
    return r;
  }

  // The flattened JWS of `payload` (an object, or '' for POST-as-GET) for `url`.
  async jws(url, payload, { nonce, useJwk = !this.kid, extra = {} } = {}) {
    if (nonce === undefined) {
      if (!this.nonce) await this.newNonce();
      nonce = this.nonce;
      this.nonce = null;
    }
    const header = { alg: 'ES256', nonce, url, ...(useJwk ? { jwk: this.jwk } : { kid: this.kid }), ...extra };
    const protectedB64 = b64u(JSON.stringify(header));
    const payloadB64 = payload === '' ? '' : b64u(JSON.stringify(payload));
    const signature = crypto.sign('sha256', Buffer.from(`${protectedB64}.${payloadB64}`),
      { key: this.key, dsaEncoding: 'ieee-p1363' });
    return JSON.stringify({ protected: protectedB64, payload: payloadB64, signature: b64u(signature) });
  }

  // POSTs a signed body (or `raw` as it is); remembers the answer's Replay-Nonce.
  async post(url, payload, { contentType = 'application/jose+json', raw, ...jwsOptions } = {}) {
    const body = raw !== undefined ? raw : await this.jws(url, payload, jwsOptions);
    const r = await request(url, { method: 'POST', headers: { 'content-type': contentType }, body, ca: this.ca });
    this.nonce = r.headers['replay-nonce'] || null;
    return r;
  }

  // The externalAccountBinding member for an EAB {kid, hmac}.
  async eabMember(eab) {
    const url = (await this.directory()).newAccount;
    const protectedB64 = b64u(JSON.stringify({ alg: 'HS256', kid: eab.kid, url }));
    const payloadB64 = b64u(JSON.stringify(this.jwk));
    const mac = crypto.createHmac('sha256', Buffer.from(eab.hmac, 'base64url')).update(`${protectedB64}.${payloadB64}`).digest();
    return { protected: protectedB64, payload: payloadB64, signature: b64u(mac) };
  }

  async newAccount(eab) {
    const dir = await this.directory();
    const r = await this.post(dir.newAccount, {
      termsOfServiceAgreed: true, contact: ['mailto:acme-e2e@example.test'],
      ...(eab ? { externalAccountBinding: await this.eabMember(eab) } : {}),
    });
    if (r.status === 201 || r.status === 200) this.kid = r.headers.location;
    return r;
  }

  async newOrder(names) {
    return this.post((await this.directory()).newOrder, { identifiers: names.map((value) => ({ type: 'dns', value })) });
  }
}

// A CSR (DER) for `names` with a fresh P-256 key, made by openssl (no CN, as certbot's).
function makeCsr(names) {
  const { execFileSync } = require('node:child_process');
  const key = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
  const os = require('node:os');
  const path = require('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acme-e2e-csr-'));
  fs.writeFileSync(`${dir}/key.pem`, key);
  const der = execFileSync('openssl', ['req', '-new', '-key', `${dir}/key.pem`, '-subj', '/', '-outform', 'DER',
    '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`]);
  fs.rmSync(dir, { recursive: true, force: true });
  return b64u(der);
}

module.exports = { AcmeClient, request, makeCsr };
