// One behaviour contract for every Store implementation (STYLE §2.10), run over a temporary
// SQLite file and a fresh database on the PostgreSQL server named by CERTPLAN_TEST_PG_URL
// (scripts/test.sh starts one). A missing server fails the run; it never skips.
#include <cstdlib>
#include <random>

#include <gtest/gtest.h>

#include "store/postgres/pg_handles.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_handles.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/temp_dir.h"

namespace certplan::store {
namespace {

class StoreContract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      Result<std::unique_ptr<sqlite::SqliteStore>> s = sqlite::SqliteStore::Open(dir_.File("db"));
      ASSERT_TRUE(s) << s.error().detail;
      store_ = std::move(*s);
    } else {
      const char* admin = std::getenv("CERTPLAN_TEST_PG_URL");
      ASSERT_TRUE(admin && *admin) << "CERTPLAN_TEST_PG_URL must name a PostgreSQL server";
      std::random_device rd;
      db_ = "certplan_contract_" + std::to_string(rd() % 1000000000);
      admin_url_ = admin;
      Result<std::unique_ptr<postgres::PgConnection>> conn =
          postgres::PgConnection::Open(admin_url_);
      ASSERT_TRUE(conn) << conn.error().detail;
      ASSERT_TRUE((*conn)->Exec("CREATE DATABASE " + db_));
      url_ = admin_url_.substr(0, admin_url_.rfind('/')) + "/" + db_;
      Result<std::unique_ptr<postgres::PostgresStore>> s = postgres::PostgresStore::Open(url_);
      ASSERT_TRUE(s) << s.error().detail;
      store_ = std::move(*s);
    }
    ASSERT_TRUE(store_->CreateAccount(1001, "a", 1));
    ASSERT_TRUE(store_->CreateAccount(2002, "b", 1));
  }

  void TearDown() override {
    store_.reset();
    if (db_.empty()) return;
    Result<std::unique_ptr<postgres::PgConnection>> conn = postgres::PgConnection::Open(admin_url_);
    if (conn) (void)(*conn)->Exec("DROP DATABASE IF EXISTS " + db_ + " WITH (FORCE)");
  }

  // Runs SQL behind the store's back, to simulate drift.
  void Tamper(const std::string& sql) {
    if (GetParam() == "sqlite") {
      Result<std::unique_ptr<sqlite::Connection>> raw = sqlite::Connection::Open(dir_.File("db"));
      ASSERT_TRUE(raw);
      ASSERT_TRUE((*raw)->Exec(sql));
    } else {
      Result<std::unique_ptr<postgres::PgConnection>> raw = postgres::PgConnection::Open(url_);
      ASSERT_TRUE(raw);
      ASSERT_TRUE((*raw)->Exec(sql));
    }
  }

  static cas::Order NewOrder(int64_t account, const char* product) {
    cas::Order o;
    o.account_id = account;
    o.product_code = product;
    o.domains = {"a.example.com", "b.example.com"};
    o.token = "t";
    o.sealed_private_key = std::string("\x00\x01\xfe", 3);
    o.created_at = o.updated_at = o.next_check_at = 100;
    o.validation_deadline = 1000;
    return o;
  }

  testing::TempDir dir_;
  std::string admin_url_, url_, db_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreContract, AccountNamesAreUnique) {
  Result<Account> dup = store_->CreateAccount(3003, "a", 1);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kInvalidParameter);
  EXPECT_EQ((*store_->FindAccountByName("b"))->id, 2002);
  EXPECT_FALSE(*store_->FindAccount(9));
}

TEST_P(StoreContract, AccessKeysKeepBinarySecretsAndToggle) {
  AccessKey key{"LTAIx", 1001, "", std::string("\x00\xff\x10", 3), true, 5};
  ASSERT_TRUE(store_->InsertAccessKey(key));
  EXPECT_EQ((*store_->FindAccessKey("LTAIx"))->sealed_secret, key.sealed_secret);
  EXPECT_TRUE((*store_->FindAccessKey("LTAIx"))->enabled);
  EXPECT_FALSE(*store_->FindAccessKey("LTAInone"));
  EXPECT_TRUE(*store_->SetAccessKeyEnabled("LTAIx", false));
  EXPECT_FALSE((*store_->FindAccessKey("LTAIx"))->enabled);
  EXPECT_FALSE(*store_->SetAccessKeyEnabled("LTAInone", false));
  EXPECT_EQ(store_->ListAccessKeys(1001)->size(), 1u);
}

