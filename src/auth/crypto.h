#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

#include "core/result.h"

namespace certplan::auth {

enum class Digest { kSha256, kSm3 };

inline constexpr size_t kMaxDigestBytes = 64;
// A digest or HMAC in lower-case hex, held in place (the read path allocates nothing for it).
struct HexText {
  char text[2 * kMaxDigestBytes];
  size_t size = 0;
  std::string_view view() const { return std::string_view(text, size); }
};
// Lower-case hex of the digest of `data`.
std::string HexDigest(Digest digest, std::string_view data);
HexText HexDigestText(Digest digest, std::string_view data);
// The raw digest of the pieces one after the other (so callers need not join them) into
// `out`; returns its length (32 for both digests).
size_t RawDigest(Digest digest, std::initializer_list<std::string_view> pieces,
                 unsigned char (&out)[kMaxDigestBytes]);
// Lower-case hex of HMAC(key, data) with the digest.
std::string HexHmac(Digest digest, std::string_view key, std::string_view data);
HexText HexHmacText(Digest digest, std::string_view key, std::string_view data);
// Base64 of HMAC-SHA1(key, data) (signature V1).
std::string Base64HmacSha1(std::string_view key, std::string_view data);
// Compares without an early exit, so timing does not reveal how much of a signature matched.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace certplan::auth
