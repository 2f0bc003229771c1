// A session of certd's own CAS client (AliyunSslClient of @certd/plugin-lib) in a child process:
// reads one JSON request a line on stdin — {id, endpoint, accessKeyId, accessKeySecret, method,
// args}, `endpoint` HOST:PORT (certd prefixes https:// itself), `method` one of AliyunSslClient's
// methods, an argument {"BigNumber":"<decimal>"} meaning a BigNumber — makes that call with a client built as certd builds it, and answers one line on
// stdout: `CERTD-RESULT ` then {"id":…,"ok":true,"result":…} or {"id":…,"ok":false,"error":{…}}
// (certd's plugin registry logs to stdout too, hence the marker).
//
// It is a child process of the test because the CA that certplan's HTTPS listener presents is
// only known once the server runs, and node reads NODE_EXTRA_CA_CERTS at process start: the test
// spawns this file with NODE_EXTRA_CA_CERTS=<ca file>, so certd runs exactly as shipped (its own
// https agent, verification on) and trusts that CA.
import { createRequire } from 'node:module';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { AliyunSslClient } from '@certd/plugin-lib';

// The json-bigint pop-core parses answers with (resolved from pop-core itself).
const JSONbig = createRequire(fileURLToPath(import.meta.resolve('@alicloud/pop-core')))('json-bigint');

const line = (level) => (...a) => process.stderr.write(`[certd ${level}] ${a.map(String).join(' ')}\n`);
const logger = { info: line('info'), warn: line('warn'), error: line('error'), debug: line('debug') };

// pop-core parses answers with json-bigint: a number of more than 15 digits becomes a BigNumber
// object (whose toJSON is its decimal string). Printed as {"BigNumber":"<decimal>"} so the test
// sees exactly what certd got.
function faithful(key, value) {
  const original = this[key];
  return original && original._isBigNumber === true ? { BigNumber: original.toString() } : value;
}

// An argument {"BigNumber":"<decimal>"} becomes that BigNumber again: what certd passes on when it
// hands a CertId it got back to the next call in the same process.
function revive(arg) {
  if (arg && typeof arg === 'object' && Object.keys(arg).length === 1 && typeof arg.BigNumber === 'string') {
    return JSONbig.parse(`{"v":${arg.BigNumber}}`).v;
  }
  return arg;
}

async function call(req) {
  const client = new AliyunSslClient({
    access: { accessKeyId: req.accessKeyId, accessKeySecret: req.accessKeySecret },
    logger,
    endpoint: req.endpoint,
  });
  try {
    const result = await client[req.method](...req.args.map(revive));
    return { id: req.id, ok: true, result: result === undefined ? null : result };
  } catch (e) {
    // pop-core's error: code/name from the answer's Code, data the answer, url the request.
    const error = { message: e.message, name: e.name, code: e.code, data: e.data, url: e.url };
    if (e.entry && e.entry.response) error.statusCode = e.entry.response.statusCode;
    return { id: req.id, ok: false, error };
  }
}

process.stdout.write('\nCERTD-READY\n');
for await (const text of readline.createInterface({ input: process.stdin })) {
  if (!text.trim()) continue;
  const out = await call(JSON.parse(text));
  process.stdout.write(`\nCERTD-RESULT ${JSON.stringify(out, faithful)}\n`);
}
