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

module.exports = { leafText, makeCsr, corruptSignature, opensslVerify, leafOf, keyMatches, splitPem };
