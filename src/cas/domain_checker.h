#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace certplan::cas {

// kDns/kFile: CAS validation (spec §4.3), `token` is the order's token. kAcmeHttp01: RFC 8555
// §8.3, `token` is the key authorization (`<challenge token>.<thumbprint>`), served at
// http://<name>/.well-known/acme-challenge/<challenge token>. kAcmeDns01: §8.4, `token` is the
// TXT value expected at _acme-challenge.<name>.
enum class CheckMethod { kDns, kFile, kAcmeHttp01, kAcmeDns01 };

inline constexpr std::string_view kAcmeChallengePath = "/.well-known/acme-challenge/";

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
