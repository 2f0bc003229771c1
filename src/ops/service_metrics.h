#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cas/domain_checker.h"
#include "core/clock.h"
#include "ops/metrics_registry.h"
#include "ops/metrics_store.h"

namespace certplan::ops {

struct MetricsOptions {
  // Label values the request series may carry: the served Action names (anything else counts
  // as "unknown") and the wire Codes (anything else as "other"; success is "OK").
  std::vector<std::string> actions;
  std::vector<std::string> codes;
  // Plan unit gauges per account as well as per ProductCode ([metrics] per_account): one
  // series per (account, ProductCode) held, so off by default.
  bool per_account = false;
  std::string backend;  // "sqlite" or "postgres", a label of the store series
};

// The in-memory replay guard's fill (nonce shares, entries, bytes, fullest share / capacity).
struct ReplayFill {
  int64_t shares = 0;
  int64_t entries = 0;
  int64_t bytes = 0;
  double fullest_ratio = 0;
};

// certplan's metrics: request counts and latencies by Action and Code, validation checks,
// issuance, store latency (updated on the request path, wait-free), and at scrape time the
// store's gauges (orders by state, plan units, soonest expiry, store reachability), the replay
// guard's fill and process figures. The README's "Metrics" section lists every series.
// Thread-safe once serving; the Attach/Set/Add calls come before.
class ServiceMetrics final : public StoreLatencyObserver {
 public:
  explicit ServiceMetrics(MetricsOptions options);

  // The store the scrape-time gauges read (`store` and `clock` must outlive this).
  void AttachStore(MetricsStore& store, const Clock& clock);

  // One answered API request: the Action the caller named ("" when none), its wire Code (""
  // on success) and the time from the request to its answer.
  void ObserveRequest(std::string_view action, std::string_view code, int64_t nanoseconds);
  // One request the HTTP layer refused before the gateway saw it (counted as Action
  // "unknown"; no latency: it may have been cut off mid-request).
  void ObserveRefusal(std::string_view code);
  // One domain control check of one name.
  void ObserveCheck(cas::CheckMethod method, bool passed);
  // One signing by the CA for an order.
  void ObserveIssue(bool issued, int64_t nanoseconds);
  void OnStoreOperation(Path path, int64_t nanoseconds) override;

  // Read at scrape time; set before serving.
  void SetReplayFill(std::function<ReplayFill()> read);
  // Further scrape-time families (e.g. the rate limiter's buckets); before serving.
  void AddCollector(std::function<void(Exposition&)> collect) {
    registry_.AddCollector(std::move(collect));
  }

  // The exposition (text format 0.0.4). Scrapes run one at a time.
  std::string Render() const { return registry_.Render(); }

 private:
  size_t ActionIndex(std::string_view action) const;
  size_t CodeIndex(std::string_view code) const;
  void CollectStore(Exposition& out);
  void CollectProcess(Exposition& out);

  MetricsOptions options_;
  MetricsStore* store_ = nullptr;
  const Clock* clock_ = nullptr;
  int64_t start_time_;
  std::unordered_map<std::string_view, size_t> code_index_;  // into codes_, read-only
  std::vector<std::string> codes_;                           // "OK", options_.codes…, "other"
  Registry registry_;
  std::vector<Counter> requests_;  // [action][code], actions_ + 1 ("unknown") rows
  std::vector<Histogram> latency_;
  Counter checks_[2][2];  // [DNS, FILE][fail, pass]
  Counter issued_;
  Counter issue_failures_;
  Histogram issue_latency_;
  Histogram store_latency_[2];  // by Path
  std::function<ReplayFill()> replay_fill_;
};

}  // namespace certplan::ops
