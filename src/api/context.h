#pragma once

#include <string_view>

#include "cas/certificates.h"
#include "cas/orders.h"
#include "cas/plans.h"
#include "core/audit.h"
#include "core/clock.h"
#include "iam/principal.h"

namespace certplan::api {

// The domain services handlers call; owned by the composition root (cli/serve.cc).
struct Services {
  cas::Plans& plans;
  cas::Orders& orders;
  cas::Certificates& certificates;
};

// Everything one handler invocation may use besides its parameters.
struct Context {
  const iam::Principal& principal;
  std::string_view request_id;
  const Clock& clock;
  Services& services;
  // The caller as the audit trail records it; state-changing calls pass it to the domain.
  const audit::Actor& actor;
};

}  // namespace certplan::api
