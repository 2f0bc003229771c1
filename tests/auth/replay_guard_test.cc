#include "auth/replay_guard.h"

#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace certplan::auth {
namespace {

// PREFIX followed by i. Appended, not `Nonce("n", i)`: GCC 12 at -O3 warns about that
// falsely (-Wrestrict, GCC bug 105651).
std::string Nonce(std::string_view prefix, int64_t i) {
  std::string out(prefix);
  out += std::to_string(i);
  return out;
}

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
  MemoryReplayGuard guard(16);  // a share of 16 over 30 slices: one entry a slice
  int refused = 0;
  for (int i = 0; i < 200; ++i) {
    Status s = guard.Remember("AK", Nonce("n", i), 5000, 1000);
    if (!s) {
      EXPECT_EQ(s.error().code, ErrorCode::kThrottling);
      ++refused;
    }
  }
  EXPECT_GT(refused, 150);
  // Once entries expire there is room again.
  EXPECT_TRUE(guard.Remember("AK", "fresh", 9000, 5001));
}

// Issue #12, fault 4: with replay_max_entries = 1000, 1,800 signed requests from a RAM user
// with no permissions (its nonces are recorded before the RAM decision, spec §2.3) made
// another account's next 50 requests fail Throttling.User. Each key now fills its own share.
TEST(MemoryReplayGuard, OneKeyFillsOnlyItsOwnShare) {
  MemoryReplayGuard guard(1000);
  const int64_t now = 1'800'000'000;
  int throttled = 0;
  for (int i = 0; i < 1800; ++i) {
    Status s = guard.RememberFor("AKnoperm", 1, Nonce("n", i), now + 900, now);
    if (!s) {
      ASSERT_EQ(s.error().code, ErrorCode::kThrottling);
      ++throttled;
    }
  }
  EXPECT_EQ(throttled, 800);
  for (int i = 0; i < 50; ++i) {
    EXPECT_TRUE(guard.RememberFor("AKother", 2, Nonce("n", i), now + 900, now));
  }
  // Another key of the same account has its own share too (scope: AccessKey).
  EXPECT_TRUE(guard.RememberFor("AKsibling", 1, "n0", now + 900, now));
}

TEST(MemoryReplayGuard, AccountScopeSharesBetweenTheAccountsKeysOnly) {
  MemoryReplayGuard guard(ReplayOptions{ReplayOptions::Scope::kAccount, 900, 30, 4096});
  const int64_t now = 1'800'000'000;
  for (int i = 0; i < 30; ++i) {
    EXPECT_TRUE(guard.RememberFor("AK1", 1, Nonce("n", i), now + 900, now));
  }
  Status full = guard.RememberFor("AK2", 1, "x", now + 900, now);
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, ErrorCode::kThrottling);
  EXPECT_TRUE(guard.RememberFor("AK3", 2, "x", now + 900, now));
  // The nonce identity stays (AccessKeyId, nonce) inside an account's share.
  Status replay = guard.RememberFor("AK1", 1, "n3", now + 900, now);
  ASSERT_FALSE(replay);
  EXPECT_EQ(replay.error().code, ErrorCode::kSignatureNonceUsed);
}

TEST(MemoryReplayGuard, WhatAShareFilledAgesOut) {
  MemoryReplayGuard guard(100);
  const int64_t now = 1'800'000'000;
  int accepted = 0;
  for (int i = 0; i < 150; ++i) {
    accepted += static_cast<bool>(guard.RememberFor("AK", 1, Nonce("a", i), now + 900, now));
  }
  EXPECT_EQ(accepted, 100);
  EXPECT_FALSE(guard.RememberFor("AK", 1, "b", now + 960, now + 60));  // still full
  // Once those nonces have expired the share takes new ones again …
  EXPECT_TRUE(guard.RememberFor("AK", 1, "b", now + 1801, now + 901));
  // … and once every expiry has passed, everything is forgotten.
  EXPECT_TRUE(guard.RememberFor("AK", 1, "a0", now + 3000, now + 2000));
  EXPECT_EQ(guard.ShareCount(), 1u);
}

// Past the exact tier a slice is a chain of Bloom filters: no replay is ever missed, and fresh
// nonces against a full share are refused as used no more often than the stated rate.
TEST(MemoryReplayGuard, BloomTierMissesNoReplayAndKeepsItsFalsePositiveRate) {
  const int64_t share = 20'000;  // 30 filters of 667 entries in one slice
  MemoryReplayGuard guard(ReplayOptions{ReplayOptions::Scope::kAccessKey, 900, share, 64});
  const int64_t now = 1'800'000'000;
  for (int64_t i = 0; i < share; ++i) {
    ASSERT_TRUE(guard.Remember("AK", Nonce("n", i), now + 900, now)) << i;
  }
  EXPECT_EQ(guard.ApproximateBytes(), 30u * ((667 * 36 + 63) / 64) * 8);
  for (int64_t i = 0; i < share; ++i) {
    Status again = guard.Remember("AK", Nonce("n", i), now + 900, now);
    ASSERT_FALSE(again);
    ASSERT_EQ(again.error().code, ErrorCode::kSignatureNonceUsed);
  }
  // 100,000 fresh nonces against the full share: ≤ 30 × 3.1e-8 each, so 0.09 expected.
  int false_positives = 0;
  for (int i = 0; i < 100'000; ++i) {
    Status s = guard.Remember("AK", Nonce("fresh", i), now + 900, now);
    ASSERT_FALSE(s);  // full: throttled, unless wrongly "seen"
    false_positives += s.error().code == ErrorCode::kSignatureNonceUsed;
  }
  EXPECT_LE(false_positives, 1);
}

// The design load: 40,000 requests a second for 1,800 s is 72 M nonces a share; one filter
// holds 72 M / 30 = 2.4 M in 10.8 MB (36 bits an entry).
TEST(MemoryReplayGuard, DesignLoadSliceSize) {
  MemoryReplayGuard guard(ReplayOptions{});
  const int64_t now = 1'800'000'000;
  for (int i = 0; i <= 4096; ++i) {
    ASSERT_TRUE(guard.Remember("AK", Nonce("n", i), now + 900, now));
  }
  EXPECT_EQ(guard.ApproximateBytes(), 2'400'000u * 36 / 8);
}

}  // namespace
}  // namespace certplan::auth
