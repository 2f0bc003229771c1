#!/usr/bin/env bash
# Installs what is missing, builds certplan twice (RelWithDebInfo, and ASan+UBSan) and runs every
# test: the GoogleTest units and the layering check on both builds; the end-to-end suite that
# drives the real binary through the official Alibaba Cloud SDKs (installed by `npm ci`) on SQLite
# with both builds and on a PostgreSQL server this script starts on a loopback port with the
# plain build; certd's client and the real ACME clients (certbot, lego, uacme) on both stores
# with the plain build; then 20 seconds of fuzzing per fuzz target (scripts/fuzz.sh) and a
# 2-second smoke pass of every benchmark (bench/run.sh --smoke).
set -euo pipefail
trap 'echo "scripts/test.sh: step failed (line $LINENO, exit $?): $BASH_COMMAND" >&2' ERR
cd "$(dirname "$0")/.."
root=$PWD

scripts/install-deps.sh --test --acme --prometheus
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

failed=()
passed=0
# step NAME COMMAND…: runs one test step; a failure is remembered by name and the run goes on.
step() {
  local name=$1; shift
  echo "== $name"
  if "$@"; then passed=$(( passed + 1 )); else failed+=("$name"); fi
}
# The sanitizer build runs the unit tests and the core end-to-end suite (SQLite); the plain build
# runs everything, on both stores.
step "unit tests (build-asan)" ctest --test-dir build-asan --output-on-failure -j2
step "end-to-end tests (build-asan, sqlite)" env CERTPLAN_BIN="$root/build-asan/src/cli/certplan" \
  CERTPLAN_E2E_STORE=sqlite tests/e2e/run.sh
step "unit tests (build)" ctest --test-dir build --output-on-failure -j2
# deploy/: the systemd unit (systemd-analyze verify and security) and the example configuration.
step "deployment files (build)" bash -c 'scripts/install-deps.sh --deploy && tests/deploy/verify_test.sh "$1"' \
  _ "$root/build/src/cli/certplan"
for store in sqlite postgres; do
  step "end-to-end tests (build, $store)" env CERTPLAN_BIN="$root/build/src/cli/certplan" \
    CERTPLAN_E2E_STORE=$store tests/e2e/run.sh
done
# Debian's Prometheus scrapes /metrics; promtool lints the exposition.
step "prometheus scrape test (build, sqlite)" env CERTPLAN_BIN="$root/build/src/cli/certplan" \
  tests/e2e-prometheus/run.sh
# certd's own CAS client (its own npm package: a large dependency tree, so the plain build only).
for store in sqlite postgres; do
  step "certd end-to-end test (build, $store)" env CERTPLAN_BIN="$root/build/src/cli/certplan" \
    CERTPLAN_E2E_STORE=$store tests/e2e-certd/run.sh
done
# Real ACME clients from Debian (certbot, lego, uacme) against certplan's /acme/ with EAB, plan
# quota and real validation (plain build, both stores; ACME_TARGET=pebble runs the same clients
# against Debian's pebble instead, see tests/e2e-acme/run.sh).
for store in sqlite postgres; do
  step "ACME clients end-to-end test (build, $store)" env CERTPLAN_BIN="$root/build/src/cli/certplan" \
    CERTPLAN_E2E_STORE=$store ACME_TARGET=certplan tests/e2e-acme/run.sh
done
# libFuzzer over every parser from its seed corpus (clang, ASan+UBSan; docs/FUZZING.md).
step "fuzz (20 s per target)" scripts/fuzz.sh --seconds 20
# The benchmarks must keep working; their figures are judged in docs/PERFORMANCE.md, not here.
step "benchmark smoke pass (2 s each)" env SECONDS_PER=2 SCALE_ORDERS=10000 bench/run.sh --smoke
(( ${#failed[@]} )) && printf 'FAILED: %s\n' "${failed[@]}"
echo "steps: $passed passed, ${#failed[@]} failed"
exit $(( ${#failed[@]} ? 1 : 0 ))
