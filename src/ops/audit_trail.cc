#include "ops/audit_trail.h"

#include <charconv>

#include "core/batches.h"
#include "core/time_format.h"

namespace certplan::ops {
namespace {

// Object ids come from callers' parameters on refusals: a bounded row whatever they sent.
constexpr size_t kMaxObjectId = 128;

}  // namespace

Status AuditTrail::RecordRefusal(const audit::Actor& by, int64_t account_id,
                                 std::string_view object_type, std::string_view object_id,
                                 std::string_view code) {
  audit::Record r;
  r.time = clock_.NowSeconds();
  r.account_id = account_id;
  r.actor = by;
  r.object_type = std::string(object_type);
  r.object_id = std::string(object_id.substr(0, kMaxObjectId));
  r.result = std::string(code);
  return log_.AppendAudit(r);
}

Result<AuditPage> AuditTrail::Read(int64_t account_id, int64_t since, int64_t until,
                                   std::optional<AuditCursor> cursor, int64_t limit) {
  if (limit < 1 || limit > kMaxPage) {
    return InvalidParameter("limit", "it must be between 1 and " + std::to_string(kMaxPage) + ".");
  }
  if (until <= since) return InvalidParameter("until", "it must be later than since.");
  AuditQuery q;
  q.account_id = account_id;
  q.since = since;
  q.until = until;
  if (cursor) {
    q.after_time = cursor->time;
    q.after_id = cursor->id;
  } else {
    q.after_time = since;  // (since, 0): before every record of the range
  }
  q.limit = limit;
  Result<std::vector<audit::Record>> rows = log_.ReadAudit(q);
  if (!rows) return rows.error();
  AuditPage page;
  page.records = std::move(*rows);
  if (static_cast<int64_t>(page.records.size()) == limit) {
    page.next = AuditCursor{page.records.back().time, page.records.back().id};
  }
  return page;
}

Result<int64_t> AuditTrail::Prune(int64_t retention_days, int64_t batch) {
  if (retention_days < 1) return InvalidParameter("audit.retention_days", "at least 1.");
  const int64_t before = clock_.NowSeconds() - retention_days * 86400;
  return DeleteInBatches(batch, [&] { return log_.PruneAudit(before, batch); });
}

std::vector<std::string_view> AuditFieldNames() {
  return {"Id",          "Time",     "RequestId", "AccountId",  "PrincipalType", "Principal",
          "AccessKeyId", "SourceIp", "Action",    "ObjectType", "ObjectId",      "Result"};
}

std::vector<std::string> AuditFieldValues(const audit::Record& r) {
  return {std::to_string(r.id),
          FormatIso8601Utc(r.time),
          r.actor.request_id,
          std::to_string(r.account_id),
          std::string(audit::PrincipalTypeName(r.actor.type)),
          r.actor.principal,
          r.actor.access_key_id,
          r.actor.source_ip,
          r.actor.action,
          r.object_type,
          r.object_id,
          r.result};
}

std::optional<int64_t> ParseAuditTime(std::string_view text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos) {
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc() && ptr == text.data() + text.size()) return v;
    return std::nullopt;
  }
  return ParseRfc3339(text);
}

}  // namespace certplan::ops
