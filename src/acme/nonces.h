#pragma once

#include <atomic>
#include <cstdint>
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
  // `key`: the MAC key (the same on every node of one database). `guard`: where used nonces are
  // remembered (in memory on one node; the shared store across nodes).
  NonceIssuer(std::string key, auth::ReplayGuard& guard, const Clock& clock,
              int64_t lifetime_seconds)
      : key_(std::move(key)), guard_(guard), clock_(clock), lifetime_(lifetime_seconds) {}

  std::string Issue() const;
  // kSignatureNonceUsed for a nonce used before; kInvalidParameter for one that is malformed,
  // forged or expired; kThrottling when the guard is full.
  Status Consume(std::string_view nonce) const;

  // The name of the replay guard's share ACME nonces go to (never an AccessKeyId: those start
  // with "LTAI" or are 24 characters).
  static constexpr std::string_view kGuardShare = "acme:nonce";

 private:
  std::string key_;
  auth::ReplayGuard& guard_;
  const Clock& clock_;
  int64_t lifetime_;
};

}  // namespace certplan::acme
