#!/usr/bin/env bash
# Installs what is missing, builds a release binary and serves HTTP on 127.0.0.1:8080 and HTTPS
# on 127.0.0.1:8443 with the embedded SQLite store and a demo account (printed on start, with
# both endpoints and the CA file that clients should trust for HTTPS). Extra args go to `serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
# Install and build chatter goes to stderr, so stdout starts with the demo account's JSON line.
scripts/install-deps.sh >&2
scripts/build.sh build-release -DCMAKE_BUILD_TYPE=Release -DCERTPLAN_TESTS=OFF >&2
exec build-release/src/cli/certplan serve --dev --listen-tls 127.0.0.1:8443 "$@"
