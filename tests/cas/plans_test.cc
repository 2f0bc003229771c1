#include "cas/plans.h"

#include <gtest/gtest.h>

#include "cas/products.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/audit_for_test.h"
#include "testing/temp_dir.h"

namespace certplan::cas {
namespace {

class PlansTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(*store::sqlite::SqliteStore::Open(dir_.File("db")));
    ASSERT_TRUE(store_->CreateAccount(7, "acct", 0, testing::TestRecord()));
    plans_ = std::make_unique<Plans>(*store_, clock_);
  }
  testing::TempDir dir_;
  FakeClock clock_{1'800'000'000};
  std::unique_ptr<store::sqlite::SqliteStore> store_;
  std::unique_ptr<Plans> plans_;
};

TEST(Catalog, HasTheFifteenSeedCodes) {
  EXPECT_EQ(Catalog().size(), 15u);
  EXPECT_EQ(Catalog()[0].code, kDefaultProductCode);
  EXPECT_TRUE(FindProduct("cfca-ev-w-advanced"));
  EXPECT_EQ(FindProduct("cfca-ev-w-advanced")->level, ValidationLevel::kOv);
  EXPECT_FALSE(FindProduct("DIGICERT-FREE-1-FREE"));
}

TEST_F(PlansTest, EmptyCodeMeansDefault) {
  ASSERT_TRUE(plans_->Grant(7, "digicert-free-1-free", 20, std::nullopt, testing::TestActor()));
  Result<PackageState> s = plans_->Describe(7, "");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->product_code, "digicert-free-1-free");
  EXPECT_EQ(s->total, 20);
}

TEST_F(PlansTest, KnownCodeNeverBoughtIsZeros) {
  Result<PackageState> s = plans_->Describe(7, "globalsign-ov-w-advanced");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->total, 0);
  EXPECT_EQ(s->used, 0);
  EXPECT_EQ(s->issued, 0);
}

TEST_F(PlansTest, UnknownCodeIsInvalidParameter) {
  Result<PackageState> s = plans_->Describe(7, "digicert-free-2-free");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidParameter);
  EXPECT_NE(s.error().message.find("ProductCode"), std::string::npos);
}

TEST_F(PlansTest, ExpiredPlanLeavesTotal) {
  ASSERT_TRUE(
      plans_->Grant(7, "geotrust-dv-1-starter", 3, clock_.NowSeconds() + 60, testing::TestActor()));
  EXPECT_EQ(plans_->Describe(7, "geotrust-dv-1-starter")->total, 3);
  clock_.Advance(60);
  EXPECT_EQ(plans_->Describe(7, "geotrust-dv-1-starter")->total, 0);
}

TEST_F(PlansTest, GrantValidatesEverything) {
  struct Case {
    int64_t account;
    const char* code;
    int64_t count;
    std::optional<int64_t> expires;
  };
  for (const Case& c : std::initializer_list<Case>{{7, "nope", 1, std::nullopt},
                                                   {7, "digicert-free-1-free", 0, std::nullopt},
                                                   {7, "digicert-free-1-free", -3, std::nullopt},
                                                   {7, "digicert-free-1-free", 1, 1'700'000'000},
                                                   {8, "digicert-free-1-free", 1, std::nullopt}}) {
    Result<Plan> r = plans_->Grant(c.account, c.code, c.count, c.expires, testing::TestActor());
    ASSERT_FALSE(r) << c.code << " " << c.count;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
  }
}

TEST_F(PlansTest, ListOfAnUnknownAccountSaysSo) {
  Result<std::vector<Plan>> none = plans_->List(8);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kInvalidParameter);
  EXPECT_NE(none.error().message.find("no such account"), std::string::npos);
  Result<std::vector<Plan>> empty = plans_->List(7);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  ASSERT_TRUE(plans_->Grant(7, "digicert-free-1-free", 2, std::nullopt, testing::TestActor()));
  EXPECT_EQ(plans_->List(7)->size(), 1u);
}

}  // namespace
}  // namespace certplan::cas
