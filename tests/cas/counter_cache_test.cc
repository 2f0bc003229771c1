// cas::CounterCache alone (a counting reader), then wired to Plans and Orders over a real
// SQLite store: a change made through this process is seen by the very next read, a change
// made behind its back (another process) within the second.
#include "cas/counter_cache.h"

#include <gtest/gtest.h>

#include "cas/orders.h"
#include "cas/plans.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/audit_for_test.h"
#include "testing/temp_dir.h"
#include "testing/test_certificate.h"

namespace certplan::cas {
namespace {

using std::chrono::milliseconds;

struct CountingReader {
  int calls = 0;
  PackageCounters next{10, 1, 0};
  Result<PackageCounters> operator()() {
    ++calls;
    return next;
  }
};

TEST(CounterCache, ServesTheSameSecondFromMemory) {
  CounterCache cache(CounterCache::Options{milliseconds(1000), 1000});
  CountingReader r;
  auto read = [&] { return r(); };
  EXPECT_EQ(cache.Get(7, "p", 100, read)->used, 1);
  r.next.used = 2;
  EXPECT_EQ(cache.Get(7, "p", 100, read)->used, 1);
  EXPECT_EQ(r.calls, 1);
}

TEST(CounterCache, ANewSecondReadsAgain) {
  CounterCache cache(CounterCache::Options{milliseconds(1000), 1000});
  CountingReader r;
  auto read = [&] { return r(); };
  ASSERT_TRUE(cache.Get(7, "p", 100, read));
  r.next.used = 2;
  EXPECT_EQ(cache.Get(7, "p", 101, read)->used, 2);
  EXPECT_EQ(r.calls, 2);
}

TEST(CounterCache, InvalidateForgetsEveryCodeOfTheAccountOnly) {
  CounterCache cache(CounterCache::Options{milliseconds(1000), 1000});
  CountingReader r;
  auto read = [&] { return r(); };
  ASSERT_TRUE(cache.Get(7, "p", 100, read));
  ASSERT_TRUE(cache.Get(7, "q", 100, read));
  ASSERT_TRUE(cache.Get(8, "p", 100, read));
  EXPECT_EQ(r.calls, 3);
  cache.Invalidate(7);
  ASSERT_TRUE(cache.Get(7, "p", 100, read));
  ASSERT_TRUE(cache.Get(7, "q", 100, read));
  ASSERT_TRUE(cache.Get(8, "p", 100, read));
  EXPECT_EQ(r.calls, 5);  // 8 kept its entry
}

TEST(CounterCache, AReadOverlappingAChangeIsNotRemembered) {
  CounterCache cache(CounterCache::Options{milliseconds(1000), 1000});
  int calls = 0;
  // The change commits (and invalidates) while this read is in the store: what it read may be
  // from before the change, so it must not be served to a later read.
  auto racing = [&]() -> Result<PackageCounters> {
    ++calls;
    cache.Invalidate(7);
    return PackageCounters{10, 1, 0};
  };
  ASSERT_TRUE(cache.Get(7, "p", 100, racing));
  auto after = [&]() -> Result<PackageCounters> {
    ++calls;
    return PackageCounters{10, 2, 0};
  };
  EXPECT_EQ(cache.Get(7, "p", 100, after)->used, 2);
  EXPECT_EQ(calls, 2);
}

TEST(CounterCache, ErrorsAreReturnedAndNeverRemembered) {
  CounterCache cache(CounterCache::Options{milliseconds(1000), 1000});
  int calls = 0;
  auto failing = [&]() -> Result<PackageCounters> {
    ++calls;
    return Error(ErrorCode::kServiceUnavailable, "down");
  };
  Result<PackageCounters> a = cache.Get(7, "p", 100, failing);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, ErrorCode::kServiceUnavailable);
  EXPECT_FALSE(cache.Get(7, "p", 100, failing));
  EXPECT_EQ(calls, 2);
}

TEST(CounterCache, ZeroTtlIsOff) {
  CounterCache cache(CounterCache::Options{milliseconds(0), 1000});
  EXPECT_FALSE(cache.enabled());
  CountingReader r;
  auto read = [&] { return r(); };
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cache.Get(7, "p", 100, read));
  EXPECT_EQ(r.calls, 3);
}

