#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace certplan::ops {

// Operator tokens look like "cpo_<id>_<secret>": `id` is 16 lower-case letters and digits
// (public, names the token in lists and in the audit trail), `secret` 43 letters and digits from
// the CSPRNG (62^43 > 2^256). Only SHA-256 of the whole token is stored.
//
// Why SHA-256 and not a slow password hash (bcrypt, scrypt, Argon2): a slow hash makes guessing
// a *low-entropy* password from a stolen hash expensive. A 256-bit random secret cannot be
// guessed at any hash speed, so slowness would add no protection, only cost on every request
// (and a lever for anyone sending many bad tokens).

// A new token id and the whole token for it.
struct TokenParts {
  std::string id;
  std::string token;
};
TokenParts NewOperatorToken();

// The id inside a well-formed token; nullopt for anything else.
std::optional<std::string> OperatorTokenId(std::string_view token);

// Lower-case hex SHA-256 of the token.
std::string HashOperatorToken(std::string_view token);

// Whether `token` hashes to `stored_hash`, compared without an early exit.
bool OperatorTokenMatches(std::string_view token, std::string_view stored_hash);

}  // namespace certplan::ops
