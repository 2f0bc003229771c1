#include "auth/replay_guard.h"

#include <gtest/gtest.h>

namespace certplan::auth {
namespace {

TEST(MemoryReplayGuard, SecondUseInsideTheWindowIsRefused) {
  MemoryReplayGuard guard(1000);
  EXPECT_TRUE(guard.Remember("AK", "n1", 2000, 1000));
  Status again = guard.Remember("AK", "n1", 2000, 1500);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kSignatureNonceUsed);
}

TEST(MemoryReplayGuard, ScopedPerAccessKeyAndCaseSensitive) {
  MemoryReplayGuard guard(1000);
  EXPECT_TRUE(guard.Remember("AK1", "n1", 2000, 1000));
  EXPECT_TRUE(guard.Remember("AK2", "n1", 2000, 1000));
  EXPECT_TRUE(guard.Remember("AK1", "N1", 2000, 1000));
  // The separator keeps ("AK1","n") and ("AK","1n") apart.
  EXPECT_TRUE(guard.Remember("AK", "1n1", 2000, 1000));
}

TEST(MemoryReplayGuard, ForgetsAfterExpiry) {
  MemoryReplayGuard guard(1000);
  EXPECT_TRUE(guard.Remember("AK", "n1", 2000, 1000));
  EXPECT_TRUE(guard.Remember("AK", "n1", 4000, 2001));
}

TEST(MemoryReplayGuard, FullGuardThrottlesInsteadOfGrowing) {
  MemoryReplayGuard guard(16);  // 16 shards: about one entry each before refusing
  int refused = 0;
  for (int i = 0; i < 200; ++i) {
    Status s = guard.Remember("AK", "n" + std::to_string(i), 5000, 1000);
    if (!s) {
      EXPECT_EQ(s.error().code, ErrorCode::kThrottling);
      ++refused;
    }
  }
  EXPECT_GT(refused, 150);
  // Once entries expire there is room again.
  EXPECT_TRUE(guard.Remember("AK", "fresh", 9000, 5001));
}

}  // namespace
}  // namespace certplan::auth
