#pragma once

#include <cstdint>
#include <vector>

#include "core/audit.h"
#include "core/result.h"

namespace certplan::ops {

// One page of an account's trail: records with since <= time < until, in (time, id) order,
// strictly after the cursor (the last record of the previous page; 0/0 for the first page).
struct AuditQuery {
  int64_t account_id = 0;
  int64_t since = 0;
  int64_t until = INT64_MAX;
  int64_t after_time = 0;
  int64_t after_id = 0;
  int64_t limit = 500;
};

// The audit trail as the operator surface needs it from storage (a port: store/ implements it,
// cli/ wires it). Records of changes are written by the domain's ports in the transaction of
// the change (cas::OrderStore, cas::PlanStore, cas::CertificateStore, iam::IdentityStore);
// this port adds the records that stand alone (refusals, which change nothing), reads and
// prunes. Each method is one transaction; implementations are thread-safe and return kInternal
// or kServiceUnavailable on storage failures. A write returns only once its commit is durable.
class AuditLog {
 public:
  virtual ~AuditLog() = default;

  // Appends one record on its own (its id assigned). On SQLite it rides the group commit: a
  // refusal costs a row in the next shared commit, never an fsync of its own.
  virtual Status AppendAudit(const audit::Record& record) = 0;
  // One page of `query`, read through the (account_id, time, id) index.
  virtual Result<std::vector<audit::Record>> ReadAudit(const AuditQuery& query) = 0;
  // Deletes at most `max_rows` records older than `before` (oldest first); how many it deleted.
  // Bounded, so pruning never holds the writer for long: callers loop while it returns max_rows.
  virtual Result<int64_t> PruneAudit(int64_t before, int64_t max_rows) = 0;
  // Orders (deleted ones included) with no successful creating record (Create*, Renew*,
  // by any principal), at most `limit`, for `certplan fsck`. Orders older than the oldest
  // record kept (pruned away) are not reported.
  virtual Result<std::vector<int64_t>> OrdersWithoutCreationRecord(int64_t limit) = 0;
};

}  // namespace certplan::ops
