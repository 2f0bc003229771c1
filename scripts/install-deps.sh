#!/usr/bin/env bash
# Installs the Debian 12 packages certplan needs to build and test, skipping what is present.
# Needs root (or sudo). Usage: scripts/install-deps.sh [--test | --bench | --fuzz | --prometheus]
#   --test   also what the tests need; --bench also the benchmarks' baselines (implies --test)
#   --fuzz   also clang with libFuzzer and the sanitizer runtimes (scripts/fuzz.sh)
#   --prometheus  also Prometheus and promtool, which scrape /metrics in tests/e2e-prometheus
#                 (no service is started)
set -euo pipefail

build_pkgs=(g++ cmake ninja-build pkg-config libboost-dev libssl-dev libsqlite3-dev
            nlohmann-json3-dev libcli11-dev libtomlplusplus-dev libcurl4-openssl-dev libpq-dev libpsl-dev
            publicsuffix ccache)
test_pkgs=(libgtest-dev libgmock-dev clang-format openssl dnsmasq-base sqlite3 postgresql)
bench_pkgs=(libbenchmark-dev nginx golang-cfssl)
# clang-14 is Debian 12's clang; libclang-rt-14-dev holds libFuzzer and the ASan/UBSan runtimes,
# llvm-14 the symbolizer for readable stack traces.
fuzz_pkgs=(clang-14 libclang-rt-14-dev llvm-14)
prometheus_pkgs=(prometheus)

mode=${1:-}
want=("${build_pkgs[@]}")
if [[ $mode == --test || $mode == --bench ]]; then
  want+=("${test_pkgs[@]}")
  # Node.js and npm run the SDK end-to-end tests; keep a newer Node if one is already installed.
  command -v node >/dev/null || want+=(nodejs)
  command -v npm >/dev/null || want+=(npm)
fi
if [[ $mode == --bench ]]; then want+=("${bench_pkgs[@]}"); fi
if [[ $mode == --fuzz ]]; then want+=("${fuzz_pkgs[@]}"); fi
if [[ $mode == --prometheus ]]; then want+=("${prometheus_pkgs[@]}"); fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# policy-rc.d 101: the postgresql, nginx and prometheus packages must not start system services
# (nginx would listen on every address); tests and benchmarks start their own, on loopback.
policy=/usr/sbin/policy-rc.d
created_policy=""
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee $policy >/dev/null && $sudo chmod +x $policy
  created_policy=1
fi
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
[[ -n "$created_policy" ]] && $sudo rm -f $policy
exit 0
