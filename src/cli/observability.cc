#include "cli/observability.h"

#include <set>

#include "api/action_table.h"
#include "auth/replay_guard.h"
#include "core/log.h"
#include "ops/endpoints.h"
#include "rpc/errors.h"

namespace certplan::cli {

ops::MetricsOptions MetricsOptionsFor(const Config& config) {
  ops::MetricsOptions options;
  for (const api::Action& a : api::Actions()) options.actions.emplace_back(a.name);
  // Every wire Code: ToWire maps each enumerator, and any value past the last one to
  // InternalError, so a scan past the end finds them all without naming the last.
  std::set<std::string> codes;
  for (int i = 0; i < 256; ++i) codes.emplace(rpc::ToWire(static_cast<ErrorCode>(i)).code);
  options.codes.assign(codes.begin(), codes.end());
  options.per_account = config.metrics_per_account;
  options.backend = config.store_url.empty() ? "sqlite" : "postgres";
  return options;
}

void AttachMetrics(ops::ServiceMetrics& metrics, Runtime& runtime) {
  metrics.AttachStore(*runtime.metrics_store, *runtime.clock);
  runtime.SetStoreLatencyObserver(&metrics);
  // The nonce window lives in process memory on SQLite (its fill is this node's); PostgreSQL
  // keeps it in the database.
  if (auto* guard = dynamic_cast<auth::MemoryReplayGuard*>(runtime.replay.get())) {
    metrics.SetReplayFill([guard] {
      const auth::MemoryReplayGuard::Fill f = guard->Measure();
      return ops::ReplayFill{
          static_cast<int64_t>(f.shares), f.entries, static_cast<int64_t>(f.bytes),
          f.capacity > 0 ? static_cast<double>(f.fullest) / static_cast<double>(f.capacity) : 0.0};
    });
  }
}

std::unique_ptr<api::RateLimiter> RateLimiterFor(const RateLimitConfig& config,
                                                 const api::TickClock& clock,
                                                 ops::ServiceMetrics& metrics) {
  if (!config.enabled) return nullptr;
  std::vector<std::optional<api::RateLimit>> limits;
  for (const api::Action& a : api::Actions()) {
    std::optional<api::RateLimit> limit;
    if (config.preset == "cas") limit = api::CasPresetLimit(a.name);
    if (auto it = config.actions.find(std::string(a.name)); it != config.actions.end()) {
      limit = it->second;
    }
    limits.push_back(limit);
  }
  auto limiter = std::make_unique<api::RateLimiter>(std::move(limits),
                                                    static_cast<size_t>(config.max_buckets), clock);
  api::RateLimiter* l = limiter.get();
  metrics.AddCollector([l](ops::Exposition& out) {
    out.Family("certplan_rate_limit_buckets",
               "Token buckets ([rate_limits]) held in memory, of at most max_buckets.", "gauge");
    out.Sample(static_cast<double>(l->BucketCount()));
  });
  return limiter;
}

Result<std::unique_ptr<MetricsListener>> MetricsListener::Start(
    const Config& config, const ops::ServiceMetrics& metrics) {
  if (config.metrics_listen.empty()) return std::unique_ptr<MetricsListener>();
  http::ServerOptions options;
  if (Status s = ParseListen(config.metrics_listen, options); !s) {
    return InvalidParameter("server.metrics_listen", "use HOST:PORT, e.g. 127.0.0.1:9464.");
  }
  // One thread and a few connections: a scraper or two, never the API's load.
  options.threads = 1;
  options.max_connections = 64;
  options.limits.body_bytes = 1024;
  options.body_budget_bytes = 64 * 1024;
  http::Application app;
  app.handle = [&metrics](const rpc::Request& request) {
    return ops::ServeMetrics(request, metrics);
  };
  app.refuse = [](const Error& error) { return ops::RefuseMetrics(error); };
  Result<std::unique_ptr<http::Server>> server = http::Server::Create(options, std::move(app));
  if (!server) {
    if (config.metrics_listen_configured) {
      return InvalidParameter("server.metrics_listen", server.error().message);
    }
    log::Line(log::Level::kWarn, "metrics listener not started: the default address is taken")
        .Str("metrics_listen", config.metrics_listen)
        .Str("detail", server.error().message)
        .Write();
    return std::unique_ptr<MetricsListener>();
  }
  std::unique_ptr<MetricsListener> listener(new MetricsListener(std::move(*server)));
  if (Status s = listener->server_->Listen(); !s) return s.error();
  http::Server* raw = listener->server_.get();
  listener->thread_ = std::thread([raw] { raw->Run(); });
  return listener;
}

void MetricsListener::Stop() {
  if (!thread_.joinable()) return;
  server_->Stop();
  thread_.join();
}

MetricsListener::~MetricsListener() { Stop(); }

}  // namespace certplan::cli
