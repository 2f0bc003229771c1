#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

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
  Plans(PlanStore& store, const Clock& clock) : store_(store), clock_(clock) {}

  // The caller's own counters for `product_code` (empty = the default code). kInvalidParameter
  // for a code outside the catalog; zeros for a known code never bought.
  Result<PackageState> Describe(int64_t account_id, std::string_view product_code);

  // Grants `count` (1 … 1,000,000) certificates of a known code. kInvalidParameter for a bad
  // code, count, a past expiry or an unknown account. On success the audit record of `by`
  // (object: the PlanId) is stored with the plan; a refusal writes nothing (the caller records
  // it).
  Result<Plan> Grant(int64_t account_id, std::string_view product_code, int64_t count,
                     std::optional<int64_t> expires_at, const audit::Actor& by);
  Result<std::vector<Plan>> List(int64_t account_id);

 private:
  PlanStore& store_;
  const Clock& clock_;
};

}  // namespace certplan::cas
