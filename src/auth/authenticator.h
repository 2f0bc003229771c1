#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/pending_nonce.h"
#include "auth/replay_guard.h"
#include "auth/signed_request.h"
#include "core/clock.h"
#include "core/result.h"
#include "iam/identity_store.h"
#include "iam/principal.h"
#include "pki/secret_box.h"
#include "rpc/params.h"
#include "rpc/request.h"

namespace certplan::auth {

struct AuthOptions {
  // Accepted |server time - signed time| (spec §2.3: 15 minutes).
  int64_t timestamp_window_seconds = 900;
  // How long a looked-up AccessKey (its opened secret included) is reused before the store is
  // asked again: the bound on how late a disabled key is still accepted. 0: ask every time.
  int64_t key_cache_milliseconds = 1000;
};

// Turns a parsed claim into a Principal, checking in the order of spec §2.3: AccessKey (and
// STS token), timestamp format and window, signature, then nonce. The nonce is recorded only
// after the signature verifies, so forged requests cannot burn nonces. Thread-safe.
class Authenticator {
 public:
  Authenticator(iam::IdentityStore& store, const pki::SecretBox& box, ReplayGuard& replay,
                const Clock& clock, AuthOptions options)
      : store_(store), box_(box), replay_(replay), clock_(clock), options_(options) {}

  // Errors: kAccessKeyNotFound, kAccessKeyInactive, kSecurityTokenMalformed,
  // kInvalidTimestampFormat, kTimestampExpired, kSignatureDoesNotMatch, kSignatureNonceUsed,
  // kThrottling (the key's or account's replay share full), kInternal/kServiceUnavailable (store).
  //
  // With `defer` given and a replay guard that ClaimsPendingNonces, the nonce is not claimed here:
  // it is returned in *defer for the request's write to claim (auth/pending_nonce.h), and the
  // caller must ClaimNonce whatever that write did not take before answering.
  Result<iam::Principal> Authenticate(const SignedRequest& claim, const rpc::Request& request,
                                      const rpc::Params& params,
                                      std::optional<PendingNonce::Claim>* defer = nullptr);
  // Claims a deferred nonce on its own: kSignatureNonceUsed on a replay, as Authenticate would.
  Status ClaimNonce(const PendingNonce::Claim& claim, int64_t account_id);

 private:
  Status CheckTimestamp(const SignedRequest& claim, int64_t now, int64_t& signed_at) const;

  // A key as the authenticator needs it: the record and its opened secret.
  struct KnownKey {
    iam::AccessKey record;
    std::string secret;
    std::chrono::steady_clock::time_point fetched;
  };
  // The key from the cache while fresh, else from the store (nullopt: no such key).
  Result<std::optional<std::shared_ptr<const KnownKey>>> Lookup(std::string_view id);

  iam::IdentityStore& store_;
  const pki::SecretBox& box_;
  ReplayGuard& replay_;
  const Clock& clock_;
  AuthOptions options_;
  static constexpr size_t kMaxCachedKeys = 100'000;
  std::mutex mu_;
  // Found by a string_view of the id without building a std::string.
  struct IdHash {
    using is_transparent = void;
    size_t operator()(std::string_view id) const { return std::hash<std::string_view>()(id); }
  };
  std::unordered_map<std::string, std::shared_ptr<const KnownKey>, IdHash, std::equal_to<>>
      keys_;  // guarded by mu_
};

}  // namespace certplan::auth
