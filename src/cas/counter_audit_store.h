#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cas/plan.h"
#include "core/result.h"

namespace certplan::cas {

// An (account, ProductCode) whose stored counters disagree with a recount of its orders.
struct CounterDrift {
  int64_t account_id = 0;
  std::string product_code;
  PackageCounters stored;
  PackageCounters recounted;  // total unused
};

// A counter the order lists page with (their TotalCount, the metrics' orders by state) that
// disagrees with a recount of the orders: the per-(account, state) count, or (level >= 0) the
// count of one created_at bucket of it (level 0: 2^12 s, level 1: 2^20 s; see
// store/order_list.h).
struct ListCountDrift {
  int64_t account_id = 0;
  std::string status;  // the state as the store keeps it
  int level = -1;      // -1: the per-state count
  int64_t bucket = 0;
  int64_t stored = 0;
  int64_t actual = 0;
};

// The recount `certplan fsck` runs (a port: store/ implements it, cli/ wires it). One read
// transaction; kInternal or kServiceUnavailable on storage failures.
class CounterAuditStore {
 public:
  virtual ~CounterAuditStore() = default;

  // Recounts every package's UsedCount/IssuedCount from its orders; the drifted ones.
  virtual Result<std::vector<CounterDrift>> AuditCounters() = 0;
  // Recounts the list counters (per account and state, and per created_at bucket) from the
  // orders; the ones that disagree, a missing counter row counting as 0. Ordered by account,
  // state, level, bucket.
  virtual Result<std::vector<ListCountDrift>> AuditListCounts() = 0;
};

}  // namespace certplan::cas
