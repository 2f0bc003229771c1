#pragma once

#include <cstdint>
#include <string_view>

#include "auth/nonce_store.h"
#include "auth/replay_guard.h"

namespace certplan::auth {

// The replay guard of several nodes on one database: every nonce goes to the shared
// NonceStore, so a nonce used on one node is refused on all.
class SharedReplayGuard final : public ReplayGuard {
 public:
  explicit SharedReplayGuard(NonceStore& store) : store_(store) {}
  Status Remember(std::string_view access_key_id, std::string_view nonce, int64_t expires_at,
                  int64_t now) override {
    return store_.RememberNonce(access_key_id, nonce, expires_at, now);
  }
  bool ClaimsPendingNonces() const override { return store_.ClaimsPendingNonces(); }

 private:
  NonceStore& store_;
};

}  // namespace certplan::auth
