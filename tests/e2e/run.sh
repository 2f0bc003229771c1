#!/usr/bin/env bash
# Runs the end-to-end suite against $CERTPLAN_BIN, one test file at a time (each starts its
# own servers on free loopback ports).
set -euo pipefail
cd "$(dirname "$0")"
exec node --test *.test.js
