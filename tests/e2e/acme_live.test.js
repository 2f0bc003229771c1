'use strict';
// ACME challenges in validation mode "live" (issue #13 item 4): http-01 against a real local
// HTTP server reached through [validation.addresses], dns-01 against dnsmasq through
// validation.dns_server; a failed challenge makes the order invalid and gives its unit back.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const { startServer } = require('./lib/server');
const { Cas, casClient } = require('./lib/clients');
const { freeLoopbackPort, startDnsmasq } = require('./lib/peers');
const { AcmeClient, csr } = require('./lib/acme');

const PRODUCT = 'digicert-free-1-free';
const WILDCARD = 'geotrust-dv-w-starter';

let server;
let web;
let dns;
let dnsPort;
const published = {}; // token -> key authorization
const seen = [];

before(async () => {
  web = http.createServer((req, res) => {
    seen.push({ host: req.headers.host, url: req.url });
    const m = /^\/\.well-known\/acme-challenge\/([A-Za-z0-9_-]+)$/.exec(req.url);
    if (m && published[m[1]]) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(published[m[1]]);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((r) => web.listen(0, '127.0.0.1', r));
  dnsPort = await freeLoopbackPort();
  dns = await startDnsmasq(dnsPort, {});
  server = await startServer({
    tls: true,
    config: `[validation]\nmode = "live"\ndns_server = "127.0.0.1:${dnsPort}"\n\n[validation.addresses]\n` +
      `"live.acme-live.example.com" = "127.0.0.1:${web.address().port}"\n` +
      `"dead.acme-live.example.com" = "127.0.0.1:1"\n`,
  });
});
after(async () => {
  if (server) await server.stop();
  if (dns) await dns.stop();
  if (web) await new Promise((r) => web.close(r));
});

async function packageState(productCode) {
  const r = await casClient(server).describePackageState(new Cas.DescribePackageStateRequest({ productCode }));
  return { total: r.body.totalCount, used: r.body.usedCount, issued: r.body.issuedCount };
}

async function bound(product) {
  const key = await server.admin('acme', 'eab', 'create', '--account', String(server.demo.AccountId), '--product', product);
  assert.equal(key.code, 0, key.stderr);
  const c = new AcmeClient(`https://${server.tlsEndpoint}/acme/directory`, fs.readFileSync(server.caFile));
  await c.directory();
  assert.equal((await c.newAccount(key.json)).status, 201);
  return c;
}

test('http-01 is fetched from the name (through validation.addresses) and must hold the key authorization', async () => {
  const before0 = await packageState(PRODUCT);
  const c = await bound(PRODUCT);
  const created = await c.newOrder(['live.acme-live.example.com']);
  assert.equal(created.status, 201, created.body);
  const authz = await c.post(created.json.authorizations[0], '');
  const challenge = authz.json.challenges.find((x) => x.type === 'http-01');
  published[challenge.token] = c.keyAuthorization(challenge.token);
  const answered = await c.post(challenge.url, {});
  assert.equal(answered.status, 200, answered.body);
  assert.equal(answered.json.status, 'valid', answered.body);
  assert.ok(seen.some((s) => s.url === `/.well-known/acme-challenge/${challenge.token}` &&
    s.host.startsWith('live.acme-live.example.com')), JSON.stringify(seen));
  const finalized = await c.post(created.json.finalize, { csr: csr(['live.acme-live.example.com']).der });
  assert.equal(finalized.json.status, 'valid', finalized.body);
  assert.deepEqual(await packageState(PRODUCT), { ...before0, used: before0.used + 1, issued: before0.issued + 1 });
});

test('a failed http-01 makes the order invalid and gives its unit back', async () => {
  const before0 = await packageState(PRODUCT);
  const c = await bound(PRODUCT);
  const created = await c.newOrder(['dead.acme-live.example.com']);
  assert.equal(created.status, 201, created.body);
  assert.deepEqual(await packageState(PRODUCT), { ...before0, used: before0.used + 1 });
  const authz = await c.post(created.json.authorizations[0], '');
  const challenge = authz.json.challenges.find((x) => x.type === 'http-01');
  const answered = await c.post(challenge.url, {});
  assert.equal(answered.json.status, 'invalid', answered.body);
  assert.match(answered.json.error.type, /incorrectResponse/);
  assert.equal((await c.post(created.headers.location, '')).json.status, 'invalid');
  assert.equal((await c.post(created.json.authorizations[0], '')).json.status, 'invalid');
  assert.deepEqual(await packageState(PRODUCT), before0);
});

test('dns-01 for a wildcard reads the TXT digest at _acme-challenge of the base name', async () => {
  const before0 = await packageState(WILDCARD);
  const c = await bound(WILDCARD);
  const created = await c.newOrder(['*.wild-live.example.com']);
  assert.equal(created.status, 201, created.body);
  const authz = await c.post(created.json.authorizations[0], '');
  const challenge = authz.json.challenges.find((x) => x.type === 'dns-01');
  const digest = crypto.createHash('sha256').update(c.keyAuthorization(challenge.token)).digest('base64url');
  await dns.stop();
  dns = await startDnsmasq(dnsPort, { '_acme-challenge.wild-live.example.com': digest });
  const answered = await c.post(challenge.url, {});
  assert.equal(answered.json.status, 'valid', answered.body);
  const finalized = await c.post(created.json.finalize, { csr: csr(['*.wild-live.example.com']).der });
  assert.equal(finalized.json.status, 'valid', finalized.body);
  assert.deepEqual(await packageState(WILDCARD), { ...before0, used: before0.used + 1, issued: before0.issued + 1 });
});
