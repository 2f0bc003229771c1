// The shared nonce window on PostgreSQL (auth::SharedReplayGuard over PostgresStore), whose claims
// from concurrent requests are combined into one statement: every claim still gets its own, exact
// answer. The contract every backend keeps (replays, exact client text, expiry) is
// tests/store/nonce_store_contract_test.cc. Needs CERTPLAN_TEST_PG_URL (scripts/test.sh starts a
// server); fails without it.
#include <atomic>
#include <cstdlib>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "auth/shared_replay_guard.h"
#include "store/postgres/postgres_store.h"

namespace certplan::store::postgres {
namespace {

class PostgresNonces : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* admin = std::getenv("CERTPLAN_TEST_PG_URL");
    ASSERT_TRUE(admin && *admin) << "CERTPLAN_TEST_PG_URL must name a PostgreSQL server";
    admin_url_ = admin;
    std::random_device rd;
    db_ = "certplan_nonces_" + std::to_string(rd() % 1000000000);
    Result<std::unique_ptr<PgConnection>> conn = PgConnection::Open(admin_url_);
    ASSERT_TRUE(conn) << conn.error().detail;
    ASSERT_TRUE((*conn)->Exec("CREATE DATABASE " + db_));
    Result<std::unique_ptr<PostgresStore>> s =
        PostgresStore::Open(admin_url_.substr(0, admin_url_.rfind('/')) + "/" + db_);
    ASSERT_TRUE(s) << s.error().detail;
    store_ = std::move(*s);
    guard_ = std::make_unique<auth::SharedReplayGuard>(*store_);
  }
  void TearDown() override {
    guard_.reset();
    store_.reset();
    Result<std::unique_ptr<PgConnection>> conn = PgConnection::Open(admin_url_);
    if (conn) (void)(*conn)->Exec("DROP DATABASE IF EXISTS " + db_ + " WITH (FORCE)");
  }
  // Runs `claim(thread, i)` for i < per_thread on `threads` threads at once; counts the Ok ones
  // and checks every refusal is a replay.
  int Burst(int threads, int per_thread, const std::function<Status(int, int)>& claim) {
    std::atomic<int> ok{0}, other{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        for (int i = 0; i < per_thread; ++i) {
          Status s = claim(t, i);
          if (s) {
            ++ok;
          } else if (s.error().code != ErrorCode::kSignatureNonceUsed) {
            ++other;
          }
        }
      });
    }
    for (std::thread& th : pool) th.join();
    EXPECT_EQ(other.load(), 0);
    return ok.load();
  }

  std::string admin_url_, db_;
  std::unique_ptr<PostgresStore> store_;
  std::unique_ptr<auth::SharedReplayGuard> guard_;
};

TEST_F(PostgresNonces, ConcurrentDistinctNoncesAllPassOnceThenAllReplay) {
  auto claim = [&](int t, int i) {
    return guard_->Remember("key", "n-" + std::to_string(t) + "-" + std::to_string(i),
                            2'000'000'000, 1'000);
  };
  EXPECT_EQ(Burst(64, 40, claim), 64 * 40);
  EXPECT_EQ(Burst(64, 40, claim), 0);
}

TEST_F(PostgresNonces, OneNonceRacedByManyPassesExactlyOnce) {
  for (int round = 0; round < 20; ++round) {
    const std::string nonce = "raced-" + std::to_string(round);
    EXPECT_EQ(Burst(32, 1, [&](int, int) { return guard_->Remember("key", nonce, 2'000, 1'000); }),
              1)
        << "round " << round;
  }
}

}  // namespace
}  // namespace certplan::store::postgres
