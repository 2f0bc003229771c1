// The combining logic behind PostgreSQL's batched order writes, with a fake batch runner: every
// item gets its own outcome, concurrent items share batches, one batch runs at a time, and a
// runner that answers short fails cleanly.
#include "store/postgres/combiner.h"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/result.h"

namespace certplan::store::postgres {
namespace {

using IntCombiner = Combiner<int, Status, 16>;

Status Short() { return InternalError("short"); }

TEST(Combiner, EachItemGetsItsOwnOutcomeAndConcurrentItemsShareBatches) {
  std::atomic<int> batches{0}, items_seen{0}, running{0}, overlapped{0};
  std::atomic<size_t> largest{0};
  const Error odd(ErrorCode::kNotRemainCount, "odd");
  IntCombiner combiner(
      [&](const std::vector<const int*>& items) {
        if (running.fetch_add(1) != 0) ++overlapped;
        ++batches;
        items_seen += static_cast<int>(items.size());
        if (items.size() > largest.load()) largest = items.size();
        std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a round trip and a commit
        std::vector<Status> out(items.size(), Status(Ok{}));
        for (size_t i = 0; i < items.size(); ++i) {
          if (*items[i] % 2 == 1) out[i] = odd;
        }
        running.fetch_sub(1);
        return out;
      },
      Short);
  constexpr int kThreads = 32, kEach = 20;
  std::atomic<int> wrong{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < kThreads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const int item = t * kEach + i;
        Status s = combiner.Submit(item);
        if (static_cast<bool>(s) != (item % 2 == 0)) ++wrong;
      }
    });
  }
  for (std::thread& th : pool) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(items_seen.load(), kThreads * kEach);
  EXPECT_EQ(overlapped.load(), 0);                  // one batch at a time
  EXPECT_LE(largest.load(), 16u);                   // never past kMaxBatch
  EXPECT_LT(batches.load(), kThreads * kEach / 2);  // combined, not one batch per item
}

TEST(Combiner, AloneAnItemIsRunAtOnceInABatchOfItsOwn) {
  std::vector<size_t> sizes;
  IntCombiner combiner(
      [&](const std::vector<const int*>& items) {
        sizes.push_back(items.size());
        return std::vector<Status>(items.size(), Status(Ok{}));
      },
      Short);
  EXPECT_TRUE(combiner.Submit(1));
  EXPECT_TRUE(combiner.Submit(2));
  EXPECT_EQ(sizes, (std::vector<size_t>{1, 1}));
}

TEST(Combiner, ARunnerThatAnswersShortFailsTheRestCleanly) {
  IntCombiner combiner([](const std::vector<const int*>&) { return std::vector<Status>(); }, Short);
  Status s = combiner.Submit(1);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kInternal);
}

}  // namespace
}  // namespace certplan::store::postgres
