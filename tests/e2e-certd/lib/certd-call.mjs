// Runs ONE call of certd's own CAS client (AliyunSslClient of @certd/plugin-lib) and prints its
// outcome as one line on stdout, `CERTD-RESULT ` then JSON: {"ok":true,"result":…} or
// {"ok":false,"error":{…}} (certd's plugin registry logs to stdout too, so the marker matters).
//
// It is a child process of the test because the CA that certplan's HTTPS listener presents is
// only known once the server runs, and node reads NODE_EXTRA_CA_CERTS at process start: the test
// spawns this file with NODE_EXTRA_CA_CERTS=<ca file>, so certd runs exactly as shipped (its own
// https agent, verification on) and trusts that CA.
//
// argv[2] is a JSON object: {endpoint, accessKeyId, accessKeySecret, method, args}; `endpoint` is
// HOST:PORT (certd prefixes https:// itself), `method` one of AliyunSslClient's methods.
import { AliyunSslClient } from '@certd/plugin-lib';

const req = JSON.parse(process.argv[2]);
const line = (level) => (...a) => process.stderr.write(`[certd ${level}] ${a.map(String).join(' ')}\n`);
const logger = { info: line('info'), warn: line('warn'), error: line('error'), debug: line('debug') };
const client = new AliyunSslClient({
  access: { accessKeyId: req.accessKeyId, accessKeySecret: req.accessKeySecret },
  logger,
  endpoint: req.endpoint,
});
// pop-core parses answers with json-bigint: a number of more than 15 digits becomes a BigNumber
// object (whose toJSON is its decimal string). Printed as {"BigNumber":"<decimal>"} so the test
// sees exactly what certd got.
function faithful(key, value) {
  const original = this[key];
  return original && original._isBigNumber === true ? { BigNumber: original.toString() } : value;
}
try {
  const result = await client[req.method](...req.args);
  process.stdout.write(`\nCERTD-RESULT ${JSON.stringify({ ok: true, result: result === undefined ? null : result }, faithful)}\n`);
} catch (e) {
  // pop-core's error: code/name from the answer's Code, data the answer, url the request.
  const error = { message: e.message, name: e.name, code: e.code, statusCode: e.statusCode, data: e.data, url: e.url };
  if (e.entry && e.entry.response) error.statusCode = e.entry.response.statusCode;
  process.stdout.write(`\nCERTD-RESULT ${JSON.stringify({ ok: false, error }, faithful)}\n`);
}
