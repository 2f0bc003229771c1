#!/usr/bin/env bash
# certplan's benchmark harness: builds a Release binary, starts certplan and its baselines on
# 127.0.0.1 (servers pinned to core 0, load to core 1), runs each benchmark for a fixed time,
# stops everything it started, and prints a table of figures and ratios.
#   bench/run.sh            # full run (SECONDS_PER=10)
#   SECONDS_PER=2 SCALE_ORDERS=10000 bench/run.sh --smoke
#                           # what CI runs: everything, 2 s each, small scale stores; fails
#                           # only if a benchmark did not run or answered with errors
#   bench/scale_one_account.sh DIR   # the one-account scale section alone (after a full run
#                                    # built build-release)
set -euo pipefail
# Every step that fails says which one and why, instead of set -e ending the run without a word.
trap 'echo "bench/run.sh: step failed (line $LINENO, exit $?): $BASH_COMMAND" >&2' ERR
cd "$(dirname "$0")/.."
root=$PWD
SECONDS_PER=${SECONDS_PER:-10}
SCALE_ORDERS=${SCALE_ORDERS:-1000000}  # the large store of the scale benchmark
ONE_ACCOUNT_ORDERS=${ONE_ACCOUNT_ORDERS:-$SCALE_ORDERS}  # … and the one account's orders
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}

scripts/install-deps.sh --bench --acme
scripts/build.sh build-release -DCMAKE_BUILD_TYPE=Release -DCERTPLAN_TESTS=OFF -DCERTPLAN_BENCH=ON

work=$(mktemp -d /tmp/certplan-bench-XXXXXX)
chmod 777 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [[ -f $work/nginx.pid ]] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  scripts/pg-cluster.sh stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
BIN=$root/build-release/src/cli/certplan
LOADGEN=$root/build-release/bench/loadgen
results=$work/results.jsonl
: >"$results"
# record NAME BASELINE RESULT_JSON [LOAD]: a benchmark whose load step printed no JSON object fails
# here, by name (a failed command substitution would otherwise pass unnoticed). LOAD says what
# drove it (generator, connections, threads, cores), printed in the table.
record() {
  if [[ $3 != \{* ]]; then
    echo "bench/run.sh: benchmark $1 produced no result (its load step failed: see above)" >&2
    return 1
  fi
  printf '{"name":"%s","baseline":"%s","load":"%s","result":%s}\n' "$1" "$2" "${4:--}" "$3" >>"$results"
}
# wrk_json: wrk's --latency report on stdin as the loadgen-shaped JSON (rps, p50_ms, p99_ms,
# errors); fails when wrk printed no rate.
wrk_json() {
  awk 'function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; return v * 1000 }
         /^ +50%/ {p50 = ms($2)} /^ +99%/ {p99 = ms($2)} /^Requests\/sec:/ {rps = $2}
         /Non-2xx/ {errors = $NF}
         END { if (rps == "") exit 1; printf "{\"rps\":%s,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"errors\":%d}\n", rps, p50, p99, errors }'
}
# wrk_load PORT CONNECTIONS: wrk (one thread, on the load core) against a plain GET.
wrk_load() {
  taskset -c "$LOAD_CPU" wrk -t1 -c"$2" -d"${SECONDS_PER}s" --latency "http://127.0.0.1:$1/" | wrk_json
}
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
# free_port, wait_for_line, wait_for_answer
source "$root/bench/lib.sh"
# The body both nginx baselines answer every request with (as long as DescribePackageState's).
body='{"RequestId":"3B7E4B51-2F0C-4E8B-9D55-1F2A6C0B9E17","TotalCount":20,"UsedCount":2,"IssuedCount":1,"ProductCode":"digicert-free-1-free","Padding":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}'
# nginx_conf FILE LISTEN [HTTP_LINES] [SERVER_LINES]: one nginx worker on LISTEN answering every
# request with $body, without access log, pid and error log under $work; the optional lines
# (each indented as in the file) go into the http and server blocks.
nginx_conf() {
  cat >"$1" <<NGINX
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx.err;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
${3:+$3
}  server {
    listen $2;
${4:+$4
}    location / { default_type application/json; return 200 '$body'; }
  }
}
NGINX
}
# start_certplan NAME [serve args…]: starts on a free port, sets PORT_<NAME>, KEY, SECRET, PID.
start_certplan() {
  local name=$1; shift
  local dir=$work/$name
  mkdir -p "$dir"
  PORT=$(free_port)
  # warn: no access-log line per request (a production choice too; info costs one write(2)).
  CERTPLAN_LOG_LEVEL=warn taskset -c "$SERVER_CPU" "$BIN" serve --dev --listen "127.0.0.1:$PORT" \
    --data-dir "$dir" "$@" >"$dir/out" 2>"$dir/err" &
  PID=$!
  pids+=("$PID")
  # Ready is the "listening on" line: the demo account is printed and the port accepts before
  # it (the port alone can answer earlier on a slow store).
  wait_for_line "$dir/err" "listening on 127.0.0.1:$PORT" "$PID" "certplan $name"
  KEY=$(grep -o '"AccessKeyId":"[^"]*' "$dir/out" | cut -d'"' -f4)
  SECRET=$(grep -o '"AccessKeySecret":"[^"]*' "$dir/out" | cut -d'"' -f4)
  ACCOUNT=$(grep -o '"AccountId":[0-9]*' "$dir/out" | cut -d: -f2)
  if [[ -z $KEY || -z $SECRET || -z $ACCOUNT ]]; then
    echo "bench/run.sh: certplan $name printed no demo account:" >&2; cat "$dir/out" >&2; return 1
  fi
}
load() {  # load PORT CONNECTIONS ACTION [extra loadgen args]
  local port=$1 conns=$2 action=$3; shift 3
  taskset -c "$LOAD_CPU" "$LOADGEN" --target "127.0.0.1:$port" --connections "$conns" \
    --seconds "$SECONDS_PER" --action "$action" --key "${KEY:-x}" --secret "${SECRET:-x}" "$@"
}

