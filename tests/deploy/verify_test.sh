#!/usr/bin/env bash
# Checks deploy/: the systemd unit with systemd-analyze (verify: every directive known and valid,
# the binary executable; security --offline: the sandbox's exposure score), the example
# configuration with `certplan config check`, and that the unit's LimitNOFILE leaves room for the
# configuration's max_connections. Needs no running systemd: both systemd-analyze commands
# read unit files only, so this runs as root in a container too.
# Usage: tests/deploy/verify_test.sh BUILD/src/cli/certplan
set -euo pipefail
bin=$(realpath "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
unit=$root/deploy/certplan.service
toml=$root/deploy/certplan.toml
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "deploy check failed: $*" >&2; exit 1; }

# The unit as installed runs /usr/local/bin/certplan; verify needs an executable there, so a
# copy of the unit points at the binary under test (the only change).
grep -q '^ExecStart=/usr/local/bin/certplan serve --config /etc/certplan/certplan.toml$' "$unit" ||
  fail "ExecStart must run certplan serve --config /etc/certplan/certplan.toml"
sed "s#/usr/local/bin/certplan#$bin#" "$unit" >"$work/certplan.service"
# verify exits 0 on unknown or misspelt directives (it only warns), so any output fails too.
if ! out=$(systemd-analyze verify "$work/certplan.service" 2>&1) || [[ -n $out ]]; then
  fail "systemd-analyze verify: $out"
fi
# Exposure in tenths: 20 is "2.0 OK" on systemd's 0-10 scale (the unit scores 1.5).
systemd-analyze security --offline=yes --threshold=20 "$work/certplan.service" >"$work/security" 2>&1 ||
  fail "systemd-analyze security: $(tail -1 "$work/security")"
for directive in NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
  StateDirectory=certplan User=certplan CapabilityBoundingSet= SystemCallFilter=@system-service \
  'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX'; do
  grep -qx "$directive" "$unit" || fail "the unit lacks $directive"
done

# The example configuration is what the unit reads: it must pass, and name the StateDirectory.
"$bin" config check "$toml" >"$work/check" || fail "certplan config check $toml: exit $?"
grep -q '"Ok":true' "$work/check" || fail "config check printed $(cat "$work/check")"
grep -qx 'data_dir = "/var/lib/certplan"' "$toml" || fail "data_dir must be the StateDirectory"

# certplan keeps max(64, limit / 8) descriptors for itself and lowers max_connections to fit
# the rest (src/http/server.cc); the unit's limit must not lower the configured cap.
nofile=$(sed -n 's/^LimitNOFILE=\([0-9]*\)$/\1/p' "$unit")
cap=$(sed -n 's/^max_connections = \([0-9]*\).*/\1/p' "$toml")
[[ -n $nofile && -n $cap ]] || fail "LimitNOFILE or max_connections not found"
headroom=$(( nofile / 8 > 64 ? nofile / 8 : 64 ))
(( nofile - headroom >= cap )) ||
  fail "LimitNOFILE=$nofile leaves $(( nofile - headroom )) connections, max_connections is $cap"
echo "deploy: unit verified, exposure $(grep -o 'level for [^:]*: [0-9.]*' "$work/security" | awk '{print $NF}'), config ok, $(( nofile - headroom )) >= $cap connections"
