#!/usr/bin/env bash
# Runs the real-ACME-client suite. ACME_TARGET=certplan (default: $CERTPLAN_BIN, on the store
# CERTPLAN_E2E_STORE names, as tests/e2e) or ACME_TARGET=pebble (Debian's pebble, which proves
# the harness; the plan and counter assertions of quota.test.js need certplan and run only there).
# Needs certbot, lego, uacme, pebble, dnsmasq (scripts/install-deps.sh --acme) and tests/e2e's
# node_modules (the official SDK, for the counters), installed here when missing.
set -euo pipefail
cd "$(dirname "$0")"
target=${ACME_TARGET:-certplan}
if [[ ! -d ../e2e/node_modules ]]; then (cd ../e2e && npm ci --no-audit --no-fund --loglevel=error); fi
for tool in certbot lego uacme pebble dnsmasq openssl unshare; do
  command -v "$tool" >/dev/null || { echo "tests/e2e-acme: $tool is missing (scripts/install-deps.sh --acme)" >&2; exit 1; }
done
case "$target" in
  certplan) files=(clients.test.js auto.test.js protocol.test.js quota.test.js) ;;
  pebble) files=(clients.test.js auto.test.js protocol.test.js) ;;
  *) echo "tests/e2e-acme: ACME_TARGET must be certplan or pebble, not $target" >&2; exit 2 ;;
esac
# One file at a time: each test file's clients share its http-01 port in turn.
ACME_TARGET=$target exec node --test --test-concurrency=1 "${files[@]}"
