'use strict';
// The official SDK clients, and raw requests signed with the SDK's own helpers for what an
// SDK will not send (replays, stale dates, other Actions, broken requests).
const crypto = require('node:crypto');
const http = require('node:http');
const net = require('node:net');
const querystring = require('node:querystring');
const Cas = require('@alicloud/cas20200407');
const { $OpenApiUtil, OpenApiUtil } = require('@alicloud/openapi-core');
const RPCClient = require('@alicloud/pop-core');

const VERSION = '2020-04-07';

function casClient(server, key = server.demo, extra = {}) {
  return new Cas.default(new $OpenApiUtil.Config({
    accessKeyId: key.AccessKeyId, accessKeySecret: key.AccessKeySecret,
    endpoint: server.endpoint, protocol: 'HTTP', ...extra,
  }));
}

function popClient(server, key = server.demo) {
  return new RPCClient({
    accessKeyId: key.AccessKeyId, accessKeySecret: key.AccessKeySecret,
    endpoint: `http://${server.endpoint}`, apiVersion: VERSION,
  });
}

const isoNow = (offsetSeconds = 0) =>
  new Date(Date.now() + offsetSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
const nonce = () => crypto.randomBytes(16).toString('hex');
const sha256 = (s) => crypto.createHash('sha256').update(s).digest('hex');

// Sends bytes and parses the answer; {status, headers, body, json}.
function send(server, { method = 'POST', path = '/', headers = {}, body = '', agent, localAddress } = {}) {
  return new Promise((resolve, reject) => {
    let socket = null;
    const req = http.request({ host: server.host, port: server.port, method, path, headers, agent, localAddress }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { data += c; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(data); } catch (_) { /* XML or empty */ }
        resolve({ status: res.statusCode, headers: res.headers, body: data, json, socket });
      });
    });
    req.on('socket', (s) => { socket = s; });
    req.on('error', reject);
    req.end(body);
  });
}

// A V3 (ACS3-HMAC-SHA256) request, signed with openapi-core's getAuthorization.
function signV3(server, { action = 'DescribePackageState', query = {}, key = server.demo, date = isoNow(),
  sigNonce = nonce(), body = '', contentType, version = VERSION, tamper } = {}) {
  const headers = {
    host: server.endpoint, 'x-acs-action': action, 'x-acs-version': version, 'x-acs-date': date,
    'x-acs-signature-nonce': sigNonce, 'x-acs-content-sha256': sha256(body),
  };
  if (contentType) headers['content-type'] = contentType;
  headers.authorization = OpenApiUtil.getAuthorization({ pathname: '/', method: 'POST', query, headers },
    'ACS3-HMAC-SHA256', headers['x-acs-content-sha256'], key.AccessKeyId, key.AccessKeySecret);
  const qs = querystring.stringify(query);
  const request = { method: 'POST', path: qs ? `/?${qs}` : '/', headers, body };
  if (tamper) tamper(request);
  return request;
}

// A V1 (HMAC-SHA1) request, signed with openapi-core's getRPCSignature; GET puts everything in
// the query, POST in a form body.
function signV1(server, { action = 'DescribePackageState', params = {}, key = server.demo, method = 'GET',
  timestamp = isoNow(), sigNonce = nonce(), format = 'JSON' } = {}) {
  const all = {
    Action: action, Version: VERSION, Format: format, AccessKeyId: key.AccessKeyId,
    SignatureMethod: 'HMAC-SHA1', SignatureVersion: '1.0', SignatureNonce: sigNonce, Timestamp: timestamp, ...params,
  };
  all.Signature = OpenApiUtil.getRPCSignature(all, method, key.AccessKeySecret);
  const qs = querystring.stringify(all);
  if (method === 'GET') return { method, path: `/?${qs}`, headers: { host: server.endpoint }, body: '' };
  return { method, path: '/', headers: { host: server.endpoint, 'content-type': 'application/x-www-form-urlencoded' }, body: qs };
}

// Writes raw bytes on a fresh TCP connection; resolves with everything read until close.
function rawExchange(server, chunks, { pauseMs = 0, timeoutMs = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.port, server.host);
    let data = '';
    const timer = setTimeout(() => { socket.destroy(); reject(new Error('no answer in time: ' + data)); }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (d) => { data += d; });
    socket.on('error', () => {});
    socket.on('close', () => { clearTimeout(timer); resolve(parseRawResponse(data)); });
    socket.on('connect', async () => {
      for (const c of chunks) {
        socket.write(c);
        if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
      }
    });
  });
}

function parseRawResponse(text) {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
  const bodyStart = text.indexOf('\r\n\r\n');
  let json = null;
  try { json = JSON.parse(text.slice(bodyStart + 4)); } catch (_) { /* none */ }
  return { status: m ? Number(m[1]) : 0, text, json };
}

module.exports = { Cas, casClient, popClient, send, signV3, signV1, rawExchange, isoNow, nonce, VERSION };
