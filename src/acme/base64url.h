#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace certplan::acme {

// base64url without padding (RFC 7515 §2, RFC 4648 §5).
std::string Base64UrlEncode(std::string_view bytes);
// Strict: only the URL-safe alphabet, no padding, no whitespace, no non-zero trailing bits;
// nullopt otherwise.
std::optional<std::string> Base64UrlDecode(std::string_view text);
// Standard base64 with padding, wrapped at 64 columns (PEM bodies).
std::string Base64Pem(std::string_view bytes);

}  // namespace certplan::acme
