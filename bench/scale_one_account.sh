#!/usr/bin/env bash
# The one-account scale benchmark (issue #12 fault 9), run by bench/run.sh and runnable alone:
# one account holding 10^3 orders against one holding ONE_ACCOUNT_ORDERS (default 10^6), both
# seeded straight into a stopped node's SQLite file (bench/seed_one_account.sql). For each store,
# ListUserCertificateOrder's first, middle and last page (ShowSize 50) and that account's
# DescribePackageState are each loaded for a while from 4 connections (4 clients looping); three
# alternating rounds, each size keeping its median round. Prints one JSON line per figure in
# bench/run.sh's results format ({"name","baseline","result"}); the large store's figures name the
# small store's as their baseline, so the report prints the ratios.
#   bench/scale_one_account.sh WORK_DIR          # BIN, LOADGEN: the Release binaries
set -euo pipefail
work=$1
root=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$root/build-release/src/cli/certplan}
LOADGEN=${LOADGEN:-$root/build-release/bench/loadgen}
SECONDS_PER=${SECONDS_PER:-10}
ONE_ACCOUNT_ORDERS=${ONE_ACCOUNT_ORDERS:-1000000}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
mkdir -p "$work"
pid=
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; return 0; }
trap cleanup EXIT

source "$root/bench/lib.sh"  # free_port
# start NAME: starts the node of DATA_DIR work/NAME (one I/O thread) and waits for its
# "listening on" line (60 s at most); sets port, pid, key, secret, account.
start() {
  local dir=$work/$1 deadline=$(( SECONDS + 60 ))
  mkdir -p "$dir"
  port=$(free_port)
  printf '[server]\nthreads = 1\n' >"$dir/read.toml"
  CERTPLAN_LOG_LEVEL=warn taskset -c "$SERVER_CPU" "$BIN" serve --dev --listen "127.0.0.1:$port" \
    --data-dir "$dir" --config "$dir/read.toml" >"$dir/out" 2>"$dir/err" &
  pid=$!
  until grep -qF "listening on 127.0.0.1:$port" "$dir/err" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null || (( SECONDS >= deadline )); then
      echo "scale_one_account.sh: node $1 did not start:" >&2; tail -n 20 "$dir/err" >&2; return 1
    fi
    sleep 0.05
  done
  key=$(grep -o '"AccessKeyId":"[^"]*' "$dir/out" | cut -d'"' -f4)
  secret=$(grep -o '"AccessKeySecret":"[^"]*' "$dir/out" | cut -d'"' -f4)
  account=$(grep -o '"AccountId":[0-9]*' "$dir/out" | cut -d: -f2)
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }
load() {  # load ACTION QUERY
  taskset -c "$LOAD_CPU" "$LOADGEN" --target "127.0.0.1:$port" --connections 4 \
    --seconds "$1" --action "$2" --key "$key" --secret "$secret" --query "$3"
}

declare -A orders=([small]=1000 [large]=$ONE_ACCOUNT_ORDERS)
for size in small large; do
  start "one-$size"
  stop
  sqlite3 "$work/one-$size/certplan.db" -cmd ".parameter set :orders ${orders[$size]}" \
    -cmd ".parameter set :account $account" <"$root/bench/seed_one_account.sql"
done
sync
per=$(( SECONDS_PER >= 12 ? SECONDS_PER / 4 : 1 ))  # four figures share each round
for round in 1 2 3; do
  for size in small large; do
    start "one-$size"
    last=$(( (orders[$size] + 49) / 50 ))
    for figure in first middle last describe; do
      case $figure in
        first) q="CurrentPage=1&ShowSize=50" ;;
        middle) q="CurrentPage=$(( (last + 1) / 2 ))&ShowSize=50" ;;
        last) q="CurrentPage=$last&ShowSize=50" ;;
      esac
      if [[ $figure == describe ]]; then
        load "$per" DescribePackageState ProductCode=geotrust-dv-1-starter
      else
        load "$per" ListUserCertificateOrder "$q"
      fi >>"$work/one-$size-$figure.jsonl"
    done
    stop
  done
done
median() { node -e 'const r = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
  r.sort((a, b) => a.p50_ms - b.p50_ms); console.log(JSON.stringify(r[Math.floor(r.length / 2)]));' "$1"; }
for figure in first middle last describe; do
  name=$([[ $figure == describe ]] && echo one-account-describe || echo "one-account-list-$figure")
  printf '{"name":"%s-1e3","baseline":"-","result":%s}\n' "$name" "$(median "$work/one-small-$figure.jsonl")"
  printf '{"name":"%s-large","baseline":"%s-1e3","result":%s}\n' "$name" "$name" \
    "$(median "$work/one-large-$figure.jsonl")"
done
rm -rf "$work/one-small" "$work/one-large"
