// ops::Pruner: the pass at Start(), a failed pass retried (not fatal), Stop() joining.
#include "ops/pruner.h"

#include <condition_variable>
#include <mutex>

#include <gtest/gtest.h>

namespace certplan::ops {
namespace {

struct Passes {
  std::mutex mu;
  std::condition_variable cv;
  int count = 0;
  void Add() {
    std::scoped_lock lock(mu);
    ++count;
    cv.notify_all();
  }
  void WaitFor(int n) {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return count >= n; });
  }
};

TEST(Pruner, RunsAtStartThenEachPeriodUntilStopped) {
  Passes passes;
  Pruner pruner(
      "test rows",
      [&passes]() -> Result<int64_t> {
        passes.Add();
        return int64_t{3};
      },
      std::chrono::seconds(3600));
  pruner.Start();
  passes.WaitFor(1);  // at once, not after the period
  pruner.Stop();      // does not wait out the hour
  pruner.Stop();      // idempotent
  EXPECT_EQ(passes.count, 1);
}

TEST(Pruner, AFailedPassIsRetriedNextPeriod) {
  Passes passes;
  Pruner pruner(
      "test rows",
      [&passes]() -> Result<int64_t> {
        passes.Add();
        return Error(ErrorCode::kServiceUnavailable, "The store is not available.");
      },
      std::chrono::seconds(0));
  pruner.Start();
  passes.WaitFor(3);  // the thread survived two failures
  pruner.Stop();
  EXPECT_GE(passes.count, 3);
}

}  // namespace
}  // namespace certplan::ops
