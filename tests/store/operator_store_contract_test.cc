// The contract of ops::OperatorStore: operator tokens kept as hashes, and plan grants made at
// most once per idempotency key. Runs over SQLite and PostgreSQL (tests/store/store_backends.h).
#include <thread>
#include <vector>

#include "store/store_backends.h"
#include "testing/audit_for_test.h"

namespace certplan::store {
namespace {

using OperatorStoreContract = StoreBackendTest;

ops::OperatorTokenRecord Token(const char* id, const char* name, int64_t created = 10) {
  return ops::OperatorTokenRecord{id,      name,         std::string("hash-of-") + id,
                                  created, std::nullopt, std::nullopt};
}

cas::Plan NewPlan(int64_t account, int64_t count) {
  return cas::Plan{0, account, "geotrust-dv-1-starter", count, 100, std::nullopt};
}

TEST_P(OperatorStoreContract, TokensAreFoundByIdAndListedOldestFirst) {
  ASSERT_TRUE(operators_->InsertOperatorToken(Token("bbbb", "billing", 20), testing::TestRecord()));
  ASSERT_TRUE(
      operators_->InsertOperatorToken(Token("aaaa", "provisioning", 10), testing::TestRecord()));
  Result<std::optional<ops::OperatorTokenRecord>> found = operators_->FindOperatorToken("bbbb");
  ASSERT_TRUE(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->name, "billing");
  EXPECT_EQ((*found)->token_hash, "hash-of-bbbb");
  EXPECT_EQ((*found)->created_at, 20);
  EXPECT_FALSE((*found)->last_used_at);
  EXPECT_FALSE((*found)->revoked_at);
  EXPECT_FALSE(operators_->FindOperatorToken("cccc")->has_value());
  Result<std::vector<ops::OperatorTokenRecord>> all = operators_->ListOperatorTokens();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, "aaaa");
  EXPECT_EQ((*all)[1].id, "bbbb");
}

TEST_P(OperatorStoreContract, ActiveNamesAreUniqueAndFreedByRevocation) {
  ASSERT_TRUE(operators_->InsertOperatorToken(Token("aaaa", "billing"), testing::TestRecord()));
  Status twin = operators_->InsertOperatorToken(Token("bbbb", "billing"), testing::TestRecord());
  ASSERT_FALSE(twin);
  EXPECT_EQ(twin.error().code, ErrorCode::kInvalidParameter);
  Status same_id = operators_->InsertOperatorToken(Token("aaaa", "other"), testing::TestRecord());
  ASSERT_FALSE(same_id);
  EXPECT_EQ(same_id.error().code, ErrorCode::kInvalidParameter);
  EXPECT_EQ(operators_->ListOperatorTokens()->size(), 1u);  // nothing half-written
  ASSERT_TRUE(*operators_->RevokeOperatorToken("aaaa", 50, testing::TestRecord()));
  EXPECT_TRUE(operators_->InsertOperatorToken(Token("bbbb", "billing"), testing::TestRecord()));
}

TEST_P(OperatorStoreContract, TouchAndRevokeRecordTheirTimes) {
  ASSERT_TRUE(operators_->InsertOperatorToken(Token("aaaa", "billing"), testing::TestRecord()));
  ASSERT_TRUE(operators_->TouchOperatorToken("aaaa", 33));
  ASSERT_TRUE(operators_->TouchOperatorToken("zzzz", 33));  // unknown: no-op
  EXPECT_EQ(*(*operators_->FindOperatorToken("aaaa"))->last_used_at, 33);
  Result<bool> revoked = operators_->RevokeOperatorToken("aaaa", 40, testing::TestRecord());
  ASSERT_TRUE(revoked);
  EXPECT_TRUE(*revoked);
  // Revoking again keeps the first time; an unknown id is false.
  EXPECT_TRUE(*operators_->RevokeOperatorToken("aaaa", 90, testing::TestRecord()));
  EXPECT_EQ(*(*operators_->FindOperatorToken("aaaa"))->revoked_at, 40);
  Result<bool> unknown = operators_->RevokeOperatorToken("zzzz", 40, testing::TestRecord());
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(*unknown);
}

TEST_P(OperatorStoreContract, GrantPlanOnceGrantsOncePerKey) {
  EXPECT_FALSE(operators_->FindPlanGrant("k1")->has_value());
  Result<ops::PlanGrantOnce> first =
      operators_->GrantPlanOnce(NewPlan(1001, 5), "k1", "h1", testing::TestRecord(1001));
  ASSERT_TRUE(first) << first.error().detail;
  EXPECT_TRUE(first->granted);
  EXPECT_GT(first->record.plan.id, 0);
  EXPECT_EQ(first->record.request_hash, "h1");
  // The second call with the key stores nothing (even with another plan and hash) and returns
  // what the key recorded.
  Result<ops::PlanGrantOnce> again =
      operators_->GrantPlanOnce(NewPlan(1001, 9), "k1", "h2", testing::TestRecord(1001));
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->granted);
  EXPECT_EQ(again->record.plan.id, first->record.plan.id);
  EXPECT_EQ(again->record.plan.count, 5);
  EXPECT_EQ(again->record.request_hash, "h1");
  EXPECT_EQ(plans_->ListPlans(1001)->size(), 1u);
  EXPECT_EQ(plans_->GetPackageCounters(1001, "geotrust-dv-1-starter", 200)->total, 5);
  Result<std::optional<ops::PlanGrantRecord>> found = operators_->FindPlanGrant("k1");
  ASSERT_TRUE(found && found->has_value());
  EXPECT_EQ((*found)->plan.id, first->record.plan.id);
  EXPECT_EQ((*found)->plan.account_id, 1001);
  EXPECT_EQ((*found)->plan.product_code, "geotrust-dv-1-starter");
  // Another key is another grant.
  ASSERT_TRUE(
      operators_->GrantPlanOnce(NewPlan(1001, 2), "k2", "h3", testing::TestRecord(1001))->granted);
  EXPECT_EQ(plans_->GetPackageCounters(1001, "geotrust-dv-1-starter", 200)->total, 7);
}

TEST_P(OperatorStoreContract, GrantPlanOnceForAnUnknownAccountWritesNothing) {
  Result<ops::PlanGrantOnce> r =
      operators_->GrantPlanOnce(NewPlan(9, 5), "k1", "h1", testing::TestRecord(1001));
  EXPECT_FALSE(r);
  EXPECT_FALSE(operators_->FindPlanGrant("k1")->has_value());
  EXPECT_EQ(plans_->ListPlans(9)->size(), 0u);
}

TEST_P(OperatorStoreContract, ConcurrentFirstAttemptsWithOneKeyGrantOnce) {
  constexpr int kThreads = 6;
  std::vector<std::thread> threads;
  std::vector<Result<ops::PlanGrantOnce>> results(kThreads, InternalError("not run"));
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      results[i] =
          operators_->GrantPlanOnce(NewPlan(1001, 4), "race", "h", testing::TestRecord(1001));
    });
  }
  for (std::thread& t : threads) t.join();
  int granted = 0;
  for (const auto& r : results) {
    ASSERT_TRUE(r) << r.error().message << " " << r.error().detail;
    granted += r->granted ? 1 : 0;
    EXPECT_EQ(r->record.plan.count, 4);
  }
  EXPECT_EQ(granted, 1);
  EXPECT_EQ(plans_->ListPlans(1001)->size(), 1u);
  EXPECT_EQ(plans_->GetPackageCounters(1001, "geotrust-dv-1-starter", 200)->total, 4);
}

INSTANTIATE_TEST_SUITE_P(Backends, OperatorStoreContract, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace certplan::store
