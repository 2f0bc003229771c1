#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace certplan::auth {

enum class Digest { kSha256, kSm3 };

// Lower-case hex of the digest of `data`.
std::string HexDigest(Digest digest, std::string_view data);
// Lower-case hex of HMAC(key, data) with the digest.
std::string HexHmac(Digest digest, std::string_view key, std::string_view data);
// Base64 of HMAC-SHA1(key, data) (signature V1).
std::string Base64HmacSha1(std::string_view key, std::string_view data);
// Compares without an early exit, so timing does not reveal how much of a signature matched.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace certplan::auth
