#include "acme/staging_store.h"

#include <gtest/gtest.h>

#include "store/sqlite/sqlite_store.h"
#include "testing/audit_for_test.h"
#include "testing/temp_dir.h"

namespace certplan::acme {
namespace {

class StagingStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { real_ = std::move(*store::sqlite::SqliteStore::Open(dir_.File("db"))); }
  cas::Order Order(int64_t account) {
    cas::Order o;
    o.account_id = account;
    o.product_code = "digicert-free-1-free";
    o.origin = cas::OrderOrigin::kAcme;
    o.domains = {"a.example.com"};
    o.holds_unit = true;
    return o;
  }
  ::certplan::testing::TempDir dir_;
  std::unique_ptr<store::sqlite::SqliteStore> real_;
};

TEST_F(StagingStoreTest, OrdersTakeNoUnitAndAreRateLimitedPerAccount) {
  StagingStore staging(*real_);
  for (size_t i = 0; i < StagingStore::kOrdersPerHour; ++i) {
    Result<cas::Order> o = staging.CreateOrder(Order(1), 1000, testing::TestRecord());
    ASSERT_TRUE(o);
    EXPECT_FALSE(o->holds_unit);
  }
  Result<cas::Order> over = staging.CreateOrder(Order(1), 1000, testing::TestRecord());
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, ErrorCode::kThrottling);
  EXPECT_TRUE(staging.CreateOrder(Order(2), 1000, testing::TestRecord()));  // another account
  EXPECT_TRUE(staging.CreateOrder(Order(1), 4600, testing::TestRecord()));  // an hour later
  // Nothing reached the real store's orders.
  EXPECT_EQ(real_->ListOrders(1, cas::OrderQuery{})->total, 0);
}

TEST_F(StagingStoreTest, HoldsAtMostTheBoundDroppingTheOldest) {
  StagingStore staging(*real_);
  int64_t first = 0;
  for (size_t i = 0; i < StagingStore::kMaxOrders + 5; ++i) {
    Result<cas::Order> o =
        staging.CreateOrder(Order(static_cast<int64_t>(i)), 1000, testing::TestRecord());
    ASSERT_TRUE(o);
    if (i == 0) first = o->id;
  }
  EXPECT_EQ(staging.size(), StagingStore::kMaxOrders);
  EXPECT_FALSE(*staging.FindOrder(0, first));
}

}  // namespace
}  // namespace certplan::acme
