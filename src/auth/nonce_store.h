#pragma once

#include <cstdint>
#include <string_view>

#include "auth/pending_nonce.h"  // the claim order writes take (ClaimsPendingNonces)
#include "core/result.h"

namespace certplan::auth {

// A nonce window kept in storage that every node shares (a port: store/postgres implements it,
// cli/ wires it behind a SharedReplayGuard). Thread-safe.
class NonceStore {
 public:
  virtual ~NonceStore() = default;

  // Remembers (access_key_id, nonce) until expires_at. kSignatureNonceUsed when a live entry
  // exists (a replay); kInternal or kServiceUnavailable on storage failures.
  virtual Status RememberNonce(std::string_view access_key_id, std::string_view nonce,
                               int64_t expires_at, int64_t now) = 0;
  // Whether this store's order writes take the request's PendingNonce and claim it in the same
  // statement (so the gateway may leave a Create* request's nonce to that write).
  virtual bool ClaimsPendingNonces() const { return false; }
};

}  // namespace certplan::auth
