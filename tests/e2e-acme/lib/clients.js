'use strict';
// The real ACME clients from Debian, run as child processes against a target (lib/target.js):
// certbot 2.1, lego 4.9.1, uacme 1.7.4. Each run gets a fresh directory under the OS's temp
// directory unless one is given (to keep an ACME account across runs). Every function resolves
// {code, output, dir, …}: the exit code and stdout+stderr together, for assertions on refusals.
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const HOOK = path.resolve(__dirname, '../hooks/acme-hook.js');
const EMAIL = 'acme-e2e@example.test';

// Runs a command; resolves {code, output} (it is killed after timeoutMs: a hung client fails).
function run(cmd, args, { env = {}, timeoutMs = 120000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    const timer = setTimeout(() => { output += `\n[killed after ${timeoutMs} ms]`; child.kill('SIGKILL'); }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code === null ? `signal ${signal}` : code, output: `$ ${cmd} ${args.join(' ')}\n${output}` });
    });
  });
}

// Client directories (accounts, keys, certificates) are removed when the test process exits.
const tempDirs = [];
process.on('exit', () => { for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true }); });
function tempDir(what) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `acme-e2e-${what}-`));
  tempDirs.push(dir);
  return dir;
}

// certbot certonly. challenge: 'http' (--standalone on the peers' http-01 port) or 'dns'
// (--manual with the hook publishing into dnsmasq). dir: a directory holding certbot's config,
// work and logs (reuse it to keep the ACME account). Resolves also {certFile, chainFile, fullchainFile}.
async function certbot(target, peers, { names, eab, challenge = 'http', dir = tempDir('certbot'), server = target.directory,
  dryRun = false, extra = [] }) {
  const certName = names[0].replace(/^\*\./, 'wildcard.');
  const args = ['certonly', '--server', server, '--non-interactive', '--agree-tos', '-m', EMAIL,
    '--config-dir', `${dir}/config`, '--work-dir', `${dir}/work`, '--logs-dir', `${dir}/logs`,
    '--cert-name', certName, ...names.flatMap((n) => ['-d', n])];
  if (eab) args.push('--eab-kid', eab.kid, '--eab-hmac-key', eab.hmac);
  if (challenge === 'http') {
    args.push('--standalone', '--preferred-challenges', 'http', '--http-01-port', String(peers.httpPort),
      '--http-01-address', '127.0.0.1');
  } else {
    args.push('--manual', '--preferred-challenges', 'dns', '--manual-auth-hook', `${HOOK} certbot-auth`,
      '--manual-cleanup-hook', `${HOOK} certbot-cleanup`);
  }
  if (dryRun) args.push('--dry-run');
  args.push(...extra);
  const r = await run('certbot', args, { env: { REQUESTS_CA_BUNDLE: target.caFile, ...peers.hookEnv } });
  const live = `${dir}/config/live/${certName}`;
  // certbot's debug log of this run: every ACME response in full (the problem document's type
  // is there even where certbot prints only its detail).
  const log = () => { try { return fs.readFileSync(`${dir}/logs/letsencrypt.log`, 'utf8'); } catch (_) { return ''; } };
  return { ...r, dir, log, certFile: `${live}/cert.pem`, chainFile: `${live}/chain.pem`, fullchainFile: `${live}/fullchain.pem` };
}

// certbot revoke of a certificate obtained by certbot with the same dir (its account).
function certbotRevoke(target, { dir, certFile, reason = 'unspecified', server = target.directory }) {
  return run('certbot', ['revoke', '--server', server, '--non-interactive', '--cert-path', certFile,
    '--reason', reason, '--no-delete-after-revoke', '--config-dir', `${dir}/config`, '--work-dir', `${dir}/work`,
    '--logs-dir', `${dir}/logs`], { env: { REQUESTS_CA_BUNDLE: target.caFile } });
}

