#pragma once

#include <string_view>

namespace certplan::iam {

// Built-in policies, attachable by name like Alibaba's system policies.
inline constexpr std::string_view kReadOnlyPolicyName = "AliyunYundunCertReadOnlyAccess";
inline constexpr std::string_view kFullAccessPolicyName = "AliyunYundunCertFullAccess";

// The document of a built-in policy, or empty for another name.
std::string_view SystemPolicyDocument(std::string_view name);

}  // namespace certplan::iam
