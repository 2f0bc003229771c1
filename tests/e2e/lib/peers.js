'use strict';
// Real validation peers on loopback: dnsmasq answering TXT records, and an HTTP server
// publishing fileauth.txt per host name.
const { spawn } = require('node:child_process');
const dgram = require('node:dgram');
const http = require('node:http');
const net = require('node:net');

// A port free for both UDP and TCP (dnsmasq binds both), below the ephemeral range so client
// connections of tests running beside this one cannot take it meanwhile.
async function freeLoopbackPort() {
  const tryPort = (port) => new Promise((resolve) => {
    const u = dgram.createSocket('udp4');
    u.once('error', () => resolve(false));
    u.bind(port, '127.0.0.1', () => {
      const t = net.createServer();
      t.once('error', () => u.close(() => resolve(false)));
      t.listen(port, '127.0.0.1', () => t.close(() => u.close(() => resolve(true))));
    });
  });
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (await tryPort(port)) return port;
  }
}

// dnsmasq on 127.0.0.1:port with the given TXT records ({name: value}); resolves once started.
// A port still held by the previous instance for a moment is retried, briefly.
async function startDnsmasq(port, records) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await startDnsmasqOnce(port, records);
    } catch (e) {
      if (attempt >= 20 || !/Address already in use/.test(e.message)) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function startDnsmasqOnce(port, records) {
  const args = ['--no-daemon', '--conf-file=/dev/null', `--port=${port}`, '--listen-address=127.0.0.1',
    '--bind-interfaces', '--no-resolv', '--no-hosts', '--pid-file=', '--log-facility=-'];
  if (process.getuid && process.getuid() === 0) args.push('--user=root');
  for (const [name, value] of Object.entries(records)) args.push(`--txt-record=${name},${value}`);
  const child = spawn('dnsmasq', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('dnsmasq did not start: ' + log)), 10000);
    const onData = (d) => {
      log += d;
      if (/started, version/.test(log)) {
        clearTimeout(timer);
        resolve({ stop: () => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); }) });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`dnsmasq exited ${code}: ${log}`)); });
  });
}

// An HTTP server answering /.well-known/pki-validation/fileauth.txt with files[Host].
async function startFileServer() {
  const files = {};
  const seen = [];
  const server = http.createServer((req, res) => {
    const host = (req.headers.host || '').split(':')[0];
    seen.push({ host, url: req.url });
    if (req.url === '/.well-known/pki-validation/fileauth.txt' && files[host]) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(files[host] + '\n');
    } else {
      res.writeHead(404);
      res.end('not here');
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { port: server.address().port, files, seen, stop: () => new Promise((r) => server.close(r)) };
}

module.exports = { freeLoopbackPort, startDnsmasq, startFileServer };
