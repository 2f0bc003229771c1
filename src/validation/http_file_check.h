#pragma once

#include <map>
#include <string>
#include <string_view>

#include "core/result.h"

namespace certplan::validation {

// Per-domain address overrides ("example.com" → "127.0.0.1:8123"): where the HTTP check
// connects instead of what DNS says. The Host header still names the domain.
using AddressOverrides = std::map<std::string, std::string, std::less<>>;

// GETs http://<domain>/.well-known/pki-validation/fileauth.txt (cas::kFileAuthPath; then https),
// redirects not followed, 5 s timeout, at most 64 KiB read. The body, or an error saying what went
// wrong.
Result<std::string> FetchFileAuth(std::string_view domain, const AddressOverrides& overrides);

// GETs http://<domain><path> only (ACME http-01, RFC 8555 §8.3: port 80, no https), with the
// same overrides, limits and timeout.
Result<std::string> FetchHttpPath(std::string_view domain, std::string_view path,
                                  const AddressOverrides& overrides);

}  // namespace certplan::validation