TEST_P(StoreContract, TotalCountsPlansInForceOnly) {
  ASSERT_TRUE(store_->GrantPlan(Plan{0, 1001, "geotrust-dv-1-starter", 3, 1, std::nullopt}));
  ASSERT_TRUE(store_->GrantPlan(Plan{0, 1001, "geotrust-dv-1-starter", 4, 1, 500}));
  PackageCounters before = *store_->GetPackageCounters(1001, "geotrust-dv-1-starter", 499);
  EXPECT_EQ(before.total, 7);
  EXPECT_EQ(before.used, 0);
  EXPECT_EQ(before.issued, 0);
  EXPECT_EQ(store_->GetPackageCounters(1001, "symantec-free-1-free", 499)->total, 0);
  EXPECT_EQ(store_->GetPackageCounters(1001, "geotrust-dv-1-starter", 500)->total, 3);
  EXPECT_EQ(store_->GetPackageCounters(2002, "geotrust-dv-1-starter", 1)->total, 0);
  EXPECT_EQ(store_->ListPlans(1001)->size(), 2u);
}

TEST_P(StoreContract, CreateOrderTakesQuotaAtomicallyAndRoundTrips) {
  Result<cas::Order> none = store_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kNotFoundPackage);
  ASSERT_TRUE(store_->GrantPlan(Plan{0, 1001, "geotrust-dv-1-starter", 2, 1, std::nullopt}));
  Result<cas::Order> one = store_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100);
  ASSERT_TRUE(one) << one.error().detail;
  EXPECT_GT(one->id, 0);
  EXPECT_LT(one->id, int64_t{1} << 53);
  ASSERT_TRUE(store_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100));
  Result<cas::Order> third = store_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100);
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code, ErrorCode::kNotRemainCount);
  EXPECT_EQ(store_->GetPackageCounters(1001, "geotrust-dv-1-starter", 100)->used, 2);
  EXPECT_TRUE(store_->AuditCounters()->empty());
  Result<std::optional<cas::Order>> found = store_->FindOrder(1001, one->id);
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->domains, one->domains);
  EXPECT_EQ((*found)->sealed_private_key, one->sealed_private_key);
  EXPECT_FALSE(*store_->FindOrder(2002, one->id));  // another account's: not there
  EXPECT_EQ(store_->ListOrders(1001, "b.example")->size(), 2u);
  EXPECT_EQ(store_->ListOrders(1001, "zzz")->size(), 0u);
  EXPECT_TRUE(store_->ListOrders(2002, "")->empty());
}

TEST_P(StoreContract, TransitionsAreCompareAndSetAndMoveCounters) {
  ASSERT_TRUE(store_->GrantPlan(Plan{0, 1001, "geotrust-dv-1-starter", 2, 1, std::nullopt}));
  Result<cas::Order> order = store_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100);
  ASSERT_TRUE(order);
  Result<cas::Transition> cancel = cas::CancelForPackage(*order, 200);
  ASSERT_TRUE(store_->ApplyTransition(*cancel, cas::OrderStatus::kDomainVerify));
  Status again = store_->ApplyTransition(*cancel, cas::OrderStatus::kDomainVerify);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kOrderStateError);
  EXPECT_EQ(store_->GetPackageCounters(1001, "geotrust-dv-1-starter", 100)->used, 0);
  EXPECT_TRUE(store_->AuditCounters()->empty());
}

