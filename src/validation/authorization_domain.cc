#include "validation/authorization_domain.h"

#include <libpsl.h>

namespace certplan::validation {
namespace {

// The list Debian keeps current (publicsuffix package) when it is newer than libpsl's built-in
// copy; loaded once and read-only afterwards.
const psl_ctx_t* PublicSuffixList() {
  static const psl_ctx_t* const psl = [] {
    const psl_ctx_t* latest = psl_latest(nullptr);
    return latest ? latest : psl_builtin();
  }();
  return psl;
}

}  // namespace

std::vector<std::string> AuthorizationDomainNames(std::string_view name) {
  if (name.starts_with("*.")) name.remove_prefix(2);
  std::vector<std::string> out;
  std::string candidate(name);
  while (!candidate.empty()) {
    if (psl_is_public_suffix2(PublicSuffixList(), candidate.c_str(), PSL_TYPE_ANY)) break;
    out.push_back(candidate);
    const size_t dot = candidate.find('.');
    if (dot == std::string::npos) break;
    candidate.erase(0, dot + 1);
  }
  return out;
}

}  // namespace certplan::validation