# want SECTION: BENCH_ONLY (a comma list of sections: read, https, memory, write-sqlite,
# write-postgres, issue, scale, acme, one-account, micro) runs only those; unset runs all. A partial
# run is for working on one path: its table has only those rows (and --smoke refuses it).
want() { [[ -z ${BENCH_ONLY:-} || ",$BENCH_ONLY," == *",$1,"* ]]; }
# One I/O thread on the one core, as nginx runs one worker: a second thread on the same core
# only trades it back and forth (reads never wait on a commit).
printf '[server]\nthreads = 1\n' >"$work/read.toml"
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

# ---- read: V3-signed DescribePackageState vs nginx returning a fixed 200-byte JSON body ----
if want read; then
nginx_port=$(free_port)
nginx_conf "$work/nginx.conf" "127.0.0.1:$nginx_port"
taskset -c "$SERVER_CPU" nginx -c "$work/nginx.conf" -e "$work/nginx.err"
# nginx prints no ready line: ready is its first answer (the pid file is written before it
# returns).
wait_for_answer "http://127.0.0.1:$nginx_port/" "$(cat "$work/nginx.pid")" nginx
# The generator check: nginx's ceiling is what wrk reaches; loadgen (the generator of every
# certplan figure) must reach >= 0.9x of it in the same run, or no ratio against it means anything
# (bench/report.js prints both and marks the check). Twice each, alternating, the best kept.
for round in 1 2; do
  wrk_load "$nginx_port" 64 >>"$work/nginx-wrk.jsonl"
  load "$nginx_port" 64 DescribePackageState >>"$work/nginx-loadgen.jsonl"
