// The contract of cas::CounterAuditStore: the recount `certplan fsck` reports.
// Runs over SQLite and PostgreSQL (tests/store/store_backends.h).
#include "store/store_backends.h"
#include "testing/audit_for_test.h"

namespace certplan::store {
namespace {

using CounterAuditStoreContract = StoreBackendTest;

TEST_P(CounterAuditStoreContract, AuditFindsDrift) {
  ASSERT_TRUE(plans_->GrantPlan(cas::Plan{0, 1001, "geotrust-dv-1-starter", 5, 1, std::nullopt},
                                testing::TestRecord()));
  ASSERT_TRUE(
      orders_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100, testing::TestRecord()));
  EXPECT_TRUE(audit_->AuditCounters()->empty());
  Tamper("UPDATE package_usage SET used = 3");
  Result<std::vector<cas::CounterDrift>> drift = audit_->AuditCounters();
  ASSERT_TRUE(drift);
  ASSERT_EQ(drift->size(), 1u);
  EXPECT_EQ((*drift)[0].stored.used, 3);
  EXPECT_EQ((*drift)[0].recounted.used, 1);
}

TEST_P(CounterAuditStoreContract, AuditFindsListCountsThatDisagreeWithTheOrders) {
  ASSERT_TRUE(plans_->GrantPlan(cas::Plan{0, 1001, "geotrust-dv-1-starter", 5, 0, std::nullopt},
                                testing::TestRecord()));
  Result<cas::Order> order =
      orders_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100, testing::TestRecord());
  ASSERT_TRUE(order);
  ASSERT_TRUE(
      orders_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100, testing::TestRecord()));
  Result<std::vector<cas::ListCountDrift>> clean = audit_->AuditListCounts();
  ASSERT_TRUE(clean) << clean.error().detail;
  EXPECT_TRUE(clean->empty());

  const std::string state(cas::StatusName(order->status));
  Tamper("UPDATE order_counts SET n = 7 WHERE account_id = 1001");
  Result<std::vector<cas::ListCountDrift>> drift = audit_->AuditListCounts();
  ASSERT_TRUE(drift) << drift.error().detail;
  ASSERT_EQ(drift->size(), 1u);
  EXPECT_EQ((*drift)[0].account_id, 1001);
  EXPECT_EQ((*drift)[0].status, state);
  EXPECT_EQ((*drift)[0].level, -1);
  EXPECT_EQ((*drift)[0].stored, 7);
  EXPECT_EQ((*drift)[0].actual, 2);

  // A missing counter row counts as 0; a counter without orders is reported too; buckets are
  // recounted as well.
  Tamper("DELETE FROM order_counts");
  Tamper("INSERT INTO order_counts (account_id, status, n) VALUES (2002, 'ghost', 3)");
  Tamper("UPDATE order_buckets SET n = n + 1 WHERE level = 1");
  drift = audit_->AuditListCounts();
  ASSERT_TRUE(drift) << drift.error().detail;
  ASSERT_EQ(drift->size(), 3u);
  EXPECT_EQ((*drift)[0].account_id, 1001);
  EXPECT_EQ((*drift)[0].level, -1);
  EXPECT_EQ((*drift)[0].stored, 0);
  EXPECT_EQ((*drift)[0].actual, 2);
  EXPECT_EQ((*drift)[1].account_id, 1001);
  EXPECT_EQ((*drift)[1].level, 1);
  EXPECT_EQ((*drift)[1].bucket, 100 >> 20);
  EXPECT_EQ((*drift)[1].stored, 3);
  EXPECT_EQ((*drift)[1].actual, 2);
  EXPECT_EQ((*drift)[2].account_id, 2002);
  EXPECT_EQ((*drift)[2].status, "ghost");
  EXPECT_EQ((*drift)[2].stored, 3);
  EXPECT_EQ((*drift)[2].actual, 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, CounterAuditStoreContract,
                         ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace certplan::store
