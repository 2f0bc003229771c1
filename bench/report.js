'use strict';
// Prints bench/run.sh's results as a table: each figure beside its baseline from the same run.
const fs = require('fs');
// --smoke (CI): also fail unless every benchmark ran and answered without errors; the figures
// themselves are not judged there.
const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const [resultsFile, microFile] = args.filter((a) => a !== '--smoke');
const results = {};
for (const line of fs.readFileSync(resultsFile, 'utf8').split('\n').filter(Boolean)) {
  const r = JSON.parse(line);
  results[r.name] = r;
}
const fmt = (n, d = 0) => (n === undefined || Number.isNaN(n) ? 'n/a' : Number(n).toFixed(d));
const rows = [['benchmark', 'figure', 'baseline', 'ratio', 'p50 ms', 'p99 ms', 'target', 'load']];
const targets = {
  'read-certplan': '>= 0.6x, p99 <= 2 ms',
  'read-https-certplan': '>= 0.6x',
  'write-sqlite': '>= 2.5x',
  'write-postgres': '>= 0.8x',
  'issue-certplan': '>= 1.5x',
  'read-scale-large': 'latency <= 1.2x',
  'acme-certplan': '>= 1.0x',
};
for (const [name, r] of Object.entries(results)) {
  if (!r.result.rps) continue;
  const base = r.baseline !== '-' ? results[r.baseline] : null;
  // Issuance counts certificates issued (to the last one), not requests answered.
  const figure = (x) => (x.result.issued_per_s > 0 ? x.result.issued_per_s : x.result.rps);
  const ratio = base ? figure(r) / figure(base) : undefined;
  let target = targets[name] || (/^one-account-.*-large$/.test(name) ? 'latency <= 1.2x' : '');
  if ((name === 'read-scale-large' || /^one-account-.*-large$/.test(name)) && base) {
    target += ` (p50 ${fmt(r.result.p50_ms / base.result.p50_ms, 2)}x, p99 ${fmt(r.result.p99_ms / base.result.p99_ms, 2)}x)`;
  }
  // The ACME benchmark reports the CPU shares of its load client (far below one core: it is not
  // the limit) and of the server over the window.
  if (r.result.client_cpu !== undefined) {
    target = `${target ? `${target}, ` : ''}client CPU ${fmt(r.result.client_cpu * 100)}%, server CPU ${fmt(r.result.server_cpu * 100)}%`;
  }
  rows.push([name, `${fmt(figure(r))} /s${r.result.errors ? ` (${r.result.errors} errors)` : ''}`,
    base ? `${base.name} ${fmt(figure(base))} /s` : '-', base ? `${fmt(ratio, 2)}x` : '-',
    fmt(r.result.p50_ms, 3), fmt(r.result.p99_ms, 3), target, r.load || '-']);
}
// The generator check (see bench/run.sh): loadgen must reach >= 0.9x wrk on the same nginx, or
// the run's certplan figures may be the generator's ceiling, not certplan's.
let generatorOk = true;
if (results['read-nginx'] && results['read-nginx-wrk']) {
  const ratio = results['read-nginx'].result.rps / results['read-nginx-wrk'].result.rps;
  generatorOk = ratio >= 0.9;
  rows.push(['generator check', `loadgen ${fmt(ratio, 2)}x wrk`, '-', '-', '', '',
    `>= 0.9x: ${generatorOk ? 'PASSED' : 'FAILED (ratios not valid)'}`, 'nginx fixed body']);
}
for (const name of ['idle-rss-kb', 'rss-1000-connections-kb']) {
  if (results[name]) {
    rows.push([name.replace('-kb', ''), `${fmt(results[name].result.kb / 1024, 1)} MiB`, '-', '-', '', '',
      name.startsWith('idle') ? '<= 64 MiB' : '<= 256 MiB', '-']);
  }
}
if (microFile && fs.existsSync(microFile)) {
  const micro = {};
  for (const b of JSON.parse(fs.readFileSync(microFile, 'utf8')).benchmarks) micro[b.name] = b;
  const pairs = [['BM_SignatureV3Verify', 'BM_Floor_Sha256AndHmac'], ['BM_SignatureV1Verify', 'BM_Floor_Sha256AndHmac'],
    ['BM_ParamDecode', 'BM_Floor_CopyQuery'], ['BM_PolicyEvaluate', 'BM_Floor_WildcardMatch'],
    ['BM_CsrCheckAndSign', 'BM_Floor_EcdsaP256VerifyAndSign']];
  const perSecond = (b) => 1e9 / (b.time_unit === 'ns' ? b.real_time : b.time_unit === 'us' ? b.real_time * 1e3 : b.real_time * 1e6);
  for (const [name, floor] of pairs) {
    if (!micro[name] || !micro[floor]) continue;
    const a = perSecond(micro[name]);
    const b = perSecond(micro[floor]);
    rows.push([name.replace('BM_', ''), `${fmt(a)} /s`, `${floor.replace('BM_', '')} ${fmt(b)} /s`, `${fmt(a / b, 2)}x`, '', '',
      name === 'BM_CsrCheckAndSign' ? '>= 8000 /s (0.62x floor)' : '', 'Google Benchmark, 1 core']);
  }
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
for (const [i, r] of rows.entries()) {
  console.log('| ' + r.map((c, j) => String(c).padEnd(widths[j])).join(' | ') + ' |');
  if (i === 0) console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
}

if (smoke) {
  const expected = ['read-nginx-wrk', 'read-nginx', 'read-certplan', 'read-https-nginx', 'read-https-certplan', 'write-sqlite', 'pgbench', 'write-postgres', 'issue-cfssl',
    'issue-certplan', 'read-scale-small', 'read-scale-large', 'acme-pebble', 'acme-certplan', 'idle-rss-kb',
    'rss-1000-connections-kb',
    ...['list-first', 'list-middle', 'list-last', 'describe'].flatMap((f) => [`one-account-${f}-1e3`, `one-account-${f}-large`])];
  const problems = [];
  for (const name of expected) {
    const r = results[name];
    if (!r) problems.push(`${name}: did not run`);
    else if (r.result.kb === undefined && !(r.result.rps > 0)) problems.push(`${name}: no answers`);
    else if (r.result.errors > 0 || r.result.connect_failures > 0) problems.push(`${name}: ${r.result.errors} errors`);
    else if (r.result.issued !== undefined && r.result.issued >= 0 && r.result.issued !== r.result.ok) {
      problems.push(`${name}: ${r.result.ok} created, ${r.result.issued} issued`);
    }
  }
  const micro = microFile && fs.existsSync(microFile) ? JSON.parse(fs.readFileSync(microFile, 'utf8')).benchmarks : [];
  if (micro.length < 10 || micro.some((b) => b.error_occurred)) problems.push('microbenchmarks: missing or failed');
  if (problems.length) {
    console.error(`smoke pass failed:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  console.log('smoke pass: every benchmark ran without errors');
} else if (!generatorOk) {
  console.error('generator check failed: loadgen did not reach 0.9x wrk on nginx; this run\'s ratios are not valid');
  process.exit(1);
}