// lego run. challenge: 'http' (its own server on the peers' http-01 port) or 'dns' (--dns exec
// with the hook, resolvers = the peers' dnsmasq). Resolves also {fullchainFile}.
// keyType (lego's --key-type: ec256, ec384, rsa2048, …) is both the account's key and the
// certificate's: ec384 signs its JWS with ES384, rsa2048 with RS256.
async function lego(target, peers, { names, eab, challenge = 'http', dir = tempDir('lego'), server = target.directory,
  keyType = 'ec256' }) {
  const args = ['--server', server, '--accept-tos', '--email', EMAIL, '--path', dir, '--key-type', keyType,
    ...names.flatMap((n) => ['--domains', n])];
  if (eab) args.push('--eab', '--kid', eab.kid, '--hmac', eab.hmac);
  if (challenge === 'http') {
    args.push('--http', '--http.port', `127.0.0.1:${peers.httpPort}`);
  } else {
    args.push('--dns', 'exec', '--dns.resolvers', `127.0.0.1:${peers.dnsPort}`, '--dns.disable-cp');
  }
  args.push('run');
  const r = await run('lego', args, {
    env: { LEGO_CA_CERTIFICATES: target.caFile, EXEC_PATH: HOOK, EXEC_PROPAGATION_TIMEOUT: '10', EXEC_POLLING_INTERVAL: '1',
      // The exec provider solves one name at a time and waits EXEC_SEQUENCE_INTERVAL (60 s) between.
      EXEC_SEQUENCE_INTERVAL: '1', ...peers.hookEnv },
  });
  // lego names the files after the first domain, '*' written as '_'.
  const base = names[0].replace(/\*/g, '_');
  return { ...r, dir, fullchainFile: `${dir}/certificates/${base}.crt`, issuerFile: `${dir}/certificates/${base}.issuer.crt` };
}

// uacme 1.7.4 has no option for a CA file: it reads the system trust store through libcurl and
// GnuTLS. It runs in a mount namespace of its own where the target's CA file is bind-mounted
// over /etc/ssl/certs/ca-certificates.crt — a private trust store; the machine's is untouched.
function uacmeCommand(caFile, args) {
  const inner = ['sh', '-c', 'mount --bind "$0" /etc/ssl/certs/ca-certificates.crt && exec uacme "$@"', caFile, ...args];
  const ns = process.getuid() === 0 ? ['--mount', '--propagation', 'private']
    : ['--user', '--map-root-user', '--mount', '--propagation', 'private'];
  return ['unshare', [...ns, ...inner]];
}

// uacme new (with EAB) then uacme issue; challenges through the hook (ACME_HOOK_TYPES chooses
// which). Resolves also {fullchainFile} and the outputs of both steps.
async function uacme(target, peers, { names, eab, types = 'http-01', dir = tempDir('uacme'), server = target.directory }) {
  const common = ['-v', '-c', dir, '-a', server, '-t', 'EC'];
  const env = { ...peers.hookEnv, ACME_HOOK_TYPES: types };
  const [c1, a1] = uacmeCommand(target.caFile, [...common, ...(eab ? ['-e', `${eab.kid}:${eab.hmac}`] : []), '-y', 'new', EMAIL]);
  const created = await run(c1, a1, { env });
  if (created.code !== 0) return { ...created, dir };
  const [c2, a2] = uacmeCommand(target.caFile, [...common, '-h', HOOK, 'issue', ...names]);
  const issued = await run(c2, a2, { env });
  return { code: issued.code, output: created.output + issued.output, dir, fullchainFile: `${dir}/${names[0]}/cert.pem` };
}

// Checks a PEM chain (leaf first) against the target's root: `openssl verify` with the root as
// the only trust anchor, the rest of the file as untrusted intermediates; returns the leaf's
// DNS names (lower-cased, sorted).
function verifyChain(target, fullchainFile) {
  const pem = fs.readFileSync(fullchainFile, 'utf8');
  const certs = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) || [];
  if (certs.length < 2) throw new Error(`${fullchainFile}: expected the leaf and its chain, found ${certs.length} certificate(s)`);
  const dir = path.dirname(fullchainFile);
  const leaf = path.join(dir, 'verify-leaf.pem');
  const rest = path.join(dir, 'verify-chain.pem');
  fs.writeFileSync(leaf, certs[0]);
  fs.writeFileSync(rest, certs.slice(1).join(''));
  const out = execFileSync('openssl', ['verify', '-CAfile', target.rootFile, '-untrusted', rest, '-purpose', 'sslserver', leaf],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (!/: OK\s*$/.test(out)) throw new Error(`openssl verify: ${out}`);
  return dnsNames(leaf);
}

function dnsNames(pemFile) {
  const text = execFileSync('openssl', ['x509', '-in', pemFile, '-noout', '-ext', 'subjectAltName'], { encoding: 'utf8' });
  return [...text.matchAll(/DNS:([^,\s]+)/g)].map((m) => m[1].toLowerCase()).sort();
}

module.exports = { run, certbot, certbotRevoke, lego, uacme, verifyChain, dnsNames, tempDir };
