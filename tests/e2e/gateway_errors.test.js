'use strict';
// Every rejection path of the gateway asserts its wire Code and HTTP status (issue #2).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer } = require('./lib/server');
const { newAccount, counters, state } = require('./lib/orders');
const { makeCsr } = require('./lib/pki');
const { Cas, casClient, popClient, send, signV3, signV1, rawExchange, isoNow, nonce } = require('./lib/clients');

let server;
// A short read timeout so the slow-request test finishes quickly.
before(async () => { server = await startServer({ config: '[limits]\nread_timeout_seconds = 1\n' }); });
after(async () => { await server.stop(); });

const describe = new Cas.DescribePackageStateRequest({});

function assertEnvelope(r, status, code) {
  assert.equal(r.status, status, `${code}: ${r.body || r.text}`);
  assert.ok(r.json, 'error body is JSON');
  assert.equal(r.json.Code, code);
  assert.match(r.json.RequestId, /^[0-9A-F-]{36}$/);
  assert.equal(typeof r.json.HostId, 'string');
  assert.equal(typeof r.json.Message, 'string');
  assert.match(r.json.Recommend, new RegExp(code.replace('.', '\\.')));
}

test('wrong secret: SignatureDoesNotMatch through V3 and pop-core', async () => {
  const bad = { ...server.demo, AccessKeySecret: 'not-the-secret' };
  await assert.rejects(casClient(server, bad).describePackageState(describe),
    (e) => e.code === 'SignatureDoesNotMatch' && e.statusCode === 400 && /server string to sign is:/.test(e.message));
  await assert.rejects(popClient(server, bad).request('DescribePackageState', {}), (e) => e.code === 'SignatureDoesNotMatch');
});

test('unknown AccessKey: InvalidAccessKeyId.NotFound 404', async () => {
  const unknown = { AccessKeyId: 'LTAInobodyhasthiskey1234', AccessKeySecret: 'x' };
  await assert.rejects(casClient(server, unknown).describePackageState(describe),
    (e) => e.code === 'InvalidAccessKeyId.NotFound' && e.statusCode === 404);
  await assert.rejects(popClient(server, unknown).request('DescribePackageState', {}), (e) => e.code === 'InvalidAccessKeyId.NotFound');
});

test('STS token: InvalidSecurityToken.Malformed', async () => {
  await assert.rejects(casClient(server, server.demo, { securityToken: 'STS.forged' }).describePackageState(describe),
    (e) => e.code === 'InvalidSecurityToken.Malformed' && e.statusCode === 400);
});

test('replayed nonce: SignatureNonceUsed, for V3 and V1', async () => {
  const v3 = signV3(server);
  assert.equal((await send(server, v3)).status, 200);
  assertEnvelope(await send(server, v3), 400, 'SignatureNonceUsed');
  const v1 = signV1(server);
  assert.equal((await send(server, v1)).status, 200);
  assertEnvelope(await send(server, v1), 400, 'SignatureNonceUsed');
});

// A replayed Create* changes nothing, on either store: not the order issued at once (auto mode,
// a CSR: validated, signed and stored in one transaction, whose PostgreSQL write claims the
// nonce itself), not the order left for the worker.
test('a replayed Create* is SignatureNonceUsed and issues or takes nothing', async () => {
  const CODE = 'geotrust-dv-1-starter';
  const a = await newAccount(server, { [CODE]: 5 });
  const { csr } = makeCsr({ cn: 'replay.example.com' });
  const withCsr = signV3(server, { action: 'CreateCertificateWithCsrRequest', key: a.key,
    query: { ProductCode: CODE, Csr: csr, Username: 'Ops', Phone: '13900000000', Email: 'ops@example.com', ValidateType: 'DNS' } });
  const first = await send(server, withCsr);
  assert.equal(first.status, 200, first.body);
  assert.equal((await state(a.client, first.json.OrderId)).type, 'certificate', 'issued at once');
  assertEnvelope(await send(server, withCsr), 400, 'SignatureNonceUsed');
  assert.deepEqual(await counters(a.client, CODE), { total: 5, used: 1, issued: 1 });
  const forPackage = signV3(server, { action: 'CreateCertificateForPackageRequest', key: a.key,
    query: { ProductCode: CODE, Domain: 'replay2.example.com', ValidateType: 'DNS' } });
  assert.equal((await send(server, forPackage)).status, 200);
  assertEnvelope(await send(server, forPackage), 400, 'SignatureNonceUsed');
  assert.equal((await counters(a.client, CODE)).used, 2);
});

