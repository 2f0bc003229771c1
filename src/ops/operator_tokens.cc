#include "ops/operator_tokens.h"

#include "auth/crypto.h"
#include "pki/random.h"

namespace certplan::ops {
namespace {

constexpr std::string_view kPrefix = "cpo_";
constexpr size_t kIdLength = 16;
constexpr size_t kSecretLength = 43;
constexpr std::string_view kIdAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
constexpr std::string_view kSecretAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

bool AllIn(std::string_view text, std::string_view alphabet) {
  return text.find_first_not_of(alphabet) == std::string_view::npos;
}

}  // namespace

TokenParts NewOperatorToken() {
  TokenParts parts;
  parts.id = pki::RandomString(kIdLength, kIdAlphabet);
  parts.token =
      std::string(kPrefix) + parts.id + "_" + pki::RandomString(kSecretLength, kSecretAlphabet);
  return parts;
}

std::optional<std::string> OperatorTokenId(std::string_view token) {
  if (token.size() != kPrefix.size() + kIdLength + 1 + kSecretLength) return std::nullopt;
  if (!token.starts_with(kPrefix)) return std::nullopt;
  std::string_view id = token.substr(kPrefix.size(), kIdLength);
  std::string_view secret = token.substr(kPrefix.size() + kIdLength + 1);
  if (token[kPrefix.size() + kIdLength] != '_' || !AllIn(id, kIdAlphabet) ||
      !AllIn(secret, kSecretAlphabet)) {
    return std::nullopt;
  }
  return std::string(id);
}

std::string HashOperatorToken(std::string_view token) {
  return auth::HexDigest(auth::Digest::kSha256, token);
}

bool OperatorTokenMatches(std::string_view token, std::string_view stored_hash) {
  // The row was found by the token's public id; only the hash comparison involves the secret.
  return auth::ConstantTimeEquals(HashOperatorToken(token), stored_hash);
}

}  // namespace certplan::ops
