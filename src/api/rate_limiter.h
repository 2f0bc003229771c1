#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"

namespace certplan::api {

// A monotonic time source in nanoseconds (tests pass a fake one).
class TickClock {
 public:
  virtual ~TickClock() = default;
  virtual int64_t NowNanos() const = 0;
};

class SteadyTickClock final : public TickClock {
 public:
  int64_t NowNanos() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

// One Action's limit: `qps` tokens a second refill a bucket of `burst` tokens; a request
// takes one.
struct RateLimit {
  double qps = 0;
  double burst = 0;
};

// The QPS/account column of spec/cas-api.md §3.1 and spec/cas-repository.md §7.2 (where the
// spec says "not stated", its R value 10): the "cas" preset. Burst = one second's worth.
std::optional<RateLimit> CasPresetLimit(std::string_view action);

// Per account, per Action token buckets in this node's memory (spec §2.3: checked after the
// nonce, before RAM). Memory is bounded: at most `max_buckets` buckets (about 100 bytes each
// with the map's overhead). A bucket that has refilled completely is equal to no bucket, so it
// is dropped when room is needed; only when every bucket is still refilling does the fullest
// one go (that key may then get at most one extra burst). Thread-safe: buckets are spread over
// kShards shards, each with its own mutex held for a few dozen nanoseconds.
class RateLimiter {
 public:
  // `limits` is indexed like api::Actions(); nullopt or qps <= 0: that Action is not limited.
  RateLimiter(std::vector<std::optional<RateLimit>> limits, size_t max_buckets,
              const TickClock& clock);

  // Takes a token from the (account, Action) bucket. kThrottling with the spec's message and
  // retry_after_ms (time until a token is back) when the bucket is empty.
  Status Admit(int64_t account_id, size_t action_index);

  size_t BucketCount() const;
  size_t max_buckets() const { return max_buckets_; }

  static constexpr size_t kShards = 16;

 private:
  struct Key {
    int64_t account_id;
    size_t action;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      return std::hash<int64_t>()(k.account_id) * 31 + k.action;
    }
  };
  struct Bucket {
    double tokens = 0;
    int64_t updated = 0;  // NowNanos() of the last refill
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<Key, Bucket, KeyHash> buckets;  // guarded by mu
  };

  // Tokens of `b` at `now`, refilled but capped at the burst.
  double Refilled(const Bucket& b, const RateLimit& limit, int64_t now) const;
  void MakeRoom(Shard& shard, int64_t now);

  std::vector<std::optional<RateLimit>> limits_;
  size_t max_buckets_;
  size_t shard_capacity_;
  const TickClock& clock_;
  std::array<Shard, kShards> shards_;
};

}  // namespace certplan::api
