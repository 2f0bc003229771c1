#include "store/sqlite/sqlite_store.h"

#include <sys/stat.h>

#include <thread>

#include <gtest/gtest.h>

#include "testing/temp_dir.h"

namespace certplan::store::sqlite {
namespace {

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<SqliteStore>> s = SqliteStore::Open(dir_.File("certplan.db"));
    ASSERT_TRUE(s) << s.error().detail;
    store_ = std::move(*s);
  }
  testing::TempDir dir_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(SqliteStoreTest, AccountsHaveUniqueNames) {
  ASSERT_TRUE(store_->CreateAccount(1001, "team-a", 100));
  Result<Account> dup = store_->CreateAccount(1002, "team-a", 100);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kInvalidParameter);
  Result<std::optional<Account>> found = store_->FindAccountByName("team-a");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->id, 1001);
  EXPECT_FALSE(*store_->FindAccount(999));
}

TEST_F(SqliteStoreTest, AccessKeysRoundTripAndDisable) {
  ASSERT_TRUE(store_->CreateAccount(1001, "team-a", 100));
  AccessKey key{"LTAIabc", 1001, "", std::string("\x01\x00\xff", 3), true, 5};
  ASSERT_TRUE(store_->InsertAccessKey(key));
  Result<std::optional<AccessKey>> found = store_->FindAccessKey("LTAIabc");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->sealed_secret, key.sealed_secret);  // binary-safe
  EXPECT_TRUE((*found)->enabled);
  EXPECT_TRUE(*store_->SetAccessKeyEnabled("LTAIabc", false));
  EXPECT_FALSE((*store_->FindAccessKey("LTAIabc"))->enabled);
  EXPECT_FALSE(*store_->SetAccessKeyEnabled("LTAInone", false));
  EXPECT_EQ(store_->ListAccessKeys(1001)->size(), 1u);
  EXPECT_FALSE(*store_->FindAccessKey("LTAInone"));
}

TEST_F(SqliteStoreTest, KeyForMissingAccountIsRefused) {
  AccessKey key{"LTAIabc", 4242, "", "x", true, 5};
  Status s = store_->InsertAccessKey(key);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kInternal);
}

TEST_F(SqliteStoreTest, TotalSumsPlansInForceOnly) {
  ASSERT_TRUE(store_->CreateAccount(1001, "team-a", 100));
  ASSERT_TRUE(store_->GrantPlan(Plan{0, 1001, "digicert-free-1-free", 20, 100, std::nullopt}));
  ASSERT_TRUE(store_->GrantPlan(Plan{0, 1001, "digicert-free-1-free", 5, 100, 1000}));
  ASSERT_TRUE(store_->GrantPlan(Plan{0, 1001, "geotrust-dv-1-starter", 7, 100, std::nullopt}));
  PackageCounters before = *store_->GetPackageCounters(1001, "digicert-free-1-free", 999);
  EXPECT_EQ(before.total, 25);
  EXPECT_EQ(before.used, 0);
  EXPECT_EQ(before.issued, 0);
  EXPECT_EQ(store_->GetPackageCounters(1001, "digicert-free-1-free", 1000)->total, 20);
  EXPECT_EQ(store_->GetPackageCounters(1001, "symantec-free-1-free", 1000)->total, 0);
  EXPECT_EQ(store_->GetPackageCounters(2002, "digicert-free-1-free", 1000)->total, 0);
  EXPECT_EQ(store_->ListPlans(1001)->size(), 3u);
}

TEST_F(SqliteStoreTest, ReopeningKeepsDataAndSchema) {
  ASSERT_TRUE(store_->CreateAccount(1001, "team-a", 100));
  store_.reset();
  Result<std::unique_ptr<SqliteStore>> again = SqliteStore::Open(dir_.File("certplan.db"));
  ASSERT_TRUE(again);
  EXPECT_TRUE(*(*again)->FindAccount(1001));
}

TEST_F(SqliteStoreTest, ConcurrentReadersAndWriters) {
  ASSERT_TRUE(store_->CreateAccount(1001, "team-a", 100));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        ASSERT_TRUE(store_->GrantPlan(Plan{0, 1001, "digicert-free-1-free", 1, 100, std::nullopt}));
        ASSERT_TRUE(store_->GetPackageCounters(1001, "digicert-free-1-free", 100));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(store_->GetPackageCounters(1001, "digicert-free-1-free", 100)->total, 100);
}

