'use strict';
// Run as a child process (`node lib/https_client.js JOB_JSON`) so that NODE_EXTRA_CA_CERTS,
// which node reads only at start, decides which CA the SDK trusts. JOB: {sdk: 'v3' | 'v1' |
// 'pop', endpoint: 'HOST:PORT', key: {AccessKeyId, AccessKeySecret}, domain}. Each SDK is used
// with its default protocol (HTTPS): DescribePackageState, then CreateCertificateForPackageRequest.
// Prints one JSON line: {productCode, totalCount, orderId (decimal text)} or {error: {code, message}}.
const job = JSON.parse(process.argv[2]);

async function viaTea(Cas, Config) {
  // No `protocol`: the SDK's own default (HTTPS).
  const client = new Cas.default(new Config({
    accessKeyId: job.key.AccessKeyId, accessKeySecret: job.key.AccessKeySecret, endpoint: job.endpoint,
  }));
  const state = await client.describePackageState(new Cas.DescribePackageStateRequest({ productCode: 'digicert-free-1-free' }));
  const order = await client.createCertificateForPackageRequest(new Cas.CreateCertificateForPackageRequestRequest({
    productCode: 'digicert-free-1-free', domain: job.domain, validateType: 'DNS' }));
  return { productCode: state.body.productCode, totalCount: state.body.totalCount, orderId: String(order.body.orderId) };
}

async function viaPop() {
  const RPCClient = require('@alicloud/pop-core');
  const client = new RPCClient({
    accessKeyId: job.key.AccessKeyId, accessKeySecret: job.key.AccessKeySecret,
    endpoint: `https://${job.endpoint}`, apiVersion: '2020-04-07',
  });
  const state = await client.request('DescribePackageState', { ProductCode: 'digicert-free-1-free' }, { method: 'POST' });
  const order = await client.request('CreateCertificateForPackageRequest',
    { ProductCode: 'digicert-free-1-free', Domain: job.domain, ValidateType: 'DNS' }, { method: 'POST' });
  return { productCode: state.ProductCode, totalCount: state.TotalCount, orderId: String(order.OrderId) };
}

async function main() {
  if (job.sdk === 'v3') {
    return viaTea(require('@alicloud/cas20200407'), require('@alicloud/openapi-core').$OpenApiUtil.Config);
  }
  if (job.sdk === 'v1') {
    // cas20200407 1.3.0 builds on openapi-client: its Config, resolved from where it is installed.
    const openapi = require(require.resolve('@alicloud/openapi-client', { paths: [require.resolve('cas20200407-v1')] }));
    return viaTea(require('cas20200407-v1'), openapi.Config);
  }
  return viaPop();
}

main().then(
  (r) => { process.stdout.write(JSON.stringify(r) + '\n'); },
  (e) => { process.stdout.write(JSON.stringify({ error: { code: e.code || e.name, message: String(e.message) } }) + '\n'); },
);
