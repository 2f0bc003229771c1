'use strict';
// The HTTP layer against hostile clients (issue #12): client bytes never break the JSON log or
// a response body, and 1,000 hostile connections neither lock out a signed request nor blow up
// the server's memory.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const sax = require('sax');
const { startServer } = require('./lib/server');
const { Cas, casClient, isoNow, nonce } = require('./lib/clients');

const utf8 = new TextDecoder('utf-8', { fatal: true });

// Sends raw bytes on a fresh connection, half-closes, and returns every byte read until close.
function rawBytes(server, bytes, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.port, server.host);
    const chunks = [];
    const timer = setTimeout(() => { socket.destroy(); reject(new Error('no answer in time')); }, timeoutMs);
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', () => {});
    socket.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(chunks)); });
    socket.on('connect', () => socket.end(bytes));
  });
}

// {status, contentType, body (a string: throws if not UTF-8)} of a single raw response.
function parseResponse(buf) {
  const end = buf.indexOf('\r\n\r\n');
  assert.ok(end > 0, 'a response came back');
  const head = buf.subarray(0, end).toString('latin1');
  const body = utf8.decode(buf.subarray(end + 4));  // throws on ill-formed UTF-8
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)[1]), contentType: /content-type: ([^\r]*)/i.exec(head)[1], body };
}

// Well-formed XML 1.0 (sax in strict mode throws otherwise) without forbidden characters;
// returns the text of each element by name.
function parseXml(text) {
  assert.doesNotMatch(text, /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/, 'no character XML 1.0 forbids');
  const parser = sax.parser(true);
  const fields = {};
  let current = null;
  parser.onerror = (e) => { throw e; };
  parser.onopentag = (t) => { current = t.name; };
  parser.ontext = (t) => { if (current) fields[current] = (fields[current] || '') + t; };
  parser.onclosetag = () => { current = null; };
  parser.write(text).close();
  return fields;
}

// Each stderr line since `from` is UTF-8 and a JSON object; returns them parsed.
function logLines(raw) {
  const text = utf8.decode(Buffer.concat(raw));
  return text.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));
}

test('hostile Authorization, Host and parameter bytes: every body and log line stays valid', async () => {
  const server = await startServer();
  const raw = [];
  server.child.stderr.on('data', (d) => raw.push(d));
  try {
    const hostile = Buffer.from([0xff, 0xfe, 0x22, 0x3c, 0x26, 0x27]);  // ff fe " < & '
    const request = (query) => Buffer.concat([
      Buffer.from(`POST /${query} HTTP/1.1\r\nHost: h`), hostile, Buffer.from(':8080\r\n'),
      Buffer.from('Authorization: ACS3-HMAC-SHA256 Credential='), hostile,
      Buffer.from(',SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=00\r\n'),
      Buffer.from('x-acs-action: DescribePackageState\r\nx-acs-version: 2020-04-07\r\n'),
      Buffer.from(`x-acs-date: ${isoNow()}\r\nx-acs-signature-nonce: ${nonce()}\r\n`),
      Buffer.from('x-acs-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\r\n'),
      Buffer.from('Content-Length: 0\r\nConnection: close\r\n\r\n'),
    ]);

    const xml = parseResponse(await rawBytes(server, request('?Format=XML')));
    assert.equal(xml.contentType, 'text/xml;charset=utf-8');
    const fields = parseXml(xml.body);
    assert.equal(fields.HostId, 'h\ufffd\ufffd"<&\'');
    assert.ok(fields.Code, xml.body);

    const json = parseResponse(await rawBytes(server, request('')));
    const envelope = JSON.parse(json.body);
    assert.equal(envelope.HostId, 'h\ufffd\ufffd"<&\'');

    // A V1 request whose Action and AccessKeyId decode to control characters and quotes.
    const v1 = `GET /?Action=%01%22%7D&Version=2020-04-07&Format=XML&AccessKeyId=%02%22%0A&SignatureMethod=HMAC-SHA1` +
      `&SignatureVersion=1.0&SignatureNonce=${nonce()}&Timestamp=${encodeURIComponent(isoNow())}&Signature=x HTTP/1.1\r\n` +
      'Host: h\r\nConnection: close\r\n\r\n';
    const v1Answer = parseResponse(await rawBytes(server, v1));
    parseXml(v1Answer.body);

    // Every line the server wrote meanwhile parses, and the access log kept what was sent.
    await server.stop();
    const lines = logLines(raw);
    const access = lines.filter((l) => l.msg === 'request');
    assert.equal(access.length, 3, JSON.stringify(lines));
    assert.equal(access[0].access_key_id, '\ufffd\ufffd"<&\'');
    assert.equal(access[2].action, '\u0001"}');
  } finally {
    await server.stop();
  }
});

// VmRSS of a process in MiB.
function rssMiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) / 1024;
}

