#!/usr/bin/env bash
# Runs the certd end-to-end test (certd's AliyunSslClient against $CERTPLAN_BIN over HTTPS).
# Installs this package's own dependencies from package-lock.json when node_modules is missing or
# older than the lock file.
set -euo pipefail
cd "$(dirname "$0")"
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
exec node --test certd.test.js
