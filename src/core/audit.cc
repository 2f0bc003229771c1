#include "core/audit.h"

namespace certplan::audit {

std::string_view PrincipalTypeName(PrincipalType type) {
  switch (type) {
    case PrincipalType::kRoot: return "root";
    case PrincipalType::kRamUser: return "ram_user";
    case PrincipalType::kOperator: return "operator";
    case PrincipalType::kCli: return "cli";
    case PrincipalType::kAcme: return "acme";
    case PrincipalType::kWorker: return "worker";
  }
  return "cli";
}

PrincipalType ParsePrincipalTypeName(std::string_view name) {
  for (PrincipalType t : {PrincipalType::kRoot, PrincipalType::kRamUser, PrincipalType::kOperator,
                          PrincipalType::kCli, PrincipalType::kAcme, PrincipalType::kWorker}) {
    if (PrincipalTypeName(t) == name) return t;
  }
  return PrincipalType::kCli;
}

}  // namespace certplan::audit