done
best() { node -e 'const r = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
  r.sort((a, b) => b.rps - a.rps); console.log(JSON.stringify(r[0]));' "$1"; }
record read-nginx-wrk - "$(best "$work/nginx-wrk.jsonl")" "wrk, 64 conn, 1 thread, 1 core"
record read-nginx read-nginx-wrk "$(best "$work/nginx-loadgen.jsonl")" "loadgen, 64 conn, 1 thread, 1 core"
kill "$(cat "$work/nginx.pid")"; rm -f "$work/nginx.pid"

start_certplan sqlite --config "$work/read.toml"
record idle-rss-kb - "{\"kb\":$(rss_kb "$PID")}"
record read-certplan read-nginx-wrk "$(load "$PORT" 64 DescribePackageState --query ProductCode=digicert-free-1-free)" "loadgen, 64 conn, 1 thread, 1 core; server 1 thread, 1 core"

# ---- HTTPS read: the same request over TLS, certplan vs nginx serving certplan's own
#      certificate (ECDSA P-256) and key; wrk drives both (loadgen has no TLS), certplan with
#      requests pre-signed by loadgen (bench/presigned.lua). Keep-alive: one handshake per
#      connection on both. ----
kill "$PID"; wait "$PID" 2>/dev/null || true
fi
if want https; then
start_certplan https --config "$work/read.toml" --listen-tls 127.0.0.1:0
wait_for_line "$work/https/err" "listening (tls) on" "$PID" "certplan https"
tls_port=$(grep -o 'listening (tls) on 127.0.0.1:[0-9]*' "$work/https/err" | grep -o '[0-9]*$')
nginx_tls_port=$(free_port)
nginx_conf "$work/nginx-tls.conf" "127.0.0.1:$nginx_tls_port ssl" \
  "  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_session_cache shared:SSL:1m;" \
  "    ssl_certificate $work/https/tls/server.crt;
    ssl_certificate_key $work/https/tls/server.key;"
taskset -c "$SERVER_CPU" nginx -c "$work/nginx-tls.conf" -e "$work/nginx.err"
wait_for_answer "https://127.0.0.1:$nginx_tls_port/" "$(cat "$work/nginx.pid")" "nginx (tls)" --insecure
wrk_tls() {  # wrk_tls PORT [SCRIPT FILE]: wrk over HTTPS, replaying FILE through SCRIPT if given
  local port=$1 script=() args=()
  [[ $# -ge 3 ]] && script=(-s "$2") args=(-- "$3")
  taskset -c "$LOAD_CPU" wrk -t1 -c64 -d"${SECONDS_PER}s" --latency "${script[@]}" \
      "https://127.0.0.1:$port/" "${args[@]}" | wrk_json
}
record read-https-nginx - "$(wrk_tls "$nginx_tls_port")" "wrk, 64 conn, 1 thread, 1 core; TLS keep-alive"
kill "$(cat "$work/nginx.pid")"; rm -f "$work/nginx.pid"
# Enough signed requests for the run at up to 60,000/s (more than one core can answer over TLS).
taskset -c "$LOAD_CPU" "$LOADGEN" --target "127.0.0.1:$tls_port" --key "$KEY" --secret "$SECRET" \
  --query ProductCode=digicert-free-1-free --requests $(( SECONDS_PER * 60000 )) --dump "$work/presigned.bin"
record read-https-certplan read-https-nginx \
  "$(wrk_tls "$tls_port" "$root/bench/presigned.lua" "$work/presigned.bin")" \
  "wrk + pre-signed requests, 64 conn, 1 thread, 1 core; server 1 thread, 1 core; TLS keep-alive"
rm -f "$work/presigned.bin"
kill "$PID"; wait "$PID" 2>/dev/null || true
fi

# ---- memory under 1,000 connections ----
if want memory; then
start_certplan memory --config "$work/read.toml"
(sleep "$(( SECONDS_PER / 2 + 1 ))"; echo "{\"kb\":$(rss_kb "$PID")}" >"$work/rss1000") &
load "$PORT" 1000 DescribePackageState >/dev/null
record rss-1000-connections-kb - "$(cat "$work/rss1000")"
kill "$PID"; wait "$PID" 2>/dev/null || true
fi

# ---- durable write on SQLite: Create* (orders stay pending; validation not in the loop) ----
# An API-only node (validation.worker = false: orders stay pending, validation is not in the
# loop); 64 I/O threads so 64 requests can wait for a durable commit at once — the SQLite store
# group-commits them, PostgreSQL's own group commit does the same there.
cat >"$work/write.toml" <<TOML
[server]
threads = 64
[validation]
mode = "live"
worker = false
TOML
if want write-sqlite; then
start_certplan sqlite-write --config "$work/write.toml"
"$BIN" admin --data-dir "$work/sqlite-write" plan grant --account "$ACCOUNT" --product geotrust-dv-1-starter --count 1000000 >/dev/null
record write-sqlite pgbench "$(load "$PORT" 64 CreateCertificateForPackageRequest --query ProductCode=geotrust-dv-1-starter --unique-domain 1 --requests $(( SECONDS_PER * 20000 )))" "loadgen, 64 conn, 1 thread, 1 core; server 64 threads, 1 core"
kill "$PID"; wait "$PID" 2>/dev/null || true
fi

# ---- PostgreSQL: pgbench's equivalent transaction, then certplan on PostgreSQL ----
if want write-postgres; then
pg_port=$(free_port)
pg_url=$(taskset -c "$SERVER_CPU" scripts/pg-cluster.sh start "$work/pg" "$pg_port")
psql -q "$pg_url" -c "CREATE DATABASE bench" -c "CREATE DATABASE certplan"
bench_url=${pg_url%/*}/bench
psql -q "$bench_url" <<'SQL'
CREATE TABLE plans(id int PRIMARY KEY, total int NOT NULL, used int NOT NULL DEFAULT 0);
INSERT INTO plans SELECT g, 2000000000, 0 FROM generate_series(1, 100) g;
CREATE TABLE orders(id bigserial PRIMARY KEY, plan_id int NOT NULL, request_id text NOT NULL);
SQL
cat >"$work/txn.sql" <<'SQL'
\set id random(1, 100)
\set r random(1, 2000000000)
BEGIN;
UPDATE plans SET used = used + 1 WHERE id = :id AND used < total RETURNING used;
INSERT INTO orders(plan_id, request_id) VALUES (:id, 'req-' || :r);
END;
SQL
tps=$(taskset -c "$LOAD_CPU" pgbench -n -c 8 -j 1 -T "$SECONDS_PER" -f "$work/txn.sql" "$bench_url" 2>/dev/null |
      grep -o 'tps = [0-9.]*' | head -1 | cut -d' ' -f3)
record pgbench - "{\"rps\":$tps}" "pgbench, 8 clients, 1 thread, 1 core; PostgreSQL on the server core"
start_certplan pg-write --config "$work/write.toml" --store-url "${pg_url%/*}/certplan"
CERTPLAN_STORE_URL="${pg_url%/*}/certplan" "$BIN" admin --data-dir "$work/pg-write" plan grant --account "$ACCOUNT" --product geotrust-dv-1-starter --count 1000000 >/dev/null
record write-postgres pgbench "$(load "$PORT" 64 CreateCertificateForPackageRequest --query ProductCode=geotrust-dv-1-starter --unique-domain 1 --requests $(( SECONDS_PER * 20000 )))" "loadgen, 64 conn, 1 thread, 1 core; server 64 threads + PostgreSQL, 1 core"
kill "$PID"; wait "$PID" 2>/dev/null || true
fi

# ---- issuance: CreateCertificateWithCsrRequest in auto mode, to the issued certificate, vs
#      cfssl serve's sign endpoint; both sign the same ECDSA P-256 CSR with an ECDSA P-256 CA ----
if want issue; then
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/req.key" \
  -subj "/CN=www.example.com" -addext "subjectAltName=DNS:www.example.com,DNS:example.com" \
  -out "$work/req.csr" 2>/dev/null
mkdir -p "$work/cfssl"
(cd "$work/cfssl" || exit 1
 echo '{"CN":"Bench Root CA","key":{"algo":"ecdsa","size":256},"names":[{"C":"CN","O":"Bench"}]}' >ca-csr.json
 echo '{"signing":{"default":{"expiry":"2160h","usages":["signing","digital signature","key encipherment","server auth","client auth"]}}}' >config.json
 cfssl gencert -initca ca-csr.json 2>/dev/null | cfssljson -bare ca
 printf '{"certificate_request":"%s","hosts":["www.example.com","example.com"]}' \
   "$(awk '{printf "%s\\n", $0}' "$work/req.csr")" >body.json)
cfssl_port=$(free_port)
taskset -c "$SERVER_CPU" cfssl serve -address 127.0.0.1 -port "$cfssl_port" -ca "$work/cfssl/ca.pem" \
  -ca-key "$work/cfssl/ca-key.pem" -config "$work/cfssl/config.json" -loglevel 1 >"$work/cfssl/log" 2>&1 &
cfssl_pid=$!
pids+=("$cfssl_pid")
# Ready is cfssl's own "Now listening on" log line (written after it binds).
wait_for_line "$work/cfssl/log" "Now listening on" "$cfssl_pid" "cfssl serve"
record issue-cfssl - "$(load "$cfssl_port" 16 - --path /api/v1/cfssl/sign --body-file "$work/cfssl/body.json" --content-type application/json)" "loadgen, 16 conn, 1 thread, 1 core"
kill "$cfssl_pid"; wait "$cfssl_pid" 2>/dev/null || true
# 16 I/O threads for 16 connections (each Create* waits for its durable commit); no RSA key pool:
# the CSR path never uses one, and a filling pool would take the core in the first seconds.
cat >"$work/issue.toml" <<TOML
[server]
threads = 16
[ca]
key_pool = 0
TOML
start_certplan issue --config "$work/issue.toml"
"$BIN" admin --data-dir "$work/issue" plan grant --account "$ACCOUNT" --product geotrust-dv-1-starter --count 1000000 >/dev/null
csr_query=$(node "$root/bench/csr_query.js" "$work/req.csr")
record issue-certplan issue-cfssl "$(load "$PORT" 16 CreateCertificateWithCsrRequest --query "$csr_query" --drain-query ProductCode=geotrust-dv-1-starter --requests $(( SECONDS_PER * 10000 )))" "loadgen, 16 conn, 1 thread, 1 core; server 16 threads, 1 core"
kill "$PID"; wait "$PID" 2>/dev/null || true
fi

# ---- scale: read latency with 10^3 orders vs $SCALE_ORDERS orders and 10^4 accounts ----
if want scale; then
scale_node() {  # scale_node NAME ORDERS ACCOUNTS: a stopped node's store, seeded
  start_certplan "$1"
  kill "$PID"; wait "$PID" 2>/dev/null || true
  sqlite3 "$work/$1/certplan.db" -cmd ".parameter set :orders $2" -cmd ".parameter set :accounts $3" \
    <"$root/bench/seed_orders.sql"
}
scale_node scale-small 1000 10
scale_node scale-large "$SCALE_ORDERS" 10000
sync  # the seeded gigabytes reach the disk now, not while a read benchmark runs
# Three alternating rounds of a third of the time each; each size keeps its median round, so a
# burst of noise on the shared host does not decide the comparison.
for round in 1 2 3; do
  for size in small large; do
    start_certplan "scale-$size" --config "$work/read.toml"
    SECONDS_PER=$(( SECONDS_PER >= 6 ? SECONDS_PER / 3 : 2 )) \
      load "$PORT" 64 DescribePackageState --query ProductCode=digicert-free-1-free >>"$work/scale-$size.jsonl"
    kill "$PID"; wait "$PID" 2>/dev/null || true
  done
done
median() { node -e 'const r = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
  r.sort((a, b) => a.rps - b.rps); console.log(JSON.stringify(r[Math.floor(r.length / 2)]));' "$1"; }
record read-scale-small - "$(median "$work/scale-small.jsonl")"
record read-scale-large read-scale-small "$(median "$work/scale-large.jsonl")"
rm -rf "$work/scale-small" "$work/scale-large"
fi

# ---- ACME issuance: full orders by new EAB accounts (account → order → authorization →
#      challenge → finalize → certificate) from bench/acmeload, pebble then certplan (bench/acme.sh) ----
if want acme; then
record acme-pebble - "$(SECONDS_PER=$SECONDS_PER SERVER_CPU=$SERVER_CPU LOAD_CPU=$LOAD_CPU bench/acme.sh pebble)" \
  "acmeload, 32 orders in flight, 1 core; pebble 1 core"
record acme-certplan acme-pebble "$(SECONDS_PER=$SECONDS_PER SERVER_CPU=$SERVER_CPU LOAD_CPU=$LOAD_CPU \
  CERTPLAN_BIN=$BIN bench/acme.sh certplan)" "acmeload, 32 orders in flight, 1 core; server 32 threads, 1 core"
fi

# ---- scale, one account: ListUserCertificateOrder's first/middle/last page and the account's
#      DescribePackageState with 10^3 orders vs $ONE_ACCOUNT_ORDERS orders in ONE account ----
if want one-account; then
BIN=$BIN LOADGEN=$LOADGEN SECONDS_PER=$SECONDS_PER ONE_ACCOUNT_ORDERS=$ONE_ACCOUNT_ORDERS \
  bench/scale_one_account.sh "$work/one-account" >>"$results"
fi

# ---- microbenchmarks (Google Benchmark), each with its floor ----
echo '{"benchmarks":[]}' >"$work/micro.json"
if want micro; then
taskset -c "$SERVER_CPU" "$root/build-release/bench/micro_bench" --benchmark_min_time=$(( SECONDS_PER > 2 ? 1 : 0 )).2 \
  --benchmark_format=json >"$work/micro.json" 2>/dev/null
fi

node "$root/bench/report.js" "$results" "$work/micro.json" "$@"