// Bytes on their way to or inside the server on `port`, over every loopback TCP socket: sent
// but not yet taken by the server (client send queues, server receive queues), plus
// connections not yet accepted (a listener's receive queue). 0 once the server read it all.
function bytesInFlight(port) {
  let total = 0;
  for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5) continue;
    const local = parseInt(f[1].split(':')[1], 16);
    const remote = parseInt(f[2].split(':')[1], 16);
    if (local !== port && remote !== port) continue;
    const [tx, rx] = f[4].split(':').map((h) => parseInt(h, 16));
    total += tx + rx;
  }
  return total;
}

async function waitUntil(condition, ms, what) {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('1,000 hostile connections: a signed request still gets in, and memory stays bounded', async (t) => {
  // Under AddressSanitizer (the sanitizer build runs this suite too) freed memory waits in a
  // 256 MiB quarantine by default, which would be measured as the server's: without it the bound
  // is about certplan (measured: ~220 MiB with ASan's shadow, ~110 MiB in the plain build). A
  // build without ASan ignores the variable.
  const asan = `${process.env.ASAN_OPTIONS || ''}:quarantine_size_mb=0:thread_local_quarantine_size_kb=0:malloc_context_size=4`;
  const server = await startServer({ config: '[server]\nmax_connections = 1200\n', env: { ASAN_OPTIONS: asan } });
  const sockets = [];
  let peakRss = rssMiB(server.child.pid);
  const sampler = setInterval(() => { peakRss = Math.max(peakRss, rssMiB(server.child.pid)); }, 50);
  try {
    const bodyBytes = 1048576;
    const almost = Buffer.alloc(bodyBytes - 1, 0x61);  // one shared buffer: the last byte never comes
    const refused = [];
    const settled = [];
    for (let i = 0; i < 1000; i++) {
      const socket = net.connect(server.port, server.host);
      sockets.push(socket);
      socket.on('error', () => {});
      if (i % 2 === 0) continue;  // idle: never sends a byte
      const chunks = [];
      socket.on('data', (d) => chunks.push(d));
      settled.push(new Promise((resolve) => {
        socket.on('close', () => { refused.push(Buffer.concat(chunks).toString('latin1')); resolve(); });
        socket.on('connect', () => {
          socket.write(`POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${bodyBytes}\r\n\r\n`);
          socket.write(almost, resolve);  // resolves once the kernel took the bytes
        });
      }));
    }
    // Every mid-body client has either delivered its 1,048,575 bytes or been refused.
    let timer;
    await Promise.race([Promise.all(settled), new Promise((r) => { timer = setTimeout(r, 60000); })]);
    clearTimeout(timer);
    // ... and the server has read every byte sent (the kernel holds megabytes per socket).
    await waitUntil(() => bytesInFlight(server.port) === 0, 60000, 'the server to read what was sent');

    const started = Date.now();
    const reply = await casClient(server).describePackageState(new Cas.DescribePackageStateRequest({}));
    const latency = Date.now() - started;
    assert.equal(reply.body.totalCount, 20);
    assert.ok(latency < 5000, `answered in ${latency} ms`);

    peakRss = Math.max(peakRss, rssMiB(server.child.pid));
    t.diagnostic(`peak RSS ${peakRss.toFixed(1)} MiB, signed request answered in ${latency} ms`);
    // The bound is certplan's: 256 MiB, asserted on a build without sanitizers (measured 95-120
    // MiB). Under AddressSanitizer the same process also holds ASan's shadow and allocator
    // metadata (measured 220-270 MiB for the same load), so there the bound is 384 MiB: still
    // far below what an unbounded buffer per connection would take (1,000 x 1 MiB).
    const sanitized = fs.readFileSync(`/proc/${server.child.pid}/maps`, 'utf8').includes('libasan');
    const bound = sanitized ? 384 : 256;
    assert.ok(peakRss <= bound, `peak RSS ${peakRss.toFixed(1)} MiB (bound ${bound} MiB)`);
    // Bodies beyond the budget were refused with 503 ServiceUnavailable.
    const unavailable = refused.filter((t) => /^HTTP\/1\.1 503 /.test(t) && t.includes('"Code":"ServiceUnavailable"'));
    assert.ok(unavailable.length >= 300, `${unavailable.length} refused of 500`);
  } finally {
    clearInterval(sampler);
    for (const s of sockets) s.destroy();
    await server.stop();
  }
});

test('bad [server] connection settings are refused at start, naming the key', async () => {
  const cases = [
    ['[server]\nbody_budget_bytes = 65536\n', /"Code":"InvalidParameter".*server\.body_budget_bytes.*limits\.body_bytes/],
    ['[server]\nmax_connections = 0\n', /"Code":"InvalidParameter".*server\.max_connections/],
  ];
  for (const [config, expected] of cases) {
    const outcome = await startServer({ config })
      .then(async (s) => { await s.stop(); return 'started'; }, (e) => e.message);
    assert.match(outcome, /exited with 2/);  // a configuration refused: exit 2 (issue 15)
    assert.match(outcome, expected);
  }
});
