#pragma once

#include <functional>
#include <optional>

#include "core/result.h"
#include "ops/metrics_store.h"
#include "ops/service_metrics.h"
#include "rpc/request.h"

namespace certplan::ops {

// /healthz and /readyz, served beside the API on its listeners (load balancers and
// orchestrators probe them). GET only (another method: 405).
//   /healthz  200 {"status":"ok"} while the process serves requests at all.
//   /readyz   200 {"status":"ready"} when the store answers a ping and the CA is loaded;
//             503 {"status":"unavailable","reason":"…"} naming what failed otherwise.
// Bodies are JSON, never cached. Thread-safe.
class HealthEndpoints {
 public:
  HealthEndpoints(MetricsStore& store, std::function<Status()> ca_check)
      : store_(store), ca_check_(std::move(ca_check)) {}
  // The answer when `request` is for one of the two paths; nullopt otherwise.
  std::optional<rpc::Response> Handle(const rpc::Request& request);

 private:
  MetricsStore& store_;
  std::function<Status()> ca_check_;
};

// The metrics listener's whole application: GET /metrics answers the exposition
// (text/plain; version=0.0.4); other paths 404, other methods 405.
rpc::Response ServeMetrics(const rpc::Request& request, const ServiceMetrics& metrics);
// What the metrics listener answers a request its HTTP layer refused.
rpc::Response RefuseMetrics(const Error& error);

}  // namespace certplan::ops