TEST(CounterCache, StaysWithinItsEntryBound) {
  // 16 entries over 16 shards: one per shard. Filling many keys never grows past that, and a
  // key still answers correctly after its shard was cleared.
  CounterCache cache(CounterCache::Options{milliseconds(1000), 16});
  CountingReader r;
  auto read = [&] { return r(); };
  for (int64_t a = 0; a < 10'000; ++a) ASSERT_TRUE(cache.Get(a, "p", 100, read));
  EXPECT_EQ(r.calls, 10'000);
  r.next.used = 5;
  EXPECT_EQ(cache.Get(0, "p", 101, read)->used, 5);
}

constexpr int64_t kAccount = 7;
constexpr const char* kCode = "geotrust-dv-1-starter";

class CachedCountersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(*store::sqlite::SqliteStore::Open(dir_.File("db")));
    ASSERT_TRUE(store_->CreateAccount(kAccount, "acct", 0, testing::TestRecord(kAccount)));
    box_ = std::move(*pki::SecretBox::Create(std::string(32, 'k')));
    plans_ = std::make_unique<Plans>(*store_, clock_, &cache_);
    orders_ = std::make_unique<Orders>(*store_, ca_, *box_, clock_, OrderSettings{});
    orders_->InvalidatesCounters(&cache_);
  }
  Result<Order> Apply(const std::string& domain) {
    Application a;
    a.product_code = kCode;
    a.domain = domain;
    return orders_->Apply(kAccount, a, testing::TestActor());
  }
  testing::TempDir dir_;
  FakeClock clock_{1'800'000'000};
  CounterCache cache_{CounterCache::Options{std::chrono::milliseconds(1000), 1000}};
  std::unique_ptr<store::sqlite::SqliteStore> store_;
  std::unique_ptr<pki::SecretBox> box_;
  testing::StampingCa ca_;
  std::unique_ptr<Plans> plans_;
  std::unique_ptr<Orders> orders_;
};

TEST_F(CachedCountersTest, ThisNodesChangesAreSeenByTheNextRead) {
  ASSERT_TRUE(plans_->Grant(kAccount, kCode, 3, std::nullopt, testing::TestActor()));
  EXPECT_EQ(plans_->Describe(kAccount, kCode)->total, 3);  // now cached
  Result<Order> order = Apply("a.example.com");
  ASSERT_TRUE(order) << order.error().message;
  EXPECT_EQ(plans_->Describe(kAccount, kCode)->used, 1);
  ASSERT_TRUE(orders_->CancelForPackage(kAccount, order->id, testing::TestActor()));  // unit back
  EXPECT_EQ(plans_->Describe(kAccount, kCode)->used, 0);
  ASSERT_TRUE(plans_->Grant(kAccount, kCode, 2, std::nullopt, testing::TestActor()));
  EXPECT_EQ(plans_->Describe(kAccount, kCode)->total, 5);
}

TEST_F(CachedCountersTest, AnotherProcessesChangeIsSeenInTheNextSecond) {
  EXPECT_EQ(plans_->Describe(kAccount, kCode)->total, 0);
  // The admin CLI's grant on the same file: straight to the store, no invalidation here.
  ASSERT_TRUE(store_->GrantPlan(Plan{0, kAccount, kCode, 4, 0, std::nullopt},
                                testing::TestRecord(kAccount)));
  EXPECT_EQ(plans_->Describe(kAccount, kCode)->total, 0);  // the bound: same second
  clock_.Advance(1);
  EXPECT_EQ(plans_->Describe(kAccount, kCode)->total, 4);
}

}  // namespace
}  // namespace certplan::cas
