#!/usr/bin/env bash
# STYLE.md §2.2 and DESIGN.md "Modules": which module may include which, and the domain and
# protocol modules never include transport, storage or crypto library headers. When this
# fails, move the code; don't relax the check.
set -u
src=${1:?usage: layering_test.sh SRC_DIR}
status=0
fail() {
  echo "layering violation: $*"
  status=1
}

# --- Module edges -------------------------------------------------------------------------
# The allowed `#include "module/…"` edges, from DESIGN.md's "may depend on" column (core, the
# std-only base, is open to all). Read the arrows downwards: nothing here points back up.
declare -A allowed=(
  [core]=""
  [rpc]="core"
  [pki]="core"
  [http]="core rpc"                 # hands rpc::Request to the application
  [iam]="core pki"                  # its own port: iam/identity_store.h
  [auth]="core rpc pki iam"         # AccessKeys through iam's port; its own: auth/nonce_store.h
  [cas]="core pki"                  # its own ports: cas/*_store.h, cas/domain_checker.h
  [validation]="core cas"           # cas's checker interface only (below)
  [worker]="core cas"               # drives cas::Orders with a cas::DomainChecker
  [acme]="core rpc pki cas auth ops" # RFC 8555 front; its own port: acme/acme_store.h
  [store]="core cas iam auth ops acme" # the ports it implements only (below)
  [api]="core rpc auth cas iam ops" # records refusals through ops::AuditTrail
  [revocation]="core rpc pki cas"   # CRL and OCSP of the built-in CA over cas's revocation port
  [ops]="core rpc pki auth cas iam" # operator service and API, metrics, health, the audit trail;
                                    # its own ports: ops/operator_store.h, ops/metrics_store.h,
                                    # ops/audit_log.h
  [cli]="core rpc pki http iam auth cas validation worker store api revocation ops acme"
)
# Headers a module may include from another one, where the edge alone says too much.
declare -A only=(
  [validation:cas]="cas/domain_checker.h"
  [store:ops]="ops/audit_log.h"
)
# store/ implements the ports: from cas/, iam/, auth/ and ops/ it may include their port headers
# (*_store.h) and the domain type headers those ports name (include themselves).
for m in cas iam auth ops acme; do
  headers=""
  for port in "$src/$m"/*_store.h; do
    [ -e "$port" ] || continue
    headers+=" $m/$(basename "$port")"
    headers+=" $(grep -hoE "^#include \"$m/[^\"]+\"" "$port" | sed -E 's/#include "(.*)"/\1/' | tr '\n' ' ')"
  done
  # ops/audit_log.h is a port too, named apart from the *_store.h ones (set above).
  [ "$m" = ops ] && headers+=" ${only[store:ops]}"
  only[store:$m]=$(tr ' ' '\n' <<<"$headers" | sed '/^$/d' | sort -u | tr '\n' ' ')
done

contains() {  # contains WORD LIST
  local w
  for w in $2; do [ "$w" = "$1" ] && return 0; done
  return 1
}

for dir in "$src"/*/; do
  m=$(basename "$dir")
  if [ -z "${allowed[$m]+set}" ]; then
    fail "module $m/ has no row in layering_test.sh (add it from DESIGN.md's Modules table)"
    continue
  fi
  while IFS= read -r hit; do
    [ -n "$hit" ] || continue
    file=${hit%%:*}
    header=$(sed -E 's/.*#include "([^"]+)".*/\1/' <<<"$hit")
    dep=${header%%/*}
    [ "$dep" = "$m" ] && continue
    if ! contains "$dep" "${allowed[$m]}"; then
      fail "$m -> $dep is not an allowed edge: ${file#"$src"/} includes \"$header\""
    elif [ -n "${only[$m:$dep]+set}" ] && ! contains "$header" "${only[$m:$dep]}"; then
      fail "$m may include from $dep/ only: ${only[$m:$dep]}; ${file#"$src"/} includes \"$header\""
    fi
  done < <(grep -rnE '^#include "[a-z_]+/' "$dir" --include='*.h' --include='*.cc')
done

# --- CMake links match the edges ----------------------------------------------------------
# Each module links (target_link_libraries) only modules it may include, and every module it
# includes is reachable through its links.
declare -A links=()
for dir in "$src"/*/; do
  m=$(basename "$dir")
  [ -f "$dir/CMakeLists.txt" ] || continue
  linked=$(grep -oE 'certplan_[a-z]+' "$dir/CMakeLists.txt" | sed 's/^certplan_//' | sort -u |
           grep -vx "$m" | tr '\n' ' ')
  links[$m]=$linked
  for dep in $linked; do
    contains "$dep" "${allowed[$m]-}" || fail "$m/CMakeLists.txt links certplan_$dep: not an allowed edge"
  done
done
reachable() {  # reachable MODULE: every module linked from it, directly or not
  local seen=" " queue=$1 next m dep
  while [ -n "$queue" ]; do
    next=""
    for m in $queue; do
      for dep in ${links[$m]-}; do
        case "$seen" in *" $dep "*) ;; *) seen+="$dep "; next+=" $dep" ;; esac
      done
    done
    queue=$next
  done
  echo "$seen"
}
for dir in "$src"/*/; do
  m=$(basename "$dir")
  reach=$(reachable "$m")
  for dep in $(grep -rhoE '^#include "[a-z_]+/' "$dir" --include='*.h' --include='*.cc' |
               sed -E 's/#include "([a-z_]+)\//\1/' | sort -u); do
    [ "$dep" = "$m" ] && continue
    contains "$dep" "$reach" || fail "$m includes $dep/ but does not link certplan_$dep"
  done
done

# --- Library headers ----------------------------------------------------------------------
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
check "cas iam api rpc worker revocation ops acme" '#include <(boost/beast|boost/asio)' "no Beast/Asio outside http"
check "cas iam api rpc auth pki http worker validation revocation ops acme" '#include <(sqlite3\.h|libpq-fe\.h)' "no database headers outside store"
check "cas iam api rpc http worker revocation ops acme" '#include <openssl/' "OpenSSL stays in pki and auth"
check "cas iam" '#include "(store/sqlite|store/postgres|http|api|cli)/' "domain sees only interfaces"
if [ $status -eq 0 ]; then echo "layering: ok"; fi
exit $status
