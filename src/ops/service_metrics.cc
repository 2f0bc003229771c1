#include "ops/service_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "cas/order.h"

namespace certplan::ops {
namespace {

constexpr int64_t kMicro = 1000;
constexpr int64_t kMilli = 1000 * kMicro;
constexpr int64_t kSecond = 1000 * kMilli;

// Request and store latencies, in nanoseconds: the read path answers in tens of µs, a durable
// group commit in ms, a store outage runs into seconds.
std::vector<int64_t> LatencyBounds() {
  return {50 * kMicro,  100 * kMicro, 250 * kMicro,  500 * kMicro, 1 * kMilli,   2500 * kMicro,
          5 * kMilli,   10 * kMilli,  25 * kMilli,   50 * kMilli,  100 * kMilli, 250 * kMilli,
          500 * kMilli, 1 * kSecond,  2500 * kMilli, 5 * kSecond,  10 * kSecond};
}

constexpr double kNanosPerSecond = 1e9;

constexpr cas::OrderStatus kStates[] = {
    cas::OrderStatus::kDomainVerify, cas::OrderStatus::kProcess, cas::OrderStatus::kCertificate,
    cas::OrderStatus::kVerifyFail,   cas::OrderStatus::kPayed,   cas::OrderStatus::kCancelled,
    cas::OrderStatus::kRevoked,      cas::OrderStatus::kDeleted,
};

int64_t MonotonicNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

ServiceMetrics::ServiceMetrics(MetricsOptions options) : options_(std::move(options)) {
  start_time_ = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  codes_.push_back("OK");
  for (const std::string& c : options_.codes) {
    if (c != "OK" && c != "other") codes_.push_back(c);
  }
  codes_.push_back("other");
  for (size_t i = 0; i < codes_.size(); ++i) code_index_.emplace(codes_[i], i);

  const size_t rows = options_.actions.size() + 1;
  requests_.reserve(rows * codes_.size());
  for (size_t a = 0; a < rows; ++a) {
    const std::string action = a < options_.actions.size() ? options_.actions[a] : "unknown";
    for (size_t c = 0; c < codes_.size(); ++c) {
      // Every Action's successes are always shown; the other (Action, Code) pairs once seen.
      requests_.push_back(registry_.AddCounter(
          "certplan_requests_total",
          "CAS API requests answered, by Action (\"unknown\" when not a served one) and wire "
          "Code (\"OK\" on success).",
          {{"action", action}, {"code", codes_[c]}},
          c == 0 && a < options_.actions.size() ? Registry::Zero::kAlways
                                                : Registry::Zero::kOnceNonZero));
    }
    latency_.push_back(
        registry_.AddHistogram("certplan_request_duration_seconds",
                               "Time from a complete request to its answer, by Action.",
                               {{"action", action}}, LatencyBounds(), kNanosPerSecond));
  }
  const char* methods[] = {"DNS", "FILE"};
  const char* outcomes[] = {"fail", "pass"};
  for (int m = 0; m < 2; ++m) {
    for (int o = 0; o < 2; ++o) {
      checks_[m][o] = registry_.AddCounter(
          "certplan_validation_checks_total",
          "Domain control checks of one name (DNS TXT or HTTP file), by method and outcome.",
          {{"method", methods[m]}, {"outcome", outcomes[o]}});
    }
  }
  issued_ = registry_.AddCounter("certplan_certificates_issued_total",
                                 "Certificates the CA signed for orders.", {});
  issue_failures_ = registry_.AddCounter("certplan_certificate_issue_failures_total",
                                         "Signings the CA refused or failed.", {});
  issue_latency_ = registry_.AddHistogram("certplan_certificate_issue_duration_seconds",
                                          "Time the CA took to sign one certificate.", {},
                                          LatencyBounds(), kNanosPerSecond);
  const char* paths[] = {"connection", "group_commit"};
  for (int p = 0; p < 2; ++p) {
    store_latency_[p] = registry_.AddHistogram(
        "certplan_store_operation_duration_seconds",
        "Store operations: one read or write on a pooled connection (pool wait included), or "
        "one write through SQLite's group commit (durable commit included).",
        {{"backend", options_.backend}, {"path", paths[p]}}, LatencyBounds(), kNanosPerSecond);
  }
  registry_.AddCollector([this](Exposition& out) { CollectProcess(out); });
  registry_.AddCollector([this](Exposition& out) {
    if (!replay_fill_) return;
    const ReplayFill fill = replay_fill_();
    out.Family("certplan_replay_guard_shares",
               "Nonce shares (AccessKeys, or accounts) the in-memory replay guard holds.", "gauge");
    out.Sample(static_cast<double>(fill.shares));
    out.Family("certplan_replay_guard_entries", "Nonces the in-memory replay guard remembers.",
               "gauge");
    out.Sample(static_cast<double>(fill.entries));
    out.Family("certplan_replay_guard_bytes",
               "Bytes of digests and filters the in-memory replay guard holds.", "gauge");
    out.Sample(static_cast<double>(fill.bytes));
    out.Family("certplan_replay_guard_fullest_share_ratio",
               "The fullest share's nonces over auth.replay_max_entries (at 1 that share is "
               "throttled).",
               "gauge");
    out.Sample(fill.fullest_ratio);
  });
}

void ServiceMetrics::AttachStore(MetricsStore& store, const Clock& clock) {
  store_ = &store;
  clock_ = &clock;
  registry_.AddCollector([this](Exposition& out) { CollectStore(out); });
}

size_t ServiceMetrics::ActionIndex(std::string_view action) const {
  for (size_t i = 0; i < options_.actions.size(); ++i) {
    if (options_.actions[i] == action) return i;
  }
  return options_.actions.size();
}

size_t ServiceMetrics::CodeIndex(std::string_view code) const {
  if (code.empty()) return 0;
  auto it = code_index_.find(code);
  return it == code_index_.end() ? codes_.size() - 1 : it->second;
}

void ServiceMetrics::ObserveRequest(std::string_view action, std::string_view code,
                                    int64_t nanoseconds) {
  const size_t a = ActionIndex(action);
  requests_[a * codes_.size() + CodeIndex(code)].Add();
  latency_[a].Observe(nanoseconds);
}

void ServiceMetrics::ObserveRefusal(std::string_view code) {
  requests_[options_.actions.size() * codes_.size() + CodeIndex(code)].Add();
}

void ServiceMetrics::ObserveCheck(cas::CheckMethod method, bool passed) {
  checks_[method == cas::CheckMethod::kDns ? 0 : 1][passed ? 1 : 0].Add();
}

void ServiceMetrics::ObserveIssue(bool issued, int64_t nanoseconds) {
  (issued ? issued_ : issue_failures_).Add();
  issue_latency_.Observe(nanoseconds);
}

void ServiceMetrics::OnStoreOperation(Path path, int64_t nanoseconds) {
  store_latency_[path == Path::kConnection ? 0 : 1].Observe(nanoseconds);
}

void ServiceMetrics::SetReplayFill(std::function<ReplayFill()> read) {
  replay_fill_ = std::move(read);
}

void ServiceMetrics::CollectStore(Exposition& out) {
  const int64_t start = MonotonicNanos();
  const Status ping = store_->Ping();
  const int64_t took = MonotonicNanos() - start;
  out.Family("certplan_store_up", "1 when the store answered this scrape's ping, else 0.", "gauge");
  out.Sample({{"backend", options_.backend}}, ping ? 1 : 0);
  out.Family("certplan_store_ping_duration_seconds", "Round trip of this scrape's store ping.",
             "gauge");
  out.Sample({{"backend", options_.backend}}, static_cast<double>(took) / kNanosPerSecond);
  if (!ping) return;

  if (Result<std::vector<StateCount>> states = store_->CountOrdersByState()) {
    out.Family("certplan_orders", "Orders in the store, by state (every node's).", "gauge");
    for (cas::OrderStatus status : kStates) {
      const std::string_view name = cas::StatusName(status);
      int64_t n = 0;
      for (const StateCount& s : *states) {
        if (s.state == name) n = s.count;
      }
      out.Sample({{"state", std::string(name)}}, static_cast<double>(n));
    }
  }
  const int64_t now = clock_->NowSeconds();
  if (Result<std::vector<PlanUnits>> units = store_->CountPlanUnits(now, options_.per_account)) {
    auto labels = [&](const PlanUnits& u) {
      Labels l;
      if (options_.per_account) l.push_back({"account", std::to_string(u.account_id)});
      l.push_back({"product_code", u.product_code});
      return l;
    };
    out.Family("certplan_plan_units_granted",
               "Units of the plans in force (TotalCount), by ProductCode.", "gauge");
    for (const PlanUnits& u : *units) out.Sample(labels(u), static_cast<double>(u.granted));
    out.Family("certplan_plan_units_used", "Units held by orders (UsedCount), by ProductCode.",
               "gauge");
    for (const PlanUnits& u : *units) out.Sample(labels(u), static_cast<double>(u.used));
    out.Family("certplan_plan_units_issued",
               "Unit-holding orders issued (IssuedCount), by ProductCode.", "gauge");
    for (const PlanUnits& u : *units) out.Sample(labels(u), static_cast<double>(u.issued));
  }
  if (Result<SoonestExpiry> soonest = store_->FindSoonestExpiry(now)) {
    out.Family("certplan_certificate_soonest_expiry_timestamp_seconds",
               "The soonest NotAfter (Unix time) among unexpired, unrevoked certificates, by "
               "source; absent when there is none.",
               "gauge");
    if (soonest->issued) out.Sample({{"source", "issued"}}, static_cast<double>(*soonest->issued));
    if (soonest->uploaded) {
      out.Sample({{"source", "uploaded"}}, static_cast<double>(*soonest->uploaded));
    }
  }
}

void ServiceMetrics::CollectProcess(Exposition& out) {
  out.Family("process_start_time_seconds", "When certplan serve started (Unix time).", "gauge");
  out.Sample(static_cast<double>(start_time_));
  struct rusage usage {};
  if (::getrusage(RUSAGE_SELF, &usage) == 0) {
    const double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                       static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    out.Family("process_cpu_seconds_total", "User and system CPU time spent.", "counter");
    out.Sample(cpu);
  }
  std::ifstream statm("/proc/self/statm");
  int64_t pages = 0, resident = 0;
  if (statm >> pages >> resident) {
    out.Family("process_resident_memory_bytes", "Resident memory size.", "gauge");
    out.Sample(static_cast<double>(resident * ::sysconf(_SC_PAGESIZE)));
  }
  std::error_code ec;
  int64_t fds = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++fds;
  }
  if (!ec) {
    out.Family("process_open_fds", "Open file descriptors.", "gauge");
    out.Sample(static_cast<double>(fds));
  }
}

}  // namespace certplan::ops
