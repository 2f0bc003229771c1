// The contract of cas::PlanStore: plans and the TotalCount they give.
// Runs over SQLite and PostgreSQL (tests/store/store_backends.h).
#include "store/store_backends.h"
#include "testing/audit_for_test.h"

namespace certplan::store {
namespace {

using PlanStoreContract = StoreBackendTest;

TEST_P(PlanStoreContract, TotalCountsPlansInForceOnly) {
  ASSERT_TRUE(plans_->GrantPlan(cas::Plan{0, 1001, "geotrust-dv-1-starter", 3, 1, std::nullopt},
                                testing::TestRecord()));
  ASSERT_TRUE(plans_->GrantPlan(cas::Plan{0, 1001, "geotrust-dv-1-starter", 4, 1, 500},
                                testing::TestRecord()));
  cas::PackageCounters before = *plans_->GetPackageCounters(1001, "geotrust-dv-1-starter", 499);
  EXPECT_EQ(before.total, 7);
  EXPECT_EQ(before.used, 0);
  EXPECT_EQ(before.issued, 0);
  EXPECT_EQ(plans_->GetPackageCounters(1001, "symantec-free-1-free", 499)->total, 0);
  EXPECT_EQ(plans_->GetPackageCounters(1001, "geotrust-dv-1-starter", 500)->total, 3);
  EXPECT_EQ(plans_->GetPackageCounters(2002, "geotrust-dv-1-starter", 1)->total, 0);
  EXPECT_EQ(plans_->ListPlans(1001)->size(), 2u);
}

TEST_P(PlanStoreContract, AccountExistsSeesTheIdentitiesAccounts) {
  EXPECT_TRUE(*plans_->AccountExists(1001));
  EXPECT_TRUE(*plans_->AccountExists(2002));
  EXPECT_FALSE(*plans_->AccountExists(9));
}

INSTANTIATE_TEST_SUITE_P(Backends, PlanStoreContract, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace certplan::store
