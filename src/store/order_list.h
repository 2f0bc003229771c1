// What both stores share of how a list page is found (issue #12 fault 9): which end of the list
// a page is walked from, and the time buckets whose counts let a deep page start near its first
// entry instead of stepping over every entry before it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>

namespace certplan::store {

// Orders are counted per (account, status) in buckets of created_at at two widths (triggers of
// migration 5, table order_buckets): level 0 spans 2^12 s (68 min), level 1 2^20 s (12 days),
// 256 level-0 buckets to a level-1 bucket.
inline constexpr int kFineShift = 12;
inline constexpr int kCoarseShift = 20;
inline constexpr int64_t kFinePerCoarse = int64_t{1} << (kCoarseShift - kFineShift);
// Pages with fewer entries than this before them (from their end) skip in the index directly.
inline constexpr int64_t kSeekFrom = 2000;

// Which end a page is read from, and how many entries are skipped from there: the nearer end,
// so the last page costs what the first does.
struct PageWalk {
  bool newest_first = true;
  int64_t skip = 0;
  int64_t take = 0;
};

// `offset` < `total`, `limit` ≥ 1.
inline PageWalk WalkFor(int64_t total, int64_t offset, int64_t limit) {
  const int64_t left = total - offset;         // ≥ 1: entries from the page's first on
  const int64_t take = std::min(limit, left);  // the page's size
  const int64_t from_oldest = left - take;     // entries after the page
  if (offset <= from_oldest) return {true, offset, take};
  return {false, from_oldest, take};
}

// Where the page starts: entries with created_at below `bound` (walking newest first) or from
// `bound` on (oldest first), of which `skip` are passed over; no bound: `skip` from the end.
struct Seek {
  std::optional<int64_t> bound;
  int64_t skip = 0;
};

// Accumulates bucket counts in walk order until the bucket holding entry `skip` (0-based from the
// walked end): that bucket and how many entries lie before it. `next(bucket, n)` yields rows
// until it returns false.
template <typename Next>
std::optional<std::pair<int64_t, int64_t>> FindBucket(int64_t skip, int64_t before, Next next) {
  int64_t bucket = 0, n = 0;
  while (next(bucket, n)) {
    if (before + n > skip) return std::make_pair(bucket, before);
    before += n;
  }
  return std::nullopt;  // the counts fell short (cannot happen while the triggers keep them)
}

// certplan fsck: the list counters (order_counts, order_buckets) next to a recount of the
// orders, in one statement (one snapshot), the rows that differ — (account_id, status, level,
// bucket, stored, actual), level -1 for the per-status count; a missing counter row counts as 0.
// The same SQL on SQLite and PostgreSQL.
inline constexpr const char* kAuditListCountsSql =
    "SELECT account_id, status, level, bucket, SUM(stored), SUM(actual) FROM ("
    "SELECT account_id, status, -1 AS level, 0 AS bucket, n AS stored, 0 AS actual "
    "FROM order_counts "
    "UNION ALL SELECT account_id, status, -1, 0, 0, COUNT(*) FROM orders "
    "GROUP BY account_id, status "
    "UNION ALL SELECT account_id, status, level, bucket, n, 0 FROM order_buckets "
    "UNION ALL SELECT account_id, status, 0, created_at >> 12, 0, COUNT(*) FROM orders "
    "GROUP BY account_id, status, created_at >> 12 "
    "UNION ALL SELECT account_id, status, 1, created_at >> 20, 0, COUNT(*) FROM orders "
    "GROUP BY account_id, status, created_at >> 20) counted "
    "GROUP BY account_id, status, level, bucket HAVING SUM(stored) <> SUM(actual) "
    "ORDER BY account_id, status, level, bucket";

}  // namespace certplan::store
