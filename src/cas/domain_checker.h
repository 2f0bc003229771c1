#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace certplan::cas {

enum class CheckMethod { kDns, kFile };

// Where a FILE check looks for the token, on http://<name> (then https) (spec §4.3).
inline constexpr std::string_view kFileAuthPath = "/.well-known/pki-validation/fileauth.txt";

// Proves control of one name (spec §4.3). Ok when the token is published; otherwise an error
// whose message says what was found, for the order's failure reason. Implementations (the live
// DNS and HTTP checks live in validation/) are thread-safe and bounded in time.
class DomainChecker {
 public:
  virtual ~DomainChecker() = default;
  virtual Status Check(CheckMethod method, std::string_view domain, std::string_view token) = 0;
};

}  // namespace certplan::cas
