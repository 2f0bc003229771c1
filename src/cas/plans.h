#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "cas/counter_cache.h"
#include "cas/plan.h"
#include "cas/plan_store.h"
#include "core/audit.h"
#include "core/clock.h"
#include "core/result.h"

namespace certplan::cas {

// TotalCount / UsedCount / IssuedCount of one ProductCode for one account (spec §3.3).
struct PackageState {
  std::string_view product_code;  // points into the catalog
  int64_t total = 0;
  int64_t used = 0;
  int64_t issued = 0;
};

// Certificate resource plans: granting them and reading the quota they give. Thread-safe.
class Plans {
 public:
  // `counters`: where Describe keeps counters in memory (see CounterCache); null reads the
  // store every time.
  Plans(PlanStore& store, const Clock& clock, CounterCache* counters = nullptr)
      : store_(store), clock_(clock), counters_(counters) {}

  // The caller's own counters for `product_code` (empty = the default code). kInvalidParameter
  // for a code outside the catalog; zeros for a known code never bought.
  Result<PackageState> Describe(int64_t account_id, std::string_view product_code);

  // Grants `count` (1 … 1,000,000) certificates of a known code. kInvalidParameter for a bad
  // code, count, a past expiry or an unknown account. On success the audit record of `by`
  // (object: the PlanId) is stored with the plan; a refusal writes nothing (the caller records
  // it).
  Result<Plan> Grant(int64_t account_id, std::string_view product_code, int64_t count,
                     std::optional<int64_t> expires_at, const audit::Actor& by);
  // Grant's checks without the write: the plan Grant would store (id 0, granted now), for a
  // caller that stores it its own way (ops/: once per idempotency key, with its audit record).
  // Same errors as Grant.
  Result<Plan> Prepare(int64_t account_id, std::string_view product_code, int64_t count,
                       std::optional<int64_t> expires_at);
  // A caller that stored a prepared plan itself calls this after the commit, so this node's
  // counters show it at once (see CounterCache).
  void NoteGranted(int64_t account_id);
  // The account's plans, oldest first; kInvalidParameter ("no such account") for an unknown
  // account.
  Result<std::vector<Plan>> List(int64_t account_id);

 private:
  PlanStore& store_;
  const Clock& clock_;
  CounterCache* counters_;
};

}  // namespace certplan::cas
