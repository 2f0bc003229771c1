#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "api/context.h"
#include "api/rate_limiter.h"
#include "auth/authenticator.h"
#include "core/clock.h"
#include "iam/authorizer.h"
#include "ops/audit_trail.h"
#include "rpc/params.h"
#include "rpc/reply.h"
#include "rpc/request.h"

namespace certplan::api {

// One answered request plus what the access log needs.
struct Answer {
  rpc::Response response;
  std::string request_id;
  std::string action;
  std::string access_key_id;
  int64_t account_id = 0;
  std::string code;            // wire Code, empty on success
  bool authenticated = false;  // the signature and AccessKey were accepted
};

// The RPC pipeline of DESIGN.md: parameters → scheme → Action/Version → authentication →
// handler → rendering. Synchronous and thread-safe; never throws (an unexpected exception
// becomes InternalError). With a `limiter`, each authenticated request takes a token of its
// (account, Action) before RAM is asked (spec §2.3); nullptr: no rate limits.
//
// Audit: a state-changing Action (ChangesState) that succeeds is recorded by the domain in the
// transaction of its change; one an authenticated caller is refused (throttling, RAM,
// parameters, quota, state …) is recorded here, on its own. A request refused before its caller
// is authenticated is never written (a forged request must not cost a durable write): it is
// only counted.
class Gateway {
 public:
  Gateway(auth::Authenticator& authenticator, iam::Authorizer& authorizer, Services& services,
          ops::AuditTrail& audit, const Clock& clock, RateLimiter* limiter = nullptr)
      : authenticator_(authenticator),
        authorizer_(authorizer),
        services_(services),
        audit_(audit),
        clock_(clock),
        limiter_(limiter) {}

  Answer Handle(const rpc::Request& request);

  // Requests refused before authentication succeeded, since start (for the metrics).
  int64_t unauthenticated_refusals() const { return unauthenticated_.load(); }

 private:
  Result<rpc::Reply> Run(const rpc::Request& request, const rpc::Params& params,
                         const std::optional<Error>& body_error, Answer& answer);

  auth::Authenticator& authenticator_;
  iam::Authorizer& authorizer_;
  Services& services_;
  ops::AuditTrail& audit_;
  const Clock& clock_;
  RateLimiter* limiter_;
  std::atomic<int64_t> unauthenticated_{0};
};

// The answer to a request the HTTP layer refused before the gateway saw it (oversized, slow,
// malformed): the error envelope in JSON.
rpc::Response RenderTransportError(const Error& error);

}  // namespace certplan::api
