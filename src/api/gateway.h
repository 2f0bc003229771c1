#pragma once

#include <cstdint>
#include <string>

#include "api/context.h"
#include "api/rate_limiter.h"
#include "auth/authenticator.h"
#include "core/clock.h"
#include "iam/authorizer.h"
#include "rpc/request.h"

namespace certplan::api {

// One answered request plus what the access log needs.
struct Answer {
  rpc::Response response;
  std::string request_id;
  std::string action;
  std::string access_key_id;
  int64_t account_id = 0;
  std::string code;  // wire Code, empty on success
};

// The RPC pipeline of DESIGN.md: parameters → scheme → Action/Version → authentication →
// handler → rendering. Synchronous and thread-safe; never throws (an unexpected exception
// becomes InternalError). With a `limiter`, each authenticated request takes a token of its
// (account, Action) before RAM is asked (spec §2.3); nullptr: no rate limits.
class Gateway {
 public:
  Gateway(auth::Authenticator& authenticator, iam::Authorizer& authorizer, Services& services,
          const Clock& clock, RateLimiter* limiter = nullptr)
      : authenticator_(authenticator),
        authorizer_(authorizer),
        services_(services),
        clock_(clock),
        limiter_(limiter) {}

  Answer Handle(const rpc::Request& request);

 private:
  auth::Authenticator& authenticator_;
  iam::Authorizer& authorizer_;
  Services& services_;
  const Clock& clock_;
  RateLimiter* limiter_;
};

// The answer to a request the HTTP layer refused before the gateway saw it (oversized, slow,
// malformed): the error envelope in JSON.
rpc::Response RenderTransportError(const Error& error);

}  // namespace certplan::api
