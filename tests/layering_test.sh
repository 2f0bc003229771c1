#!/usr/bin/env bash
# STYLE.md §2.2: the domain and protocol modules never include transport, storage or crypto
# library headers. When this fails, move the code; don't relax the check.
set -u
src=${1:?usage: layering_test.sh SRC_DIR}
status=0
check() {  # check MODULES PATTERN WHY
  local modules=$1 pattern=$2 why=$3
  for m in $modules; do
    if hits=$(grep -rnE "$pattern" "$src/$m" 2>/dev/null); then
      echo "layering violation ($why) in $m:"
      echo "$hits"
      status=1
    fi
  done
}
check "core" '#include <(boost|openssl|sqlite3|libpq|nlohmann|CLI|toml)' "core is std only"
check "cas iam api rpc" '#include <(boost/beast|boost/asio)' "no Beast/Asio outside http"
check "cas iam api rpc auth pki http" '#include <(sqlite3\.h|libpq-fe\.h)' "no database headers outside store"
check "cas iam api rpc http" '#include <openssl/' "OpenSSL stays in pki and auth"
check "cas iam" '#include "(store/sqlite|store/postgres|http|api|cli)/' "domain sees only interfaces"
if [ $status -eq 0 ]; then echo "layering: ok"; fi
exit $status
