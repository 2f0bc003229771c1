#include "cas/counter_cache.h"

#include <algorithm>
#include <charconv>

namespace certplan::cas {
namespace {

// The entry's key: the account id, '\0', the ProductCode, written into `buffer` (a ProductCode
// too long for it goes to `spilled`), so the read path allocates nothing for it.
std::string_view KeyOf(int64_t account_id, std::string_view product_code,
                       std::array<char, 64>& buffer, std::string& spilled) {
  char* const begin = buffer.data();
  char* end = std::to_chars(begin, begin + 24, account_id).ptr;
  *end++ = '\0';
  if (product_code.size() <= static_cast<size_t>(buffer.data() + buffer.size() - end)) {
    end = std::copy(product_code.begin(), product_code.end(), end);
    return std::string_view(begin, static_cast<size_t>(end - begin));
  }
  spilled.assign(begin, end);
  spilled += product_code;
  return spilled;
}

}  // namespace

CounterCache::CounterCache(Options options) : options_(options) {}

std::atomic<uint64_t>& CounterCache::VersionOf(int64_t account_id) {
  return versions_[static_cast<uint64_t>(account_id) % kVersionSlots];
}

Result<PackageCounters> CounterCache::Get(int64_t account_id, std::string_view product_code,
                                          int64_t now_seconds,
                                          const std::function<Result<PackageCounters>()>& read) {
  if (!enabled()) return read();
  std::array<char, 64> buffer;
  std::string spilled;
  const std::string_view key = KeyOf(account_id, product_code, buffer, spilled);
  Shard& shard = shards_[KeyHash{}(key) % kShards];
  std::atomic<uint64_t>& version = VersionOf(account_id);
  {
    std::lock_guard lock(shard.mu);
    auto it = shard.entries.find(key);
    if (it != shard.entries.end()) {
      const Entry& e = it->second;
      if (e.version == version.load(std::memory_order_acquire) && e.now_seconds == now_seconds &&
          std::chrono::steady_clock::now() - e.read_at < options_.ttl) {
        return e.counters;
      }
    }
  }
  // Read outside the lock; remember the result only if no change was committed meanwhile.
  const uint64_t before = version.load(std::memory_order_acquire);
  const auto read_at = std::chrono::steady_clock::now();
  Result<PackageCounters> counters = read();
  if (!counters) return counters;
  std::lock_guard lock(shard.mu);
  if (version.load(std::memory_order_acquire) != before) return counters;
  if (shard.entries.size() >= options_.max_entries / kShards) shard.entries.clear();
  shard.entries.insert_or_assign(std::string(key), Entry{*counters, now_seconds, read_at, before});
  return counters;
}

void CounterCache::Invalidate(int64_t account_id) {
  VersionOf(account_id).fetch_add(1, std::memory_order_acq_rel);
}

}  // namespace certplan::cas
