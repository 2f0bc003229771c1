#!/usr/bin/env bash
# Runs the end-to-end suite against $CERTPLAN_BIN. CERTPLAN_E2E_STORE=postgres runs it on the
# PostgreSQL backend (CERTPLAN_E2E_PG_URL must name a server); the tests that choose their
# backends themselves (crash, scaling, outage, ACME on two nodes) run in the SQLite pass only,
# as they cover both.
set -euo pipefail
cd "$(dirname "$0")"
files=(*.test.js)
if [[ "${CERTPLAN_E2E_STORE:-sqlite}" == postgres ]]; then
  files=()
  for f in *.test.js; do
    case "$f" in crash.test.js|scaling.test.js|pg_outage.test.js|acme_nodes.test.js) ;; *) files+=("$f") ;; esac
  done
fi
exec node --test "${files[@]}"
