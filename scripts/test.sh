#!/usr/bin/env bash
# Installs what is missing, builds certplan twice (RelWithDebInfo, and ASan+UBSan), and runs
# every test against both: the GoogleTest units, the layering check, and the end-to-end suite
# that drives the real binary through the official Alibaba Cloud SDKs (installed by `npm ci`),
# once on SQLite and once on a PostgreSQL server this script starts on a loopback port; then 20
# seconds of fuzzing per fuzz target (scripts/fuzz.sh) and a 2-second smoke pass of every
# benchmark (bench/run.sh --smoke).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

scripts/install-deps.sh --test
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)

scripts/build.sh build -DCMAKE_BUILD_TYPE=RelWithDebInfo
scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug -DCERTPLAN_SANITIZE=ON

pg_dir=$(mktemp -d /tmp/certplan-test-pg-XXXXXX)
chmod 777 "$pg_dir"
trap 'scripts/pg-cluster.sh stop "$pg_dir/data"; rm -rf "$pg_dir"' EXIT
pg_port=$(( 20000 + RANDOM % 12000 ))  # below the ephemeral range
export CERTPLAN_E2E_PG_URL=$(scripts/pg-cluster.sh start "$pg_dir/data" "$pg_port")
export CERTPLAN_TEST_PG_URL=$CERTPLAN_E2E_PG_URL

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

status=0
for flavour in build-asan build; do
  echo "== unit tests ($flavour)"
  ctest --test-dir "$flavour" --output-on-failure -j2 || status=1
  for store in sqlite postgres; do
    echo "== end-to-end tests ($flavour, $store)"
    CERTPLAN_BIN="$root/$flavour/src/cli/certplan" CERTPLAN_E2E_STORE=$store tests/e2e/run.sh || status=1
  done
done
# libFuzzer over every parser from its seed corpus (clang, ASan+UBSan; docs/FUZZING.md).
echo "== fuzz (20 s per target)"
scripts/fuzz.sh --seconds 20 || status=1
# The benchmarks must keep working; their figures are judged in docs/PERFORMANCE.md, not here.
echo "== benchmark smoke pass (2 s each)"
SECONDS_PER=2 SCALE_ORDERS=10000 bench/run.sh --smoke || status=1
exit $status
