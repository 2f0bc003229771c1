#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <queue>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"

namespace certplan::auth {

// Remembers (AccessKeyId, nonce) pairs until the signed time + the timestamp window has
// passed, so a captured request cannot be replayed while its timestamp is still accepted
// (spec §2.3). Implementations are thread-safe.
class ReplayGuard {
 public:
  virtual ~ReplayGuard() = default;
  // Records the pair. kSignatureNonceUsed when it was seen and has not yet expired;
  // kThrottling when the guard is full (memory stays bounded under any load).
  virtual Status Remember(std::string_view access_key_id, std::string_view nonce,
                          int64_t expires_at, int64_t now) = 0;
};

// In-process guard for a single node (the SQLite default). Stores a 128-bit digest of each
// pair, about 80 bytes an entry, in 16 independently locked shards.
class MemoryReplayGuard final : public ReplayGuard {
 public:
  explicit MemoryReplayGuard(size_t max_entries);
  Status Remember(std::string_view access_key_id, std::string_view nonce, int64_t expires_at,
                  int64_t now) override;

 private:
  struct Key {
    uint64_t hi, lo;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return k.lo; }
  };
  struct Expiry {
    int64_t at;
    Key key;
    bool operator>(const Expiry& o) const { return at > o.at; }
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<Key, int64_t, KeyHash> seen;                             // guarded by mu
    std::priority_queue<Expiry, std::vector<Expiry>, std::greater<>> expiries;  // guarded by mu
  };
  static constexpr size_t kShards = 16;

  size_t max_per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace certplan::auth
