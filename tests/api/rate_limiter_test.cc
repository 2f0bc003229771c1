#include "api/rate_limiter.h"

#include <gtest/gtest.h>

#include "api/action_table.h"

namespace certplan::api {
namespace {

class FakeTicks final : public TickClock {
 public:
  int64_t NowNanos() const override { return now_; }
  void AdvanceMillis(int64_t ms) { now_ += ms * 1'000'000; }

 private:
  int64_t now_ = 1'000'000'000;
};

constexpr size_t kAction = 0;

TEST(RateLimiter, BurstThenThrottlingWithRetryAfter) {
  FakeTicks ticks;
  RateLimiter limiter({RateLimit{2, 3}}, 1000, ticks);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(limiter.Admit(7, kAction)) << i;
  Status refused = limiter.Admit(7, kAction);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kThrottling);
  EXPECT_EQ(refused.error().message, "Request was denied due to user flow control.");
  ASSERT_TRUE(refused.error().retry_after_ms);
  EXPECT_EQ(*refused.error().retry_after_ms, 500);  // one token at 2 a second
}

TEST(RateLimiter, RefillsAtTheRateUpToTheBurst) {
  FakeTicks ticks;
  RateLimiter limiter({RateLimit{2, 3}}, 1000, ticks);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(limiter.Admit(7, kAction));
  ASSERT_FALSE(limiter.Admit(7, kAction));
  ticks.AdvanceMillis(499);
  Status early = limiter.Admit(7, kAction);
  ASSERT_FALSE(early);
  EXPECT_EQ(*early.error().retry_after_ms, 1);
  ticks.AdvanceMillis(1);
  EXPECT_TRUE(limiter.Admit(7, kAction));
  EXPECT_FALSE(limiter.Admit(7, kAction));
  ticks.AdvanceMillis(60'000);  // a long pause refills the burst, no more
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Admit(7, kAction)) << i;
  EXPECT_FALSE(limiter.Admit(7, kAction));
}

TEST(RateLimiter, BucketsArePerAccountAndPerAction) {
  FakeTicks ticks;
  RateLimiter limiter({RateLimit{1, 1}, RateLimit{1, 1}}, 1000, ticks);
  ASSERT_TRUE(limiter.Admit(1, 0));
  EXPECT_FALSE(limiter.Admit(1, 0));
  EXPECT_TRUE(limiter.Admit(1, 1));  // another Action of the same account
  EXPECT_TRUE(limiter.Admit(2, 0));  // another account, same Action
}

TEST(RateLimiter, UnlimitedActionsTakeNoBucket) {
  FakeTicks ticks;
  RateLimiter limiter({std::nullopt, RateLimit{0, 5}}, 1000, ticks);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(limiter.Admit(1, 0));
    ASSERT_TRUE(limiter.Admit(1, 1));  // qps 0: lifted
    ASSERT_TRUE(limiter.Admit(1, 9));  // beyond the table
  }
  EXPECT_EQ(limiter.BucketCount(), 0u);
}

TEST(RateLimiter, MemoryStaysWithinTheBoundDroppingRefilledBucketsFirst) {
  FakeTicks ticks;
  RateLimiter limiter({RateLimit{1, 1}}, 160, ticks);  // 10 per shard
  for (int64_t account = 0; account < 10'000; ++account) {
    ASSERT_TRUE(limiter.Admit(account, kAction));
    ASSERT_LE(limiter.BucketCount(), 160u);
  }
  EXPECT_GT(limiter.BucketCount(), 0u);
  // A throttled key keeps its empty bucket while refilled ones make room.
  ticks.AdvanceMillis(2000);  // every bucket is full again
  ASSERT_TRUE(limiter.Admit(-1, kAction));
  ASSERT_FALSE(limiter.Admit(-1, kAction));
  for (int64_t account = 20'000; account < 20'100; ++account) {
    ASSERT_TRUE(limiter.Admit(account, kAction));
    ASSERT_LE(limiter.BucketCount(), 160u);
  }
  // The throttled key was still refilling; what made room were full buckets.
  EXPECT_FALSE(limiter.Admit(-1, kAction));
}

TEST(RateLimiter, CasPresetFollowsTheSpecTable) {
  for (const Action& a : Actions()) {
    std::optional<RateLimit> limit = CasPresetLimit(a.name);
    ASSERT_TRUE(limit) << a.name << " has no preset row";
    EXPECT_EQ(limit->burst, limit->qps);
  }
  EXPECT_EQ(CasPresetLimit("DescribePackageState")->qps, 10);
  EXPECT_EQ(CasPresetLimit("CancelOrderRequest")->qps, 100);
  EXPECT_EQ(CasPresetLimit("UploadUserCertificate")->qps, 100);
  EXPECT_EQ(CasPresetLimit("GetUserCertificateDetail")->qps, 100);
  EXPECT_EQ(CasPresetLimit("DeleteUserCertificate")->qps, 100);
  EXPECT_EQ(CasPresetLimit("ListUserCertificateOrder")->qps, 10);
  EXPECT_FALSE(CasPresetLimit("NoSuchAction"));
}

}  // namespace
}  // namespace certplan::api
