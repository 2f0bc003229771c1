#!/usr/bin/env node
'use strict';
// The one challenge hook of the ACME client tests. It hands the record to the test's control
// server (ACME_HOOK_URL), which publishes it (dnsmasq restarted and answering, or the http-01
// responder) and answers only then, so the client asks for validation after the record is live.
//   certbot --manual-auth-hook 'acme-hook.js certbot-auth' / --manual-cleanup-hook
//     'acme-hook.js certbot-cleanup': CERTBOT_DOMAIN, CERTBOT_VALIDATION, CERTBOT_TOKEN (http-01)
//   lego --dns exec (EXEC_PATH=acme-hook.js): `present|cleanup FQDN VALUE`
//   uacme -h acme-hook.js: `begin|done|failed TYPE IDENT TOKEN KEY_AUTH` (dns-01: KEY_AUTH is the
//     TXT value already); types outside ACME_HOOK_TYPES (default http-01,dns-01) are declined
//     with exit 1, so uacme goes on to the next challenge type.
const http = require('node:http');

function post(job) {
  return new Promise((resolve, reject) => {
    const req = http.request(process.env.ACME_HOOK_URL, { method: 'POST' }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`control server: ${res.statusCode} ${body}`))));
    });
    req.on('error', reject);
    req.end(JSON.stringify(job));
  });
}

const [verb, ...rest] = process.argv.slice(2);
const env = process.env;
let job = null;
switch (verb) {
  case 'certbot-auth':
  case 'certbot-cleanup': {
    const op = verb === 'certbot-auth' ? 'add' : 'remove';
    job = env.CERTBOT_TOKEN
      ? { kind: 'http', op, name: env.CERTBOT_TOKEN, value: env.CERTBOT_VALIDATION }
      : { kind: 'dns', op, name: `_acme-challenge.${env.CERTBOT_DOMAIN}`, value: env.CERTBOT_VALIDATION };
    break;
  }
  case 'present':
  case 'cleanup':
    job = { kind: 'dns', op: verb === 'present' ? 'add' : 'remove', name: rest[0].replace(/\.$/, ''), value: rest[1] };
    break;
  case 'begin':
  case 'done':
  case 'failed': {
    const [type, ident, token, keyAuth] = rest;
    const accepted = (env.ACME_HOOK_TYPES || 'http-01,dns-01').split(',');
    if (!accepted.includes(type)) process.exit(1);
    const op = verb === 'begin' ? 'add' : 'remove';
    job = type === 'dns-01'
      ? { kind: 'dns', op, name: `_acme-challenge.${ident.replace(/^\*\./, '')}`, value: keyAuth }
      : { kind: 'http', op, name: token, value: keyAuth };
    break;
  }
  default:
    process.stderr.write(`acme-hook.js: unknown call ${process.argv.slice(2).join(' ')}\n`);
    process.exit(2);
}
post(job).then(() => process.exit(0), (e) => { process.stderr.write(`acme-hook.js: ${e.message}\n`); process.exit(1); });