TEST(SqliteStoreOpen, UnwritablePathIsUnavailable) {
  Result<std::unique_ptr<SqliteStore>> s = SqliteStore::Open("/nonexistent-dir/x/certplan.db");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kServiceUnavailable);
}

}  // namespace
}  // namespace certplan::store::sqlite

namespace certplan::store::sqlite {
namespace {

cas::Order NewOrder(int64_t account, const char* product) {
  cas::Order o;
  o.account_id = account;
  o.product_code = product;
  o.domains = {"a.example.com"};
  o.token = "t";
  o.created_at = o.updated_at = o.next_check_at = 100;
  o.validation_deadline = 1000;
  return o;
}

class SqliteOrdersTest : public SqliteStoreTest {
 protected:
  void SetUp() override {
    SqliteStoreTest::SetUp();
    ASSERT_TRUE(store_->CreateAccount(1001, "a", 1));
    ASSERT_TRUE(store_->CreateAccount(2002, "b", 1));
    ASSERT_TRUE(store_->GrantPlan(Plan{0, 1001, "geotrust-dv-1-starter", 2, 1, std::nullopt}));
  }
};

TEST_F(SqliteOrdersTest, CreateTakesQuotaUntilUsedUp) {
  Result<cas::Order> one = store_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100);
  ASSERT_TRUE(one);
  EXPECT_GT(one->id, 0);
  EXPECT_LT(one->id, int64_t{1} << 53);
  ASSERT_TRUE(store_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100));
  Result<cas::Order> three = store_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100);
  ASSERT_FALSE(three);
  EXPECT_EQ(three.error().code, ErrorCode::kNotRemainCount);
  Result<cas::Order> none = store_->CreateOrder(NewOrder(1001, "digicert-free-1-free"), 100);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kNotFoundPackage);
  EXPECT_EQ(store_->GetPackageCounters(1001, "geotrust-dv-1-starter", 100)->used, 2);
  EXPECT_TRUE(store_->AuditCounters()->empty());
}

TEST_F(SqliteOrdersTest, OrdersAreScopedToTheirAccount) {
  Result<cas::Order> one = store_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100);
  ASSERT_TRUE(one);
  EXPECT_TRUE(*store_->FindOrder(1001, one->id));
  EXPECT_FALSE(*store_->FindOrder(2002, one->id));
  EXPECT_TRUE(store_->ListOrders(2002, "")->empty());
  EXPECT_EQ(store_->ListOrders(1001, "a.example")->size(), 1u);
  EXPECT_EQ(store_->ListOrders(1001, "zzz")->size(), 0u);
}

TEST_F(SqliteOrdersTest, TransitionIsCompareAndSetOnTheState) {
  Result<cas::Order> one = store_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100);
  ASSERT_TRUE(one);
  Result<cas::Transition> cancel = cas::CancelForPackage(*one, 200);
  ASSERT_TRUE(cancel);
  ASSERT_TRUE(store_->ApplyTransition(*cancel, cas::OrderStatus::kDomainVerify));
  Status again = store_->ApplyTransition(*cancel, cas::OrderStatus::kDomainVerify);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kOrderStateError);
  EXPECT_EQ(store_->GetPackageCounters(1001, "geotrust-dv-1-starter", 100)->used, 0);
  EXPECT_TRUE(store_->AuditCounters()->empty());
}

TEST_F(SqliteOrdersTest, AuditFindsDrift) {
  ASSERT_TRUE(store_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100));
  {
    Result<std::unique_ptr<Connection>> raw = Connection::Open(dir_.File("certplan.db"));
    ASSERT_TRUE(raw);
    ASSERT_TRUE((*raw)->Exec("UPDATE package_usage SET used = 2"));
  }
  Result<std::vector<CounterDrift>> drift = store_->AuditCounters();
  ASSERT_TRUE(drift);
  ASSERT_EQ(drift->size(), 1u);
  EXPECT_EQ((*drift)[0].stored.used, 2);
  EXPECT_EQ((*drift)[0].recounted.used, 1);
}

}  // namespace
}  // namespace certplan::store::sqlite
