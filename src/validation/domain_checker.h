#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace certplan::validation {

enum class Method { kDns, kFile };

// Proves control of one name (spec §4.3). Ok when the token is published; otherwise an error
// whose message says what was found, for the order's failure reason. Implementations are
// thread-safe and bounded in time.
class DomainChecker {
 public:
  virtual ~DomainChecker() = default;
  virtual Status Check(Method method, std::string_view domain, std::string_view token) = 0;
};

}  // namespace certplan::validation