test('a forged request does not burn the nonce', async () => {
  const n = nonce();
  const forged = signV3(server, { sigNonce: n, key: { ...server.demo, AccessKeySecret: 'wrong' } });
  assertEnvelope(await send(server, forged), 400, 'SignatureDoesNotMatch');
  assert.equal((await send(server, signV3(server, { sigNonce: n }))).status, 200);
});

test('stale or future timestamp: InvalidTimeStamp.Expired; malformed: InvalidTimeStamp.Format', async () => {
  assertEnvelope(await send(server, signV3(server, { date: isoNow(-16 * 60) })), 400, 'InvalidTimeStamp.Expired');
  assertEnvelope(await send(server, signV3(server, { date: isoNow(16 * 60) })), 400, 'InvalidTimeStamp.Expired');
  assertEnvelope(await send(server, signV1(server, { timestamp: isoNow(-16 * 60) })), 400, 'InvalidTimeStamp.Expired');
  assertEnvelope(await send(server, signV3(server, { date: new Date().toISOString() })), 400, 'InvalidTimeStamp.Format');
  assertEnvelope(await send(server, signV1(server, { timestamp: '27/11/2026' })), 400, 'InvalidTimeStamp.Format');
});

test('unknown Action: InvalidAction.NotFound 404; wrong Version: InvalidVersion', async () => {
  assertEnvelope(await send(server, signV3(server, { action: 'DescribeNothing' })), 404, 'InvalidAction.NotFound');
  assertEnvelope(await send(server, signV1(server, { action: 'ListCertWarehouse' })), 404, 'InvalidAction.NotFound');
  assertEnvelope(await send(server, signV3(server, { version: '2018-07-13' })), 400, 'InvalidVersion');
  const other = signV3(server);
  other.path = '/v1/describe';
  assertEnvelope(await send(server, other), 404, 'InvalidAction.NotFound');
});

test('unsupported HTTP method: UnsupportedHTTPMethod 403', async () => {
  for (const method of ['PUT', 'DELETE', 'PATCH']) {
    const req = signV3(server);
    req.method = method;
    assertEnvelope(await send(server, req), 403, 'UnsupportedHTTPMethod');
  }
});

test('signature missing, unparsable, unsigned headers, unsupported scheme', async () => {
  assertEnvelope(await send(server, { method: 'GET', path: '/?Action=DescribePackageState&Version=2020-04-07' }), 400, 'MissingParameter');
  assertEnvelope(await send(server, signV3(server, { tamper: (r) => { r.headers.authorization = 'ACS3-HMAC-SHA256 nonsense'; } })),
    400, 'IncompleteSignature');
  const unsorted = signV3(server, { tamper: (r) => {
    r.headers.authorization = r.headers.authorization.replace('host;x-acs-action', 'x-acs-action;host');
  } });
  assertEnvelope(await send(server, unsorted), 400, 'IncompleteSignature');
  for (const scheme of ['ACS4-HMAC-SHA256', 'ACS3-RSA-SHA256', 'Bearer']) {
    const r = signV3(server, { tamper: (q) => { q.headers.authorization = q.headers.authorization.replace(/^\S+/, scheme); } });
    assertEnvelope(await send(server, r), 400, 'InvalidSignatureMethod');
  }
  const v1 = signV1(server);
  v1.path = v1.path.replace('SignatureMethod=HMAC-SHA1', 'SignatureMethod=HMAC-MD5');
  assertEnvelope(await send(server, v1), 400, 'InvalidSignatureMethod');
});

test('body not matching x-acs-content-sha256: SignatureDoesNotMatch', async () => {
  const r = signV3(server, { body: 'ProductCode=digicert-free-1-free', contentType: 'application/x-www-form-urlencoded' });
  r.body = 'ProductCode=symantec-free-1-free';
  assertEnvelope(await send(server, r), 400, 'SignatureDoesNotMatch');
});

test('bad Format, repeated or undecodable parameters: InvalidParameter(.Format)', async () => {
  assertEnvelope(await send(server, signV1(server, { format: 'YAML' })), 400, 'InvalidParameter.Format');
  const dup = signV3(server, { query: { ProductCode: 'digicert-free-1-free' } });
  dup.path += '&ProductCode=symantec-free-1-free';
  assertEnvelope(await send(server, dup), 400, 'InvalidParameter');
  const bad = signV3(server);
  bad.path = '/?ProductCode=%E5%BC';
  assertEnvelope(await send(server, bad), 400, 'InvalidParameter');
});

test('oversized body: 413 with the error envelope', async () => {
  const big = 'ProductCode=' + 'a'.repeat(2 * 1024 * 1024);
  const r = await rawExchange(server, [
    `POST / HTTP/1.1\r\nHost: ${server.endpoint}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${big.length}\r\n\r\n`,
    big,
  ]);
  assertEnvelope(r, 413, 'RequestEntityTooLarge');
});

