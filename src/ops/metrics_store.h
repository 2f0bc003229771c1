#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace certplan::ops {

// Orders in one state (storage name, e.g. "domain_verify").
struct StateCount {
  std::string state;
  int64_t count = 0;
};

// Plan units of one ProductCode (and one account, when asked per account): granted = the
// counts of plans in force, used/issued = the package counters.
struct PlanUnits {
  int64_t account_id = 0;  // 0 when summed over accounts
  std::string product_code;
  int64_t granted = 0;
  int64_t used = 0;
  int64_t issued = 0;
};

// The soonest NotAfter, after `now`, of the repository's certificates that are not revoked.
struct SoonestExpiry {
  std::optional<int64_t> issued;    // certificates the CA issued for orders
  std::optional<int64_t> uploaded;  // UploadUserCertificate entries
};

// What the metrics and the readiness check read from storage (a port: store/ implements it,
// cli/ wires it). Each method is one short read; implementations are thread-safe and return
// kServiceUnavailable (database unreachable) or kInternal on storage failures. Costs: Ping is
// one round trip; the others read indexes (orders by status, certificates by expiry) or the
// per-package counter rows, never order or certificate bodies.
class MetricsStore {
 public:
  virtual ~MetricsStore() = default;

  virtual Status Ping() = 0;
  // Every stored state that has orders (deleted included).
  virtual Result<std::vector<StateCount>> CountOrdersByState() = 0;
  // Per ProductCode, or per (account, ProductCode) when `per_account`; plans in force at `now`.
  virtual Result<std::vector<PlanUnits>> CountPlanUnits(int64_t now, bool per_account) = 0;
  virtual Result<SoonestExpiry> FindSoonestExpiry(int64_t now) = 0;
};

// Told how long each store operation took; installed once before serving (thread-safe, called
// on the caller's thread, must be cheap and never throw).
class StoreLatencyObserver {
 public:
  enum class Path {
    kConnection,   // one operation on a pooled connection, waiting for the pool included
    kGroupCommit,  // one write through SQLite's group commit, its durable commit included
  };
  virtual ~StoreLatencyObserver() = default;
  virtual void OnStoreOperation(Path path, int64_t nanoseconds) = 0;
};

}  // namespace certplan::ops
