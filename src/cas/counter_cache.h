#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cas/plan.h"
#include "core/result.h"

namespace certplan::cas {

// DescribePackageState's counters (TotalCount / UsedCount / IssuedCount per account and
// ProductCode, spec §3.3) kept in memory, so the read path does not open a store transaction
// per request. Thread-safe.
//
// Freshness, the rule the callers rely on:
// - A change made through this process (cas::Orders: Create*, cancel, delete, renew, the
//   worker's transitions; cas::Plans::Grant) calls Invalidate(account) after its commit and
//   before it answers, so no later read on this node sees the counters from before it — also
//   when a read that started earlier finishes later (an entry fetched under an older version
//   of its account is never stored).
// - A change made by another process or node (the admin CLI on the same SQLite file, another
//   certplan on the same PostgreSQL) is seen within `ttl` and never later than the domain
//   clock's next second: an entry serves only reads in the second (of the domain clock) it was
//   read in, which also keeps a plan's expiry exact to the second.
// `ttl` 0 turns the cache off (every read goes to the store). Memory: at most `max_entries`
// entries (~100 bytes each); when full, an insert clears the shard it falls in.
class CounterCache {
 public:
  struct Options {
    std::chrono::milliseconds ttl{1000};
    size_t max_entries = 100'000;
  };
  CounterCache() : CounterCache(Options{}) {}
  explicit CounterCache(Options options);

  // The counters of (account_id, product_code) at domain time `now_seconds`: from memory when
  // fresh (see above), else from `read` (which must read them from the store at that time),
  // remembered when no Invalidate(account_id) ran meanwhile. Errors of `read` come back as
  // they are and are never remembered.
  Result<PackageCounters> Get(int64_t account_id, std::string_view product_code,
                              int64_t now_seconds,
                              const std::function<Result<PackageCounters>()>& read);

  // Forgets the counters of every ProductCode of `account_id`. Call after the commit of a
  // change to them and before answering it.
  void Invalidate(int64_t account_id);

  bool enabled() const { return options_.ttl.count() > 0; }

 private:
  static constexpr size_t kShards = 16;
  static constexpr size_t kVersionSlots = 4096;  // accounts share slots: a spurious miss at most
  struct Entry {
    PackageCounters counters;
    int64_t now_seconds = 0;
    std::chrono::steady_clock::time_point read_at;
    uint64_t version = 0;
  };
  // Finds an entry by a string_view of its key without building a std::string.
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view key) const { return std::hash<std::string_view>()(key); }
  };
  struct Shard {
    std::mutex mu;
    // key: account id, '\0', ProductCode
    std::unordered_map<std::string, Entry, KeyHash, std::equal_to<>> entries;
  };
  std::atomic<uint64_t>& VersionOf(int64_t account_id);

  Options options_;
  std::array<Shard, kShards> shards_;
  std::array<std::atomic<uint64_t>, kVersionSlots> versions_{};
};

}  // namespace certplan::cas