test('oversized headers: 431 with the error envelope', async () => {
  const r = await rawExchange(server, [`GET /?x=${'a'.repeat(65 * 1024)} HTTP/1.1\r\nHost: h\r\n\r\n`]);
  assertEnvelope(r, 431, 'RequestHeaderFieldsTooLarge');
});

test('a 60 KiB query fits the 64 KiB header budget (an upload puts Cert and Key there)', async () => {
  const r = await rawExchange(server, [`GET /?x=${'a'.repeat(60 * 1024)} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`]);
  assertEnvelope(r, 400, 'MissingParameter');
});

test('malformed HTTP: 400 BadRequest', async () => {
  const r = await rawExchange(server, ['GARBAGE\x01 / HTTP/9.9\r\n\r\n']);
  assertEnvelope(r, 400, 'BadRequest');
  const cl = await rawExchange(server, ['POST / HTTP/1.1\r\nHost: h\r\nContent-Length: abc\r\n\r\n']);
  assertEnvelope(cl, 400, 'BadRequest');
});

test('a stalled request gets 408 and the server keeps serving', async () => {
  const started = Date.now();
  const r = await rawExchange(server, ['POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\nProductCode='], { timeoutMs: 8000 });
  assertEnvelope(r, 408, 'RequestTimeout');
  assert.ok(Date.now() - started >= 900, 'answered only after the read timeout');
  const ok = await casClient(server).describePackageState(describe);
  assert.equal(ok.body.totalCount, 20);
});

test('an idle keep-alive connection is closed quietly after the timeout', async () => {
  const r = await rawExchange(server, [], { timeoutMs: 8000 });
  assert.equal(r.status, 0);
  assert.equal(r.text, '');
});

test('a JSON body is read as parameters under V3 only; another body type is refused by name', async () => {
  // The case: the body names a ProductCode; the answer must be for that code.
  const body = JSON.stringify({ ProductCode: 'symantec-free-1-free' });
  const v3 = await send(server, signV3(server, { body, contentType: 'application/json; charset=utf-8' }));
  assert.equal(v3.status, 200, v3.body);
  assert.equal(v3.json.ProductCode, 'symantec-free-1-free');
  // Tampering with the JSON breaks the signed body hash.
  const tampered = await send(server, signV3(server, { body, contentType: 'application/json',
    tamper: (r) => { r.body = JSON.stringify({ ProductCode: 'digicert-free-1-free' }); } }));
  assertEnvelope(tampered, 400, 'SignatureDoesNotMatch');
  // A name in both the query and the body is ambiguous.
  const both = await send(server, signV3(server, { body, contentType: 'application/json', query: { ProductCode: 'digicert-free-1-free' } }));
  assertEnvelope(both, 400, 'InvalidParameter');
  assertEnvelope(await send(server, signV3(server, { body: '[1]', contentType: 'application/json' })), 400, 'InvalidParameter');
  // V1 never reads a JSON body (the V1 signature does not cover it).
  // A V1 POST whose signed parameters travel in the query, with a JSON body beside them.
  const v1 = signV1(server, { method: 'POST' });
  v1.path = `/?${v1.body}`;
  v1.headers['content-type'] = 'application/json';
  v1.body = body;
  const refused = await send(server, v1);
  assertEnvelope(refused, 400, 'InvalidParameter');
  assert.match(refused.json.Message, /Content-Type/);
  // Nor any body type certplan does not read, under either scheme.
  const text = await send(server, signV3(server, { body: 'ProductCode=symantec-free-1-free', contentType: 'text/plain' }));
  assertEnvelope(text, 400, 'InvalidParameter');
  assert.match(text.json.Message, /text\/plain/);
  // The body is judged where spec §2.3 puts parameters: after the AccessKey and the signature.
  const unknownKey = signV1(server, { method: 'POST', key: { AccessKeyId: 'LTAInobodyhasthiskey00', AccessKeySecret: 'x' } });
  unknownKey.path = `/?${unknownKey.body}`;
  unknownKey.headers['content-type'] = 'application/json';
  unknownKey.body = body;
  assertEnvelope(await send(server, unknownKey), 404, 'InvalidAccessKeyId.NotFound');
  const wrongSecret = signV3(server, { body: '{bad', contentType: 'application/json',
    key: { AccessKeyId: server.demo.AccessKeyId, AccessKeySecret: 'not-the-secret' } });
  assertEnvelope(await send(server, wrongSecret), 400, 'SignatureDoesNotMatch');
});
