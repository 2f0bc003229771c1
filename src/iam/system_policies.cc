#include "iam/system_policies.h"

namespace certplan::iam {

std::string_view SystemPolicyDocument(std::string_view name) {
  if (name == kReadOnlyPolicyName) {
    return R"({"Version":"1","Statement":[{"Effect":"Allow","Action":["yundun-cert:Describe*",)"
           R"("yundun-cert:List*","yundun-cert:Get*"],"Resource":"*"}]})";
  }
  if (name == kFullAccessPolicyName) {
    return R"({"Version":"1","Statement":[{"Effect":"Allow","Action":"yundun-cert:*","Resource":"*"}]})";
  }
  return {};
}

}  // namespace certplan::iam
