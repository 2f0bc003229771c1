// RAM policy documents (iam/policy.cc): parsing and validation of the JSON, then evaluation of
// what parsed against a few requests (wildcards, IP/CIDR, date and boolean conditions).
// CERTPLAN_FUZZ_PRINT=1 prints each outcome.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "iam/policy.h"

namespace certplan::fuzz {
namespace {

const iam::RequestFacts kFacts[] = {
    {"yundun-cert:DescribePackageState", "acs:yundun-cert:*:1234567890:*", "192.0.2.10", false,
     1'768'465'800},
    {"yundun-cert:CreateCertificateRequest", "acs:yundun-cert:*:1234567890:*", "10.1.2.3", true,
     1'800'000'000},
    {"yundun-cert:DeleteCertificateRequest", "acs:yundun-cert:cn-hangzhou:42:order/7",
     "2001:db8::1", true, 0},
    {"ram:ListUsers", "", "", false, -1},
};

int TestOneInput(const uint8_t* data, size_t size) {
  const std::string_view document(reinterpret_cast<const char*>(data), size);
  Result<iam::Policy> policy = iam::Policy::Parse(document);
  if (std::getenv("CERTPLAN_FUZZ_PRINT")) {
    std::fprintf(stderr, "%s\n", policy ? "parsed" : policy.error().message.c_str());
  }
  if (!policy) {
    FUZZ_CHECK(policy.error().code == ErrorCode::kInvalidParameter);
    return 0;
  }
  FUZZ_CHECK(!policy->statements().empty());
  bool any_deny = false;
  for (const iam::Statement& st : policy->statements()) {
    FUZZ_CHECK(!st.actions.empty() && !st.resources.empty());
    any_deny |= st.effect == iam::Effect::kDeny;
  }
  const std::vector<const iam::Policy*> one = {&*policy};
  for (const iam::RequestFacts& facts : kFacts) {
    const iam::Decision d = iam::Evaluate(one, facts);
    FUZZ_CHECK(any_deny || d != iam::Decision::kExplicitDeny);
    // The same policy twice decides the same.
    FUZZ_CHECK(iam::Evaluate({&*policy, &*policy}, facts) == d);
  }
  return 0;
}

}  // namespace
}  // namespace certplan::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return certplan::fuzz::TestOneInput(data, size);
}
