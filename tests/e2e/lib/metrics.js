'use strict';
// The /metrics listener of a server started with `[server] metrics_listen = "127.0.0.1:0"`:
// its address from the "metrics at http://HOST:PORT/metrics" line (logged before "listening
// on", so present once startServer resolved), a scrape, and a sample read from the text.
const http = require('node:http');

function metricsAddress(server) {
  const m = /metrics at http:\/\/([0-9.]+):(\d+)\/metrics/.exec(server.logs());
  if (!m) throw new Error(`no metrics line in the log:\n${server.logs()}`);
  return { host: m[1], port: Number(m[2]) };
}

// GET a path on HOST:PORT; {status, headers, body}.
function get({ host, port }, path, method = 'GET') {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function scrape(server) {
  const r = await get(metricsAddress(server), '/metrics');
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}: ${r.body}`);
  return r.body;
}

// The value of the sample `name{labels}` exactly as written (labels in their rendered order),
// or undefined when absent.
function sample(text, series) {
  for (const line of text.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

module.exports = { metricsAddress, get, scrape, sample };
