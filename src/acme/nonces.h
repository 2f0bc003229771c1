#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "auth/replay_guard.h"
#include "core/clock.h"
#include "core/result.h"

namespace certplan::acme {

// Replay-Nonce values (RFC 8555 §6.5) the server checks without remembering the ones it hands
// out: a nonce is base64url(issue time ‖ 12 random bytes ‖ HMAC-SHA256(key, both)[0..12]), 43
// characters. Consume() accepts a nonce whose MAC is right and which is younger than
// `lifetime_seconds`, then records it in a replay guard until it would expire anyway, so a
// nonce works once. Only nonces that pass the MAC (issued by a node holding the key) and that
// came with a verified JWS reach the guard: memory is bounded by the guard (the in-memory
// guard's share size on SQLite, the shared nonce table on PostgreSQL), not by how many nonces
// clients fetch. Thread-safe.
class NonceIssuer {
 public:
  // Where the MAC key comes from (the same on every node of one database); asked until it
  // answers, so a node starts while its database is still down.
  using KeySource = std::function<Result<std::string>()>;

  // `key`: the MAC key. `guard`: where used nonces are remembered (in memory on one node; the
  // shared store across nodes).
  NonceIssuer(std::string key, auth::ReplayGuard& guard, const Clock& clock,
              int64_t lifetime_seconds)
      : key_(std::move(key)), guard_(guard), clock_(clock), lifetime_(lifetime_seconds) {}
  NonceIssuer(KeySource source, auth::ReplayGuard& guard, const Clock& clock,
              int64_t lifetime_seconds)
      : source_(std::move(source)), guard_(guard), clock_(clock), lifetime_(lifetime_seconds) {}

  // A fresh nonce; empty while the key cannot be had (the store is down).
  std::string Issue() const;
  // kSignatureNonceUsed for a nonce used before; kInvalidParameter for one that is malformed,
  // forged or expired; kThrottling when the guard is full; the key source's error while it
  // fails.
  Status Consume(std::string_view nonce) const;

  // The name of the replay guard's share ACME nonces go to (never an AccessKeyId: those start
  // with "LTAI" or are 24 characters).
  static constexpr std::string_view kGuardShare = "acme:nonce";

 private:
  Result<std::string> Key() const;

  mutable std::mutex mu_;
  mutable std::optional<std::string> key_;  // guarded by mu_ (set once)
  KeySource source_;
  auth::ReplayGuard& guard_;
  const Clock& clock_;
  int64_t lifetime_;
};

}  // namespace certplan::acme
