// The combining logic of NonceBatcher, with a fake batch runner: every claim gets its own
// outcome, concurrent claims share batches, and a runner that answers short fails cleanly.
#include "store/postgres/nonce_batcher.h"

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace certplan::store::postgres {
namespace {

TEST(NonceBatcher, EachClaimGetsItsOwnOutcomeAndConcurrentClaimsShareBatches) {
  std::atomic<int> batches{0}, claims_seen{0};
  const Error used(ErrorCode::kSignatureNonceUsed, "used");
  NonceBatcher batcher([&](const std::vector<const NonceClaim*>& claims) {
    ++batches;
    claims_seen += static_cast<int>(claims.size());
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a round trip
    // Odd nonces are replays.
    std::vector<Status> out(claims.size(), Status(Ok{}));
    for (size_t i = 0; i < claims.size(); ++i) {
      if (std::stoi(std::string(claims[i]->nonce)) % 2 == 1) out[i] = used;
    }
    return out;
  });
  constexpr int kThreads = 32, kEach = 20;
  std::atomic<int> wrong{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < kThreads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::string nonce = std::to_string(t * kEach + i);
        Status s = batcher.Claim(NonceClaim{"key", nonce, 10, 1});
        if (static_cast<bool>(s) != ((t * kEach + i) % 2 == 0)) ++wrong;
      }
    });
  }
  for (std::thread& th : pool) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(claims_seen.load(), kThreads * kEach);
  EXPECT_LT(batches.load(), kThreads * kEach / 4);  // combined, not one statement per claim
}

TEST(NonceBatcher, AloneAClaimIsAnsweredAtOnce) {
  int batches = 0;
  NonceBatcher batcher([&](const std::vector<const NonceClaim*>& claims) {
    ++batches;
    return std::vector<Status>(claims.size(), Status(Ok{}));
  });
  EXPECT_TRUE(batcher.Claim(NonceClaim{"key", "1", 10, 1}));
  EXPECT_TRUE(batcher.Claim(NonceClaim{"key", "2", 10, 1}));
  EXPECT_EQ(batches, 2);
}

TEST(NonceBatcher, FailuresAndShortAnswersReachEveryClaim) {
  const Error unavailable(ErrorCode::kServiceUnavailable, "down");
  NonceBatcher down([&](const std::vector<const NonceClaim*>& claims) {
    std::vector<Status> out;
    for (size_t i = 0; i < claims.size(); ++i) out.emplace_back(unavailable);
    return out;
  });
  Status s = down.Claim(NonceClaim{"key", "1", 10, 1});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kServiceUnavailable);
  NonceBatcher short_answer(
      [](const std::vector<const NonceClaim*>&) { return std::vector<Status>{}; });
  Status t = short_answer.Claim(NonceClaim{"key", "1", 10, 1});
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kInternal);
}

}  // namespace
}  // namespace certplan::store::postgres
