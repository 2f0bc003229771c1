#!/usr/bin/env bash
# Installs the Debian 12 packages certplan needs to build and test, skipping what is present.
# Needs root (or sudo). Usage: scripts/install-deps.sh [--test | --bench | --fuzz | --deploy | --acme |
#                                                     --prometheus]…
#   --test   also what the tests need; --bench also the benchmarks' baselines (implies --test)
#   --fuzz   also clang with libFuzzer and the sanitizer runtimes (scripts/fuzz.sh)
#   --deploy also systemd's systemd-analyze, for tests/deploy/verify_test.sh (no running systemd
#            is needed: it reads unit files)
#   --acme   also the real ACME clients and the pebble test server (tests/e2e-acme, the ACME
#            benchmark) with Go to build the benchmark's load client (implies --test)
#   --prometheus  also Prometheus and promtool, which scrape /metrics in tests/e2e-prometheus
#                 (no service is started; implies --test)
set -euo pipefail

build_pkgs=(g++ cmake ninja-build pkg-config libboost-dev libssl-dev libsqlite3-dev
            nlohmann-json3-dev libcli11-dev libtomlplusplus-dev libcurl4-openssl-dev libpq-dev libpsl-dev
            publicsuffix ccache)
test_pkgs=(libgtest-dev libgmock-dev clang-format openssl dnsmasq-base sqlite3 postgresql)
# curl: the readiness probe for peers that print no ready line (bench/lib.sh wait_for_answer).
bench_pkgs=(libbenchmark-dev nginx golang-cfssl wrk curl)
# clang-14 is Debian 12's clang; libclang-rt-14-dev holds libFuzzer and the ASan/UBSan runtimes,
# llvm-14 the symbolizer for readable stack traces.
fuzz_pkgs=(clang-14 libclang-rt-14-dev llvm-14)
deploy_pkgs=(systemd)
# Debian 12's certbot 2.1, lego 4.9.1, uacme 1.7.4 and pebble 2.4; golang-go builds
# bench/acmeload (standard library only). None of them runs a service.
acme_pkgs=(certbot lego uacme pebble dnsmasq-base golang-go)
prometheus_pkgs=(prometheus)

want=("${build_pkgs[@]}")
tested=""
for mode in "$@"; do
  case $mode in
    --test) ;;
    --bench) want+=("${bench_pkgs[@]}") ;;
    --fuzz) want+=("${fuzz_pkgs[@]}"); continue ;;
    --acme) want+=("${acme_pkgs[@]}") ;;
    --prometheus) want+=("${prometheus_pkgs[@]}") ;;
    --deploy) want+=("${deploy_pkgs[@]}"); continue ;;
    *) echo "scripts/install-deps.sh: unknown option $mode" >&2; exit 2 ;;
  esac
  if [[ -z $tested ]]; then
    tested=1
    want+=("${test_pkgs[@]}")
    # Node.js and npm run the SDK end-to-end tests; keep a newer Node if one is already installed.
    command -v node >/dev/null || want+=(nodejs)
    command -v npm >/dev/null || want+=(npm)
  fi
done

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
