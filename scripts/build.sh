#!/usr/bin/env bash
# Configures and builds one flavour. Usage: scripts/build.sh DIR [cmake args…]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$1; shift
# ccache keeps objects between runs (CI runs on the same machine); CCACHE_BASEDIR makes hits
# independent of where the clone lives.
launcher=()
if command -v ccache >/dev/null; then
  export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=1
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B "$dir" -G Ninja "${launcher[@]}" "$@" >/dev/null
ninja -C "$dir"
