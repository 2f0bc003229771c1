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

// The recount `certplan fsck` runs (a port: store/ implements it, cli/ wires it). One read
// transaction; kInternal or kServiceUnavailable on storage failures.
class CounterAuditStore {
 public:
  virtual ~CounterAuditStore() = default;

  // Recounts every package's UsedCount/IssuedCount from its orders; the drifted ones.
  virtual Result<std::vector<CounterDrift>> AuditCounters() = 0;
};

}  // namespace certplan::cas
