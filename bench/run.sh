#!/usr/bin/env bash
# certplan's benchmark harness: builds a Release binary, starts certplan and its baselines on
# 127.0.0.1 (servers pinned to core 0, load to core 1), runs each benchmark for a fixed time,
# stops everything it started, and prints a table of figures and ratios.
#   bench/run.sh            # full run (SECONDS_PER=10)
#   SECONDS_PER=2 bench/run.sh --smoke   # what CI may run: everything, 2 s each
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
SECONDS_PER=${SECONDS_PER:-10}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}

scripts/install-deps.sh --test
sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
for p in nginx libbenchmark-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    { $sudo apt-get update -qq; DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$p" >/dev/null; }
done
scripts/build.sh build-release -DCMAKE_BUILD_TYPE=Release -DCERTPLAN_TESTS=OFF -DCERTPLAN_BENCH=ON

work=$(mktemp -d /tmp/certplan-bench-XXXXXX)
chmod 777 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [[ -f $work/nginx.pid ]] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  scripts/pg-cluster.sh stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
BIN=$root/build-release/src/cli/certplan
LOADGEN=$root/build-release/bench/loadgen
results=$work/results.jsonl
: >"$results"
record() { printf '{"name":"%s","baseline":"%s","result":%s}\n' "$1" "$2" "$3" >>"$results"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# start_certplan NAME [serve args…]: starts on a free port, sets PORT_<NAME>, KEY, SECRET, PID.
start_certplan() {
  local name=$1; shift
  local dir=$work/$name
  mkdir -p "$dir"
  PORT=$(( 20000 + RANDOM % 20000 ))
  # warn: no access-log line per request (a production choice too; info costs one write(2)).
  CERTPLAN_LOG_LEVEL=warn taskset -c "$SERVER_CPU" "$BIN" serve --dev --listen "127.0.0.1:$PORT" \
    --data-dir "$dir" "$@" >"$dir/out" 2>"$dir/err" &
  PID=$!
  pids+=("$PID")
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
  KEY=$(grep -o '"AccessKeyId":"[^"]*' "$dir/out" | cut -d'"' -f4)
  SECRET=$(grep -o '"AccessKeySecret":"[^"]*' "$dir/out" | cut -d'"' -f4)
  ACCOUNT=$(grep -o '"AccountId":[0-9]*' "$dir/out" | cut -d: -f2)
}
load() {  # load PORT CONNECTIONS ACTION [extra loadgen args]
  local port=$1 conns=$2 action=$3; shift 3
  taskset -c "$LOAD_CPU" "$LOADGEN" --target "127.0.0.1:$port" --connections "$conns" \
    --seconds "$SECONDS_PER" --action "$action" --key "${KEY:-x}" --secret "${SECRET:-x}" "$@"
}

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

# ---- read: V3-signed DescribePackageState vs nginx returning a fixed 200-byte JSON body ----
body='{"RequestId":"3B7E4B51-2F0C-4E8B-9D55-1F2A6C0B9E17","TotalCount":20,"UsedCount":2,"IssuedCount":1,"ProductCode":"digicert-free-1-free","Padding":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}'
nginx_port=$(( 20000 + RANDOM % 20000 ))
cat >"$work/nginx.conf" <<NGINX
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx.err;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$nginx_port;
    location / { default_type application/json; return 200 '$body'; }
  }
}
NGINX
taskset -c "$SERVER_CPU" nginx -c "$work/nginx.conf" -e "$work/nginx.err"
sleep 0.3
record read-nginx - "$(load "$nginx_port" 64 DescribePackageState)"
kill "$(cat "$work/nginx.pid")"; rm -f "$work/nginx.pid"

start_certplan sqlite
record idle-rss-kb - "{\"kb\":$(rss_kb "$PID")}"
record read-certplan read-nginx "$(load "$PORT" 64 DescribePackageState --query ProductCode=digicert-free-1-free)"

# ---- memory under 1,000 connections ----
(sleep "$(( SECONDS_PER / 2 + 1 ))"; echo "{\"kb\":$(rss_kb "$PID")}" >"$work/rss1000") &
load "$PORT" 1000 DescribePackageState >/dev/null
record rss-1000-connections-kb - "$(cat "$work/rss1000")"

# ---- durable write on SQLite: Create* (orders stay pending; validation not in the loop) ----
kill "$PID"; wait "$PID" 2>/dev/null || true
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
start_certplan sqlite-write --config "$work/write.toml"
"$BIN" admin --data-dir "$work/sqlite-write" plan grant --account "$ACCOUNT" --product geotrust-dv-1-starter --count 1000000 >/dev/null
record write-sqlite pgbench "$(load "$PORT" 64 CreateCertificateForPackageRequest --query ProductCode=geotrust-dv-1-starter --unique-domain 1)"
kill "$PID"; wait "$PID" 2>/dev/null || true

# ---- PostgreSQL: pgbench's equivalent transaction, then certplan on PostgreSQL ----
pg_port=$(( 20000 + RANDOM % 20000 ))
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
record pgbench - "{\"rps\":$tps}"
start_certplan pg-write --config "$work/write.toml" --store-url "${pg_url%/*}/certplan"
CERTPLAN_STORE_URL="${pg_url%/*}/certplan" "$BIN" admin --data-dir "$work/pg-write" plan grant --account "$ACCOUNT" --product geotrust-dv-1-starter --count 1000000 >/dev/null
record write-postgres pgbench "$(load "$PORT" 64 CreateCertificateForPackageRequest --query ProductCode=geotrust-dv-1-starter --unique-domain 1)"
kill "$PID"; wait "$PID" 2>/dev/null || true

# ---- microbenchmarks (Google Benchmark), each with its floor ----
taskset -c "$SERVER_CPU" "$root/build-release/bench/micro_bench" --benchmark_min_time=$(( SECONDS_PER > 2 ? 1 : 0 )).2 \
  --benchmark_format=json >"$work/micro.json" 2>/dev/null

node "$root/bench/report.js" "$results" "$work/micro.json"
