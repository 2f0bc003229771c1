#pragma once

#include <cstdint>

#include "auth/replay_guard.h"
#include "auth/signed_request.h"
#include "core/clock.h"
#include "core/result.h"
#include "iam/principal.h"
#include "pki/secret_box.h"
#include "rpc/params.h"
#include "rpc/request.h"
#include "store/store.h"

namespace certplan::auth {

struct AuthOptions {
  // Accepted |server time - signed time| (spec §2.3: 15 minutes).
  int64_t timestamp_window_seconds = 900;
};

// Turns a parsed claim into a Principal, checking in the order of spec §2.3: AccessKey (and
// STS token), timestamp format and window, signature, then nonce. The nonce is recorded only
// after the signature verifies, so forged requests cannot burn nonces. Thread-safe.
class Authenticator {
 public:
  Authenticator(store::Store& store, const pki::SecretBox& box, ReplayGuard& replay,
                const Clock& clock, AuthOptions options)
      : store_(store), box_(box), replay_(replay), clock_(clock), options_(options) {}

  // Errors: kAccessKeyNotFound, kAccessKeyInactive, kSecurityTokenMalformed,
  // kInvalidTimestampFormat, kTimestampExpired, kSignatureDoesNotMatch, kSignatureNonceUsed,
  // kThrottling (replay guard full), kInternal/kServiceUnavailable (store).
  Result<iam::Principal> Authenticate(const SignedRequest& claim, const rpc::Request& request,
                                      const rpc::Params& params);

 private:
  Status CheckTimestamp(const SignedRequest& claim, int64_t now, int64_t& signed_at) const;

  store::Store& store_;
  const pki::SecretBox& box_;
  ReplayGuard& replay_;
  const Clock& clock_;
  AuthOptions options_;
};

}  // namespace certplan::auth
