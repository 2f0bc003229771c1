#!/usr/bin/env bash
# The ACME issuance benchmark, one target per call; bench/run.sh runs it for pebble and certplan
# in the same run (section "ACME issuance"); it can also run alone:
#   bench/acme.sh pebble|certplan      # prints one JSON result line on stdout
# Full orders by new accounts with EAB (account → order → authorization → http-01 challenge →
# finalize → certificate download) from bench/acmeload (Go, standard library; keys and CSRs made
# before the timed window), pinned to LOAD_CPU; the server to SERVER_CPU:
#   pebble:   Debian's pebble, EAB required, PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0
#             PEBBLE_VA_ALWAYS_VALID=1 (its deliberate delays, nonce rejections and real
#             validation off), every state in memory;
#   certplan: `serve --dev` (validation mode auto) on its HTTPS listener, /acme/directory, an EAB
#             bound to a plan of 10^6 units of geotrust-dv-1-starter; every order and
#             certificate stored durably, a unit spent per order; one I/O thread per order in
#             flight, no RSA key pool (as the issuance benchmark of bench/run.sh).
# Env: CERTPLAN_BIN (default build-release), SECONDS_PER (10), ACME_CONCURRENCY (32: orders in
# flight), ACME_CLIENTS (1: load client processes sharing them; 2 shows whether the client
# limits the figure — their results are summed, p50/p99 are the worst process's), SERVER_CPU (0),
# LOAD_CPU (1), CERTPLAN_STORE_URL (optional: certplan on PostgreSQL).
set -euo pipefail
trap 'echo "bench/acme.sh: step failed (line $LINENO, exit $?): $BASH_COMMAND" >&2' ERR
cd "$(dirname "$0")/.."
root=$PWD
target=${1:?usage: bench/acme.sh pebble|certplan}
SECONDS_PER=${SECONDS_PER:-10}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
CONCURRENCY=${ACME_CONCURRENCY:-32}
CLIENTS=${ACME_CLIENTS:-1}
BIN=${CERTPLAN_BIN:-$root/build-release/src/cli/certplan}

work=$(mktemp -d /tmp/certplan-bench-acme-XXXXXX)
server_pid=""
cleanup() {
  if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# The load client: standard library only, so no module is fetched (GOPROXY=off). Without a
# HOME, Go has no default build cache: one under the work directory then.
gocache=$(go env GOCACHE 2>/dev/null || true)
[[ -z $gocache || $gocache == off ]] && gocache=$work/go-cache
(cd bench/acmeload && GOCACHE=$gocache GOFLAGS=-mod=mod GOPROXY=off go build -o "$work/acmeload" .) >&2

# free_port, wait_for_line, wait_for_answer
source "$root/bench/lib.sh"
json_field() { node -e 'const o = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log(o[process.argv[1]])' "$1"; }

case $target in
  pebble)
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/ca.key" -out "$work/ca.pem" \
      -days 2 -subj "/CN=bench pebble TLS CA" 2>/dev/null
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/key.pem" -subj /CN=localhost \
      -out "$work/tls.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$work/ext"
    openssl x509 -req -in "$work/tls.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -days 2 \
      -extfile "$work/ext" -out "$work/cert.pem" 2>/dev/null
    port=$(free_port)
    kid=bench
    hmac=$(openssl rand 32 | basenc --base64url | tr -d '=\n')
    cat >"$work/pebble.json" <<JSON
{"pebble": {"listenAddress": "127.0.0.1:$port", "managementListenAddress": "127.0.0.1:$(free_port)",
  "certificate": "$work/cert.pem", "privateKey": "$work/key.pem", "httpPort": $(free_port), "tlsPort": $(free_port),
  "ocspResponderURL": "", "externalAccountBindingRequired": true, "externalAccountMACKeys": {"$kid": "$hmac"}}}
