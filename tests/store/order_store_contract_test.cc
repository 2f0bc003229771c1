// The contract of cas::OrderStore: quota taken with the order, transitions as compare-and-sets that
// move the counters, batches, due orders. Runs over SQLite and PostgreSQL
// (tests/store/store_backends.h).
#include "store/store_backends.h"
#include "testing/audit_for_test.h"

namespace certplan::store {
namespace {

using OrderStoreContract = StoreBackendTest;

TEST_P(OrderStoreContract, CreateOrderTakesQuotaAtomicallyAndRoundTrips) {
  Result<cas::Order> none =
      orders_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100, testing::TestRecord());
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kNotFoundPackage);
  ASSERT_TRUE(plans_->GrantPlan(cas::Plan{0, 1001, "geotrust-dv-1-starter", 2, 1, std::nullopt},
                                testing::TestRecord()));
  Result<cas::Order> one =
      orders_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100, testing::TestRecord());
  ASSERT_TRUE(one) << one.error().detail;
  EXPECT_GT(one->id, 0);
  EXPECT_LT(one->id, int64_t{1} << 53);
  ASSERT_TRUE(
      orders_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100, testing::TestRecord()));
  Result<cas::Order> third =
      orders_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100, testing::TestRecord());
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code, ErrorCode::kNotRemainCount);
  EXPECT_EQ(plans_->GetPackageCounters(1001, "geotrust-dv-1-starter", 100)->used, 2);
  EXPECT_TRUE(audit_->AuditCounters()->empty());
  Result<std::optional<cas::Order>> found = orders_->FindOrder(1001, one->id);
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->domains, one->domains);
  EXPECT_EQ((*found)->sealed_private_key, one->sealed_private_key);
  EXPECT_FALSE(*orders_->FindOrder(2002, one->id));  // another account's: not there
  EXPECT_EQ(orders_->ListOrders(1001, "b.example")->size(), 2u);
  EXPECT_EQ(orders_->ListOrders(1001, "zzz")->size(), 0u);
  EXPECT_TRUE(orders_->ListOrders(2002, "")->empty());
}

TEST_P(OrderStoreContract, TransitionsAreCompareAndSetAndMoveCounters) {
  ASSERT_TRUE(plans_->GrantPlan(cas::Plan{0, 1001, "geotrust-dv-1-starter", 2, 1, std::nullopt},
                                testing::TestRecord()));
  Result<cas::Order> order =
      orders_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100, testing::TestRecord());
  ASSERT_TRUE(order);
  Result<cas::Transition> cancel = cas::CancelForPackage(*order, 200);
  ASSERT_TRUE(orders_->ApplyTransition(*cancel, cas::OrderStatus::kDomainVerify));
  Status again = orders_->ApplyTransition(*cancel, cas::OrderStatus::kDomainVerify);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kOrderStateError);
  EXPECT_EQ(plans_->GetPackageCounters(1001, "geotrust-dv-1-starter", 100)->used, 0);
  EXPECT_TRUE(audit_->AuditCounters()->empty());
}

// A batch is one transaction of independent compare-and-sets: the step whose order moved
// meanwhile fails alone, the others land with their counter changes.
TEST_P(OrderStoreContract, BatchedTransitionsApplyEachOrFailAlone) {
  ASSERT_TRUE(plans_->GrantPlan(cas::Plan{0, 1001, "geotrust-dv-1-starter", 5, 1, std::nullopt},
                                testing::TestRecord()));
  std::vector<cas::Order> orders;
  for (int i = 0; i < 3; ++i) {
    Result<cas::Order> o =
        orders_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100, testing::TestRecord());
    ASSERT_TRUE(o);
    orders.push_back(*o);
  }
  // The middle one is cancelled by its owner before the worker's batch lands.
  ASSERT_TRUE(orders_->ApplyTransition(*cas::CancelForPackage(orders[1], 150),
                                       cas::OrderStatus::kDomainVerify));
  std::vector<cas::PendingTransition> batch;
  for (const cas::Order& o : orders) {
    Result<cas::Transition> passed = cas::ValidationPassed(o, 200);
    ASSERT_TRUE(passed);
    Result<cas::Transition> issued = cas::Issued(passed->order, 200);
    ASSERT_TRUE(issued);
    batch.push_back({*issued, cas::OrderStatus::kDomainVerify});
  }
  std::vector<Status> results = orders_->ApplyTransitions(batch);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0]);
  ASSERT_FALSE(results[1]);
  EXPECT_EQ(results[1].error().code, ErrorCode::kOrderStateError);
  EXPECT_TRUE(results[2]);
  cas::PackageCounters c = *plans_->GetPackageCounters(1001, "geotrust-dv-1-starter", 200);
  EXPECT_EQ(c.used, 2);
  EXPECT_EQ(c.issued, 2);
  EXPECT_EQ((*orders_->FindOrder(1001, orders[0].id))->status, cas::OrderStatus::kCertificate);
  EXPECT_EQ((*orders_->FindOrder(1001, orders[1].id))->status, cas::OrderStatus::kCancelled);
  EXPECT_TRUE(audit_->AuditCounters()->empty());
  EXPECT_TRUE(orders_->ApplyTransitions({}).empty());
}

TEST_P(OrderStoreContract, DueOrdersAreThePendingOnesWhoseTimeCame) {
  ASSERT_TRUE(plans_->GrantPlan(cas::Plan{0, 1001, "geotrust-dv-1-starter", 5, 1, std::nullopt},
                                testing::TestRecord()));
  ASSERT_TRUE(
      orders_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100, testing::TestRecord()));
  EXPECT_EQ(orders_->DueOrders(99, 10)->size(), 0u);
  EXPECT_EQ(orders_->DueOrders(100, 10)->size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Backends, OrderStoreContract, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace certplan::store