// A batch is one transaction of independent compare-and-sets: the step whose order moved
// meanwhile fails alone, the others land with their counter changes.
TEST_P(StoreContract, BatchedTransitionsApplyEachOrFailAlone) {
  ASSERT_TRUE(store_->GrantPlan(Plan{0, 1001, "geotrust-dv-1-starter", 5, 1, std::nullopt}));
  std::vector<cas::Order> orders;
  for (int i = 0; i < 3; ++i) {
    Result<cas::Order> o = store_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100);
    ASSERT_TRUE(o);
    orders.push_back(*o);
  }
  // The middle one is cancelled by its owner before the worker's batch lands.
  ASSERT_TRUE(store_->ApplyTransition(*cas::CancelForPackage(orders[1], 150),
                                      cas::OrderStatus::kDomainVerify));
  std::vector<PendingTransition> batch;
  for (const cas::Order& o : orders) {
    Result<cas::Transition> passed = cas::ValidationPassed(o, 200);
    ASSERT_TRUE(passed);
    Result<cas::Transition> issued = cas::Issued(passed->order, 200);
    ASSERT_TRUE(issued);
    batch.push_back({*issued, cas::OrderStatus::kDomainVerify});
  }
  std::vector<Status> results = store_->ApplyTransitions(batch);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0]);
  ASSERT_FALSE(results[1]);
  EXPECT_EQ(results[1].error().code, ErrorCode::kOrderStateError);
  EXPECT_TRUE(results[2]);
  PackageCounters c = *store_->GetPackageCounters(1001, "geotrust-dv-1-starter", 200);
  EXPECT_EQ(c.used, 2);
  EXPECT_EQ(c.issued, 2);
  EXPECT_EQ((*store_->FindOrder(1001, orders[0].id))->status, cas::OrderStatus::kCertificate);
  EXPECT_EQ((*store_->FindOrder(1001, orders[1].id))->status, cas::OrderStatus::kCancelled);
  EXPECT_TRUE(store_->AuditCounters()->empty());
  EXPECT_TRUE(store_->ApplyTransitions({}).empty());
}

TEST_P(StoreContract, DueOrdersAreThePendingOnesWhoseTimeCame) {
  ASSERT_TRUE(store_->GrantPlan(Plan{0, 1001, "geotrust-dv-1-starter", 5, 1, std::nullopt}));
  ASSERT_TRUE(store_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100));
  EXPECT_EQ(store_->DueOrders(99, 10)->size(), 0u);
  EXPECT_EQ(store_->DueOrders(100, 10)->size(), 1u);
}

TEST_P(StoreContract, AuditFindsDrift) {
  ASSERT_TRUE(store_->GrantPlan(Plan{0, 1001, "geotrust-dv-1-starter", 5, 1, std::nullopt}));
  ASSERT_TRUE(store_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100));
  EXPECT_TRUE(store_->AuditCounters()->empty());
  Tamper("UPDATE package_usage SET used = 3");
  Result<std::vector<CounterDrift>> drift = store_->AuditCounters();
  ASSERT_TRUE(drift);
  ASSERT_EQ(drift->size(), 1u);
  EXPECT_EQ((*drift)[0].stored.used, 3);
  EXPECT_EQ((*drift)[0].recounted.used, 1);
}

TEST_P(StoreContract, UsersPoliciesAndAttachments) {
  ASSERT_TRUE(store_->CreateUser(User{1001, "ci", 1}));
  Status dup = store_->CreateUser(User{1001, "ci", 1});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kInvalidParameter);
  ASSERT_TRUE(store_->CreatePolicy(PolicyRecord{1001, "p", "{\"Version\":\"1\"}", 1}));
  ASSERT_TRUE(store_->AttachPolicy(1001, "ci", "p", false));
  ASSERT_TRUE(store_->AttachPolicy(1001, "ci", "AliyunYundunCertFullAccess", true));
  Status missing = store_->AttachPolicy(1001, "ci", "nope", false);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kInvalidParameter);
  auto attached = *store_->AttachedPolicies(1001, "ci");
  ASSERT_EQ(attached.size(), 2u);
  EXPECT_EQ(attached[0].first, "AliyunYundunCertFullAccess");
  EXPECT_EQ(attached[0].second, "");
  EXPECT_EQ(attached[1].second, "{\"Version\":\"1\"}");
  EXPECT_TRUE(*store_->DetachPolicy(1001, "ci", "p"));
  EXPECT_FALSE(*store_->DetachPolicy(1001, "ci", "p"));
  ASSERT_TRUE(store_->InsertAccessKey(AccessKey{"LTAIci", 1001, "ci", "s", true, 1}));
  ASSERT_TRUE(store_->DeleteUser(1001, "ci"));
  EXPECT_FALSE(*store_->FindAccessKey("LTAIci"));
  EXPECT_FALSE(*store_->UserExists(1001, "ci"));
  EXPECT_TRUE(store_->AttachedPolicies(1001, "ci")->empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContract, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace certplan::store
