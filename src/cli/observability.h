#pragma once

#include <memory>
#include <thread>

#include "api/rate_limiter.h"
#include "cli/config.h"
#include "cli/runtime.h"
#include "http/server.h"
#include "ops/service_metrics.h"

namespace certplan::cli {

// The metric label sets of this build: every served Action and every wire Code.
ops::MetricsOptions MetricsOptionsFor(const Config& config);

// Points the scrape-time gauges at the runtime's store, replay guard and clock, and times the
// store's operations.
void AttachMetrics(ops::ServiceMetrics& metrics, Runtime& runtime);

// The limiter [rate_limits] asks for (the preset, then the per-Action overrides), or nullptr
// when disabled. Its bucket count joins the metrics.
std::unique_ptr<api::RateLimiter> RateLimiterFor(const RateLimitConfig& config,
                                                 const api::TickClock& clock,
                                                 ops::ServiceMetrics& metrics);

// The /metrics listener on its own thread (README "Metrics"); Stop() drains and joins.
class MetricsListener {
 public:
  // nullptr (and nothing listening) when config.metrics_listen is "", or when the default
  // address is taken (logged as a warning); an error when a configured address cannot be
  // bound.
  static Result<std::unique_ptr<MetricsListener>> Start(const Config& config,
                                                        const ops::ServiceMetrics& metrics);
  ~MetricsListener();
  std::string address() const { return server_->address(); }
  void Stop();

 private:
  explicit MetricsListener(std::unique_ptr<http::Server> server) : server_(std::move(server)) {}
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
};

}  // namespace certplan::cli
