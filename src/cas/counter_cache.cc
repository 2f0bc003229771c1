#include "cas/counter_cache.h"

namespace certplan::cas {
namespace {

std::string KeyOf(int64_t account_id, std::string_view product_code) {
  std::string key = std::to_string(account_id);
  key += '\0';
  key += product_code;
  return key;
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
  const std::string key = KeyOf(account_id, product_code);
  Shard& shard = shards_[std::hash<std::string>{}(key) % kShards];
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
  shard.entries[key] = Entry{*counters, now_seconds, read_at, before};
  return counters;
}

void CounterCache::Invalidate(int64_t account_id) {
  VersionOf(account_id).fetch_add(1, std::memory_order_acq_rel);
}

}  // namespace certplan::cas
