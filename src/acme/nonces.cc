#include "acme/nonces.h"

#include "acme/base64url.h"
#include "pki/jws_crypto.h"
#include "pki/random.h"

namespace certplan::acme {
namespace {

constexpr size_t kTimeBytes = 8, kRandomBytes = 12, kMacBytes = 12;
// A nonce stamped this far in the future (another node's clock) is still accepted.
constexpr int64_t kClockSkewSeconds = 5;

std::string BigEndian(int64_t v) {
  std::string out(kTimeBytes, '\0');
  for (size_t i = 0; i < kTimeBytes; ++i) {
    out[kTimeBytes - 1 - i] = static_cast<char>(static_cast<uint64_t>(v) >> (8 * i) & 0xff);
  }
  return out;
}

int64_t ReadBigEndian(std::string_view bytes) {
  uint64_t v = 0;
  for (char c : bytes) v = (v << 8) | static_cast<uint8_t>(c);
  return static_cast<int64_t>(v);
}

Error Bad(std::string why) { return Error(ErrorCode::kInvalidParameter, std::move(why)); }

bool SameBytes(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

Result<std::string> NonceIssuer::Key() const {
  std::scoped_lock lock(mu_);
  if (key_) return *key_;
  Result<std::string> loaded = source_();
  if (!loaded) return loaded.error();
  key_ = std::move(*loaded);
  return *key_;
}

std::string NonceIssuer::Issue() const {
  Result<std::string> key = Key();
  if (!key) return "";
  std::string body = BigEndian(clock_.NowSeconds()) + pki::RandomBytes(kRandomBytes);
  const std::string mac = pki::HmacSha256(*key, body).substr(0, kMacBytes);
  return Base64UrlEncode(body + mac);
}

Status NonceIssuer::Consume(std::string_view nonce) const {
  if (nonce.empty()) return Bad("The JWS has no nonce.");
  Result<std::string> key = Key();
  if (!key) return key.error();
  std::optional<std::string> raw = Base64UrlDecode(nonce);
  if (!raw || raw->size() != kTimeBytes + kRandomBytes + kMacBytes) {
    return Bad("The nonce was not issued by this server.");
  }
  const std::string_view bytes(*raw);
  const std::string_view body = bytes.substr(0, kTimeBytes + kRandomBytes);
  if (!SameBytes(pki::HmacSha256(*key, body).substr(0, kMacBytes),
                 bytes.substr(kTimeBytes + kRandomBytes))) {
    return Bad("The nonce was not issued by this server.");
  }
  const int64_t issued = ReadBigEndian(bytes.substr(0, kTimeBytes));
  const int64_t now = clock_.NowSeconds();
  if (issued > now + kClockSkewSeconds || now - issued >= lifetime_) {
    return Bad("The nonce has expired.");
  }
  return guard_.Remember(kGuardShare, nonce, issued + lifetime_, now);
}

}  // namespace certplan::acme
