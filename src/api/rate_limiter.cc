#include "api/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace certplan::api {
namespace {

constexpr double kNanosPerSecond = 1e9;

struct PresetRow {
  std::string_view action;
  double qps;
};

// spec/cas-api.md §3.1 and spec/cas-repository.md §7.2, column QPS/account.
constexpr PresetRow kCasPreset[] = {
    {"DescribePackageState", 10},                // not stated; R 10
    {"CreateCertificateForPackageRequest", 10},  //
    {"CreateCertificateRequest", 10},
    {"CreateCertificateWithCsrRequest", 10},
    {"DescribeCertificateState", 10},
    {"CancelOrderRequest", 100},
    {"CancelCertificateForPackageRequest", 10},
    {"DeleteCertificateRequest", 10},
    {"ListUserCertificateOrder", 10},
    {"RenewCertificateOrderForPackageRequest", 10},  // not stated; R 10
    {"UploadUserCertificate", 100},
    {"GetUserCertificateDetail", 100},
    {"DeleteUserCertificate", 100},
    {"ListCertificates", 10},  // not stated; R 10
};

}  // namespace

std::optional<RateLimit> CasPresetLimit(std::string_view action) {
  for (const PresetRow& row : kCasPreset) {
    if (row.action == action) return RateLimit{row.qps, row.qps};
  }
  return std::nullopt;
}

RateLimiter::RateLimiter(std::vector<std::optional<RateLimit>> limits, size_t max_buckets,
                         const TickClock& clock)
    : limits_(std::move(limits)),
      max_buckets_(std::max<size_t>(max_buckets, kShards)),
      shard_capacity_(max_buckets_ / kShards),
      clock_(clock) {
  for (auto& limit : limits_) {
    if (limit && (limit->qps <= 0 || !std::isfinite(limit->qps))) limit.reset();
    if (limit) limit->burst = std::max(limit->burst, 1.0);
  }
}

double RateLimiter::Refilled(const Bucket& b, const RateLimit& limit, int64_t now) const {
  const double elapsed = static_cast<double>(std::max<int64_t>(0, now - b.updated));
  return std::min(limit.burst, b.tokens + elapsed * limit.qps / kNanosPerSecond);
}

void RateLimiter::MakeRoom(Shard& shard, int64_t now) {
  // A bucket back at its burst is the same as no bucket: dropping those loses nothing.
  std::erase_if(shard.buckets, [&](const auto& entry) {
    const RateLimit& limit = *limits_[entry.first.action];
    return Refilled(entry.second, limit, now) >= limit.burst;
  });
  if (shard.buckets.size() < shard_capacity_) return;
  // Every bucket is refilling (more active keys than the bound): drop the one closest to full.
  auto fullest = shard.buckets.begin();
  double best = -1;
  for (auto it = shard.buckets.begin(); it != shard.buckets.end(); ++it) {
    const RateLimit& limit = *limits_[it->first.action];
    const double fill = Refilled(it->second, limit, now) / limit.burst;
    if (fill > best) best = fill, fullest = it;
  }
  shard.buckets.erase(fullest);
}

Status RateLimiter::Admit(int64_t account_id, size_t action_index) {
  if (action_index >= limits_.size() || !limits_[action_index]) return Ok{};
  const RateLimit& limit = *limits_[action_index];
  const Key key{account_id, action_index};
  Shard& shard = shards_[KeyHash()(key) % kShards];
  const int64_t now = clock_.NowNanos();
  std::scoped_lock lock(shard.mu);
  auto it = shard.buckets.find(key);
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= shard_capacity_) MakeRoom(shard, now);
    it = shard.buckets.emplace(key, Bucket{limit.burst, now}).first;
  }
  Bucket& b = it->second;
  b.tokens = Refilled(b, limit, now);
  b.updated = now;
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return Ok{};
  }
  Error e(ErrorCode::kThrottling, "Request was denied due to user flow control.",
          "rate limit of " + std::to_string(limit.qps) + " requests a second");
  // At least 1 ms; the epsilon keeps float noise from rounding a whole millisecond up.
  e.retry_after_ms = std::max<int64_t>(
      1, static_cast<int64_t>(std::ceil((1 - b.tokens) * 1000 / limit.qps - 1e-6)));
  return e;
}

size_t RateLimiter::BucketCount() const {
  size_t n = 0;
  for (const Shard& shard : shards_) {
    std::scoped_lock lock(shard.mu);
    n += shard.buckets.size();
  }
  return n;
}

}  // namespace certplan::api
