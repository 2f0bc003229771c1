#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "cas/plan.h"
#include "core/audit.h"
#include "core/result.h"

namespace certplan::cas {

// The plans and quota counters Plans needs from storage (a port: store/ implements it, cli/
// wires it). Each method is one transaction; implementations are thread-safe and return
// kInternal (detail: the database's text) or kServiceUnavailable (database unreachable) on
// storage failures. A write is acknowledged (returns) only once its commit is durable.
class PlanStore {
 public:
  virtual ~PlanStore() = default;

  // Whether the account exists (plans are granted to existing accounts only).
  virtual Result<bool> AccountExists(int64_t account_id) = 0;
  // Stores the plan (id assigned) and returns it, with `audit` (object_id: the plan's id) in
  // the same transaction.
  virtual Result<Plan> GrantPlan(const Plan& plan, const audit::Record& audit) = 0;
  virtual Result<std::vector<Plan>> ListPlans(int64_t account_id) = 0;
  // Counters at time `now`: zeros for a code the account never held. Costs the same however
  // many orders exist (counters are rows, not recounts).
  virtual Result<PackageCounters> GetPackageCounters(int64_t account_id,
                                                     std::string_view product_code,
                                                     int64_t now) = 0;
};

}  // namespace certplan::cas
