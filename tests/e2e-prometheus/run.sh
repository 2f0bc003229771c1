#!/usr/bin/env bash
# Scrapes certplan's /metrics with Debian's Prometheus and checks the exposition with promtool
# (scripts/install-deps.sh --prometheus installs both; no service is started). Needs
# $CERTPLAN_BIN and the end-to-end suite's node_modules (tests/e2e: npm ci).
set -euo pipefail
cd "$(dirname "$0")"
command -v prometheus >/dev/null && command -v promtool >/dev/null || {
  echo "prometheus and promtool are missing: run scripts/install-deps.sh --prometheus" >&2
  exit 1
}
exec node --test scrape.test.js
