#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/audit.h"
#include "core/clock.h"
#include "core/result.h"
#include "ops/audit_log.h"

namespace certplan::ops {

// Where a page of the trail ends: pass it back to read the next page; nullopt when done.
struct AuditCursor {
  int64_t time = 0;
  int64_t id = 0;
};

struct AuditPage {
  std::vector<audit::Record> records;
  std::optional<AuditCursor> next;
};

// The audit trail as the fronts use it (the CAS gateway, the admin CLI, the operator API):
// refusals recorded on their own, the trail read page by page, old records pruned. Records of
// changes are not written here: the domain stores them in the transaction of the change.
// Thread-safe.
class AuditTrail {
 public:
  static constexpr int64_t kMaxPage = 1000;

  AuditTrail(AuditLog& log, const Clock& clock) : log_(log), clock_(clock) {}

  // Records a refused call by `by` on `account_id` (which changed nothing): result is the wire
  // Code. Object as the call named it (may be empty). Never for an unauthenticated caller.
  Status RecordRefusal(const audit::Actor& by, int64_t account_id, std::string_view object_type,
                       std::string_view object_id, std::string_view code);

  // One page (at most `limit`, 1 … kMaxPage) of the account's records with since <= time <
  // until, oldest first, after `cursor` (nullopt: from the start). kInvalidParameter for a bad
  // limit or until <= since.
  Result<AuditPage> Read(int64_t account_id, int64_t since, int64_t until,
                         std::optional<AuditCursor> cursor, int64_t limit);

  // Deletes records older than `retention_days` (≥ 1) in batches of `batch` rows, so no
  // delete holds the writer long; how many it deleted.
  Result<int64_t> Prune(int64_t retention_days, int64_t batch = 5000);

 private:
  AuditLog& log_;
  const Clock& clock_;
};

// Record fields as the readers print them (jsonl, csv, the operator API): one name per field,
// in this order, and the values of one record in the same order.
std::vector<std::string_view> AuditFieldNames();
std::vector<std::string> AuditFieldValues(const audit::Record& r);

// Parses an operator's time: RFC 3339 (2026-01-01T00:00:00Z, offsets allowed) or unix seconds.
std::optional<int64_t> ParseAuditTime(std::string_view text);

}  // namespace certplan::ops
