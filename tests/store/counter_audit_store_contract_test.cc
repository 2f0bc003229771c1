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

INSTANTIATE_TEST_SUITE_P(Backends, CounterAuditStoreContract,
                         ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace certplan::store
