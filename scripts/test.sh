#!/usr/bin/env bash
# Installs what is missing, builds certplan twice (RelWithDebInfo, and ASan+UBSan), and runs
# every test against both: the GoogleTest units, the layering check, and the end-to-end suite
# that drives the real binary through the official Alibaba Cloud SDKs (installed by `npm ci`).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

scripts/install-deps.sh --test
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)

scripts/build.sh build -DCMAKE_BUILD_TYPE=RelWithDebInfo
scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug -DCERTPLAN_SANITIZE=ON

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

status=0
for flavour in build-asan build; do
  echo "== unit tests ($flavour)"
  ctest --test-dir "$flavour" --output-on-failure -j2 || status=1
  echo "== end-to-end tests ($flavour)"
  CERTPLAN_BIN="$root/$flavour/src/cli/certplan" tests/e2e/run.sh || status=1
done
exit $status
