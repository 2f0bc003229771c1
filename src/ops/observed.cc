#include "ops/observed.h"

#include <chrono>

namespace certplan::ops {

Status ObservedChecker::Check(cas::CheckMethod method, std::string_view domain,
                              std::string_view token) {
  Status s = inner_.Check(method, domain, token);
  metrics_.ObserveCheck(method, static_cast<bool>(s));
  return s;
}

Result<pki::IssuedCertificate> ObservedAuthority::Issue(const pki::IssueRequest& request) const {
  const auto start = std::chrono::steady_clock::now();
  Result<pki::IssuedCertificate> issued = inner_.Issue(request);
  metrics_.ObserveIssue(
      static_cast<bool>(issued),
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count());
  return issued;
}

}  // namespace certplan::ops