JSON
    PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_VA_ALWAYS_VALID=1 \
      taskset -c "$SERVER_CPU" pebble -config "$work/pebble.json" >"$work/pebble.log" 2>&1 &
    server_pid=$!
    # pebble logs its address just before it listens: the line, then its directory's answer.
    wait_for_line "$work/pebble.log" "ACME directory available at" "$server_pid" pebble
    wait_for_answer "https://127.0.0.1:$port/dir" "$server_pid" pebble --cacert "$work/ca.pem"
    directory=https://127.0.0.1:$port/dir
    ca=$work/ca.pem
    ;;
  certplan)
    port=$(free_port)
    tls_port=$(free_port)
    # As the issuance benchmark: one I/O thread per order in flight (a request may wait for its
    # durable commit), no RSA key pool (CSRs only; a filling pool would take the core at start).
    # Every order is by a new account through the one EAB key, as pebble is driven: the key's
    # account limit (1,000 by default) raised to the run's orders.
    printf '[server]\nthreads = %d\n[ca]\nkey_pool = 0\n[limits]\nacme_accounts_per_eab_key = 1000000\n' \
      "$CONCURRENCY" >"$work/certplan.toml"
    CERTPLAN_LOG_LEVEL=warn taskset -c "$SERVER_CPU" "$BIN" serve --dev --listen "127.0.0.1:$port" \
      --listen-tls "127.0.0.1:$tls_port" --data-dir "$work/data" --config "$work/certplan.toml" \
      >"$work/out" 2>"$work/err" &
    server_pid=$!
    wait_for_line "$work/err" "listening (tls) on 127.0.0.1:$tls_port" "$server_pid" certplan
    ca=$(grep -F "listening (tls) on" "$work/err" | json_field ca_file)
    account=$(head -n 1 "$work/out" | json_field AccountId)
    "$BIN" admin --data-dir "$work/data" plan grant --account "$account" --product geotrust-dv-1-starter \
      --count 1000000 >/dev/null
    "$BIN" admin --data-dir "$work/data" acme eab create --account "$account" --product geotrust-dv-1-starter \
      >"$work/eab.json"
    kid=$(json_field KeyId <"$work/eab.json")
    hmac=$(json_field HmacKey <"$work/eab.json")
    directory=https://127.0.0.1:$tls_port/acme/directory
    ;;
  *) echo "bench/acme.sh: the target is pebble or certplan, not $target" >&2; exit 2 ;;
esac

# Orders prepared before the window: 2,000 a second, far above either server's rate on this
# machine kind (running out is reported as an error, never a silent cap).
max_orders=$(( (SECONDS_PER * 2000 + 1000) / CLIENTS ))
# The server's CPU time (user + system, clock ticks) over the load, beside the client's own, and
# the time its threads waited for a CPU (schedstat, ns): on a shared host, what others took.
server_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
server_runqueue_ns() { cat /proc/"$server_pid"/task/*/schedstat 2>/dev/null | awk '{w += $2} END {printf "%.0f", w}'; }
ticks0=$(server_ticks)
runq0=$(server_runqueue_ns)
load_pids=()
for c in $(seq 1 "$CLIENTS"); do
  taskset -c "$LOAD_CPU" "$work/acmeload" --directory "$directory" --ca "$ca" --eab-kid "$kid" --eab-hmac "$hmac" \
    --concurrency "$(( CONCURRENCY / CLIENTS ))" --seconds "$SECONDS_PER" --max-orders "$max_orders" \
    --domain "c$c.acme-bench.example.test" >"$work/load-$c.json" &
  load_pids+=($!)
done
for p in "${load_pids[@]}"; do wait "$p"; done
server_cpu_s=$(( $(server_ticks) - ticks0 ))/$(getconf CLK_TCK)
SERVER_RUNQUEUE_NS=$(( $(server_runqueue_ns) - runq0 )) SERVER_CPU_SECONDS=$(awk "BEGIN {print $server_cpu_s}") node -e '
const rs = process.argv.slice(1).map((f) => JSON.parse(require("fs").readFileSync(f, "utf8")));
const sum = (k) => rs.reduce((a, r) => a + r[k], 0);
const max = (k) => Math.max(...rs.map((r) => r[k]));
const out = { ...rs[0] };
for (const k of ["rps", "issued_per_s", "ok", "issued", "errors", "requests", "bad_nonces", "client_cpu", "client_runqueue",
  "concurrency"]) out[k] = +sum(k).toFixed(3);
for (const k of ["p50_ms", "p99_ms", "seconds"]) out[k] = max(k);
out.requests_per_cert = out.ok ? +(out.requests / out.ok).toFixed(1) : 0;
out.clients = rs.length;
out.server_cpu = +(Number(process.env.SERVER_CPU_SECONDS) / out.seconds).toFixed(3);
out.server_runqueue = +(Number(process.env.SERVER_RUNQUEUE_NS) / 1e9 / out.seconds).toFixed(3);
console.log(JSON.stringify(out));' "$work"/load-*.json
