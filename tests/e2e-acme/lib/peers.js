'use strict';
// The peers the ACME clients and the servers validate against, all on loopback:
//  - a dnsmasq that answers every name under ZONE with 127.0.0.1 (pebble resolves http-01 names
//    through it) and the TXT records the hooks publish (dns-01). dnsmasq reads --txt-record only
//    when it starts, so a change restarts it and is ready once a query answers the new set;
//  - a control server the hook (hooks/acme-hook.js, run by certbot, lego and uacme) posts
//    dns-01 records and http-01 key authorizations to;
//  - an http-01 responder for the clients that do not serve the challenge themselves (uacme),
//    and one that answers every token with the wrong content (a failing challenge).
const { spawn } = require('node:child_process');
const dns = require('node:dns').promises;
const http = require('node:http');
const { freeLoopbackPort } = require('../../e2e/lib/peers');

const ZONE = 'example.test';

class Dns {
  constructor(port) {
    this.port = port;
    this.records = []; // [name, value]
    this.child = null;
    this.log = '';
  }

  // Starts (or restarts) dnsmasq with the current records; resolves once every record answers.
  async restart() {
    await this.stop();
    for (let attempt = 0; ; attempt++) {
      try {
        await this.startOnce();
        break;
      } catch (e) {
        // The previous instance may hold the port for a moment after it exited.
        if (attempt >= 50 || !/Address already in use/.test(e.message)) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    await this.waitForRecords();
  }

  startOnce() {
    const args = ['--no-daemon', '--conf-file=/dev/null', `--port=${this.port}`, '--listen-address=127.0.0.1',
      '--bind-interfaces', '--no-resolv', '--no-hosts', '--pid-file=', '--log-facility=-', '--cache-size=0',
      `--local=/${ZONE}/`, `--address=/${ZONE}/127.0.0.1`];
    if (process.getuid && process.getuid() === 0) args.push('--user=root');
    for (const [name, value] of this.records) args.push(`--txt-record=${name},${value}`);
    const child = spawn('dnsmasq', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.log = '';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('dnsmasq did not start: ' + this.log)); }, 10000);
      const onData = (d) => {
        this.log += d;
        if (/started, version/.test(this.log)) {
          clearTimeout(timer);
          this.child = child;
          resolve();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('exit', (code) => {
        clearTimeout(timer);
        if (this.child === child) this.child = null;
        reject(new Error(`dnsmasq exited ${code}: ${this.log}`));
      });
    });
  }

  // Until a query for every published name answers exactly its values (10 s at most).
  async waitForRecords() {
    const resolver = new dns.Resolver({ timeout: 500, tries: 1 });
    resolver.setServers([`127.0.0.1:${this.port}`]);
    const want = new Map();
    for (const [name, value] of this.records) want.set(name, [...(want.get(name) || []), value].sort());
    const deadline = Date.now() + 10000;
    for (const [name, values] of want) {
      for (;;) {
        let got = null;
        try {
          got = (await resolver.resolveTxt(name)).map((chunks) => chunks.join('')).sort();
        } catch (_) { /* not answering yet */ }
        if (got && JSON.stringify(got) === JSON.stringify(values)) break;
        if (Date.now() > deadline) throw new Error(`dnsmasq does not answer ${name} TXT ${values}: ${JSON.stringify(got)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  async add(name, value) {
    this.records.push([name, value]);
    await this.restart();
  }

  async remove(name, value) {
    const i = this.records.findIndex(([n, v]) => n === name && v === value);
    if (i < 0) return;
    this.records.splice(i, 1);
    await this.restart();
  }

  stop() {
    const child = this.child;
    this.child = null;
    if (!child) return Promise.resolve();
    return new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); });
  }
}

function listen(server, port = 0) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server.address().port));
  });
}

function close(server) {
  return new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); });
}

// An http-01 responder: answers /.well-known/acme-challenge/TOKEN with keyAuths[TOKEN], or, made
// with `wrong`, every token with content that is not its key authorization.
function challengeResponder(keyAuths, { wrong = false } = {}) {
  const seen = [];
  const server = http.createServer((req, res) => {
    seen.push({ host: req.headers.host, url: req.url });
    const m = /^\/\.well-known\/acme-challenge\/([A-Za-z0-9_-]+)$/.exec(req.url);
    if (m && wrong) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${m[1]}.not-the-key-authorization`);
    } else if (m && keyAuths.has(m[1])) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(keyAuths.get(m[1]));
    } else {
      res.writeHead(404);
      res.end('no such token');
    }
  });
  return { server, seen };
}

// The peers of one test file: dnsmasq, the hook's control server, and the http-01 port every
// client serves its challenges on (one at a time: the tests of a file run in order).
async function startPeers() {
  const dnsPort = await freeLoopbackPort();
  const httpPort = await freeLoopbackPort();
  const dnsServer = new Dns(dnsPort);
  await dnsServer.restart();
  const keyAuths = new Map();
  const hookLog = [];
  // The hook posts {kind: 'dns'|'http', op: 'add'|'remove', name, value} (http: name is the
  // token, value the key authorization); answered once the change is visible.
  let queue = Promise.resolve();
  const control = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      let job;
      try { job = JSON.parse(body); } catch (e) { res.writeHead(400); res.end(e.message); return; }
      hookLog.push(job);
      queue = queue.then(async () => {
        if (job.kind === 'dns') {
          if (job.op === 'add') await dnsServer.add(job.name, job.value);
          else await dnsServer.remove(job.name, job.value);
        } else if (job.op === 'add') keyAuths.set(job.name, job.value);
        else keyAuths.delete(job.name);
      }).then(() => { res.writeHead(200); res.end('ok'); },
        (e) => { res.writeHead(500); res.end(String(e.stack || e)); });
    });
  });
  const controlPort = await listen(control);
  return {
    zone: ZONE,
    dnsPort,
    httpPort,
    dns: dnsServer,
    keyAuths,
    hookLog,
    hookEnv: { ACME_HOOK_URL: `http://127.0.0.1:${controlPort}/` },
    // Serves keyAuths on the http-01 port while `fn` runs (for clients with a hook, not a server).
    async serveChallenges(fn) {
      const { server } = challengeResponder(keyAuths);
      await listen(server, httpPort);
      try { return await fn(); } finally { await close(server); }
    },
    // A responder on a port of its own answering every token wrongly; {port, seen, stop}.
    async startWrongResponder() {
      const { server, seen } = challengeResponder(keyAuths, { wrong: true });
      const port = await listen(server);
      return { port, seen, stop: () => close(server) };
    },
    async stop() {
      await close(control);
      await dnsServer.stop();
    },
  };
}

module.exports = { startPeers, freeLoopbackPort, ZONE };
