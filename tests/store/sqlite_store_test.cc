// What only the SQLite store has: its file, its pool under concurrency, its errors. The behaviour
// every store shares is in the port contract suites (tests/store/*_contract_test.cc).
#include "store/sqlite/sqlite_store.h"

#include <sys/stat.h>

#include <thread>

#include <gtest/gtest.h>

#include "testing/audit_for_test.h"
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

TEST_F(SqliteStoreTest, KeyForMissingAccountIsRefused) {
  iam::AccessKey key{"LTAIabc", 4242, "", "x", true, 5};
  Status s = store_->InsertAccessKey(key, nullptr);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kInternal);
}

TEST_F(SqliteStoreTest, ReopeningKeepsDataAndSchema) {
  ASSERT_TRUE(store_->CreateAccount(1001, "team-a", 100, testing::TestRecord()));
  store_.reset();
  Result<std::unique_ptr<SqliteStore>> again = SqliteStore::Open(dir_.File("certplan.db"));
  ASSERT_TRUE(again);
  EXPECT_TRUE(*(*again)->FindAccount(1001));
}

TEST_F(SqliteStoreTest, ConcurrentReadersAndWriters) {
  ASSERT_TRUE(store_->CreateAccount(1001, "team-a", 100, testing::TestRecord()));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        ASSERT_TRUE(
            store_->GrantPlan(cas::Plan{0, 1001, "digicert-free-1-free", 1, 100, std::nullopt},
                              testing::TestRecord()));
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
