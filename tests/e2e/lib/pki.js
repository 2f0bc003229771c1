'use strict';
// CSRs and certificate checks through the openssl command line: an independent
// implementation to judge certplan's CA by.
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'certplan-pki-'));
let n = 0;

// A PEM CSR. key: 'rsa:2048' | 'rsa:1024' | 'ec:P-256' | 'ec:P-384' | 'ec:P-521'.
function makeCsr({ cn, sans = [], key = 'ec:P-256' } = {}) {
  const base = path.join(work, `csr${++n}`);
  const [kind, size] = key.split(':');
  const newkey = kind === 'rsa' ? ['-newkey', `rsa:${size}`] : ['-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${size}`];
  const args = ['req', '-new', ...newkey, '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`,
    '-subj', cn ? `/CN=${cn}` : '/O=No Common Name'];
  if (sans.length) args.push('-addext', `subjectAltName=${sans.map((s) => `DNS:${s}`).join(',')}`);
  execFileSync('openssl', args, { stdio: 'pipe' });
  return { csr: fs.readFileSync(`${base}.csr`, 'utf8'), key: fs.readFileSync(`${base}.key`, 'utf8') };
}

// DER pieces for hand-built requests (what the openssl command refuses to make: a CN over 64
// characters, MD5 signatures).
function derLength(n) {
  if (n < 0x80) return Buffer.from([n]);
  const bytes = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const der = (tag, ...parts) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
};
function derOid(text) {
  const arcs = text.split('.').map(Number);
  const out = [40 * arcs[0] + arcs[1]];
  for (const arc of arcs.slice(2)) {
    const chunk = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return der(0x06, Buffer.from(out));
}
const SIGNATURE_OIDS = {
  'ec:sha256': ['1.2.840.10045.4.3.2', false], 'ec:sha1': ['1.2.840.10045.4.1', false],
  'rsa:sha256': ['1.2.840.113549.1.1.11', true], 'rsa:sha1': ['1.2.840.113549.1.1.5', true],
  'rsa:md5': ['1.2.840.113549.1.1.4', true],
};

// A PKCS#10 request built byte by byte and signed with node's crypto: key 'ec' (P-256) or 'rsa'
// (2048), digest 'sha256' | 'sha1' | 'md5' (RSA only). Subject CN=`cn`, any length.
function derCsr({ cn, key = 'ec', digest = 'sha256' }) {
  const pair = key === 'ec'
    ? crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    : crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spki = pair.publicKey.export({ type: 'spki', format: 'der' });
  const subject = der(0x30, der(0x31, der(0x30, derOid('2.5.4.3'), der(0x0c, Buffer.from(cn, 'utf8')))));
  const info = der(0x30, der(0x02, Buffer.from([0])), subject, spki, Buffer.from([0xa0, 0x00]));
  const [oid, withNull] = SIGNATURE_OIDS[`${key}:${digest}`];
  const algorithm = der(0x30, derOid(oid), ...(withNull ? [Buffer.from([0x05, 0x00])] : []));
  const signature = crypto.sign(digest, info, pair.privateKey);
  const request = der(0x30, info, algorithm, der(0x03, Buffer.from([0]), signature));
  const b64 = request.toString('base64').match(/.{1,64}/g).join('\n');
  return `-----BEGIN CERTIFICATE REQUEST-----\n${b64}\n-----END CERTIFICATE REQUEST-----\n`;
}

// OpenSSL's own verdict on a request's self-signature (openssl req -verify).
function opensslVerifiesCsr(csrPem) {
  try {
    execFileSync('openssl', ['req', '-noout', '-verify'], { input: csrPem, stdio: 'pipe' });
    return true;
  } catch (_) {
    return false;
  }
}

// The same CSR with one byte of its signature flipped.
function corruptSignature(csrPem) {
  const der = Buffer.from(csrPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  der[der.length - 5] ^= 0x55;
  const b64 = der.toString('base64').match(/.{1,64}/g).join('\n');
  return `-----BEGIN CERTIFICATE REQUEST-----\n${b64}\n-----END CERTIFICATE REQUEST-----\n`;
}

// Splits a PEM bundle into its certificates.
function splitPem(bundle) {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) || [];
}

// Runs `openssl verify` of the leaf against the root with the chain as untrusted; returns its output.
// `atTime` (epoch seconds) checks validity at that moment instead of now.
function opensslVerify(rootPem, certificateBundle, atTime) {
  const [leaf, ...chain] = splitPem(certificateBundle);
  const base = path.join(work, `verify${++n}`);
  fs.writeFileSync(`${base}.root`, rootPem);
  fs.writeFileSync(`${base}.leaf`, leaf);
  fs.writeFileSync(`${base}.chain`, chain.join(''));
  const at = atTime ? ['-attime', String(Math.round(atTime))] : [];
  return execFileSync('openssl', ['verify', '-purpose', 'sslserver', ...at, '-CAfile', `${base}.root`,
    '-untrusted', `${base}.chain`, `${base}.leaf`], { encoding: 'utf8' });
}

function leafOf(bundle) {
  return new crypto.X509Certificate(splitPem(bundle)[0]);
}

// True when the private key (PEM) belongs to the certificate's public key.
function keyMatches(privateKeyPem, bundle) {
  const fromKey = crypto.createPublicKey(privateKeyPem).export({ type: 'spki', format: 'der' });
  const fromCert = leafOf(bundle).publicKey.export({ type: 'spki', format: 'der' });
  return Buffer.compare(fromKey, fromCert) === 0;
}

// `openssl x509 -text` of the bundle's leaf.
function leafText(bundle) {
  return execFileSync('openssl', ['x509', '-noout', '-text'], { input: splitPem(bundle)[0], encoding: 'utf8' });
}

module.exports = {
  leafText, makeCsr, derCsr, opensslVerifiesCsr, corruptSignature, opensslVerify, leafOf, keyMatches, splitPem,
};
