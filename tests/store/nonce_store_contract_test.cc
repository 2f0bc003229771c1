// The contract of the nonce window behind auth::ReplayGuard, on both backends as cli/ wires
// them: on PostgreSQL the auth::NonceStore port (PostgresStore, shared by every node) behind
// auth::SharedReplayGuard; on SQLite — one node per file, no nonces table — the in-process
// auth::MemoryReplayGuard. The PostgreSQL-only batching under concurrency is
// tests/store/postgres_nonce_test.cc.
#include <memory>
#include <string>
#include <vector>

#include "auth/replay_guard.h"
#include "auth/shared_replay_guard.h"
#include "store/store_backends.h"

namespace certplan::store {
namespace {

class NonceStoreContract : public StoreBackendTest {
 protected:
  void SetUp() override {
    StoreBackendTest::SetUp();
    if (HasFatalFailure()) return;
    if (postgres_) {
      nonces_ = postgres_.get();
      guard_ = std::make_unique<auth::SharedReplayGuard>(*nonces_);
    } else {
      guard_ = std::make_unique<auth::MemoryReplayGuard>(1000);
    }
  }
  void TearDown() override {
    guard_.reset();
    StoreBackendTest::TearDown();
  }
  auth::NonceStore* nonces_ = nullptr;  // the port, where the backend has one
  std::unique_ptr<auth::ReplayGuard> guard_;
};

TEST_P(NonceStoreContract, ANonceIsUsedOncePerAccessKey) {
  EXPECT_TRUE(guard_->Remember("key", "n1", 2'000, 1'000));
  Status again = guard_->Remember("key", "n1", 2'000, 1'000);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kSignatureNonceUsed);
  EXPECT_TRUE(guard_->Remember("key", "n2", 2'000, 1'000));
  EXPECT_TRUE(guard_->Remember("other-key", "n1", 2'000, 1'000));
  if (nonces_) {  // the port itself answers as the guard over it does
    Status direct = nonces_->RememberNonce("key", "n2", 2'000, 1'000);
    ASSERT_FALSE(direct);
    EXPECT_EQ(direct.error().code, ErrorCode::kSignatureNonceUsed);
    EXPECT_TRUE(nonces_->RememberNonce("key", "n3", 2'000, 1'000));
  }
}

TEST_P(NonceStoreContract, ClientTextIsKeptExactly) {
  const std::vector<std::string> nonces = {R"(a"b)", R"(a\"b)", R"(c\d)", "{x,y}", "NULL",
                                           "",       "é",       " lead",  "lead"};
  for (const std::string& n : nonces) EXPECT_TRUE(guard_->Remember("key", n, 2'000, 1'000)) << n;
  for (const std::string& n : nonces) {
    Status again = guard_->Remember("key", n, 2'000, 1'000);
    ASSERT_FALSE(again) << n;
    EXPECT_EQ(again.error().code, ErrorCode::kSignatureNonceUsed);
  }
  EXPECT_TRUE(guard_->Remember("other-key", R"(a"b)", 2'000, 1'000));  // per AccessKey
}

TEST_P(NonceStoreContract, AnExpiredEntryIsTakenOverALiveOneIsNot) {
  EXPECT_TRUE(guard_->Remember("key", "n", 100, 50));
  EXPECT_FALSE(guard_->Remember("key", "n", 300, 99));
  EXPECT_TRUE(guard_->Remember("key", "n", 300, 101));
  EXPECT_FALSE(guard_->Remember("key", "n", 500, 299));
}

INSTANTIATE_TEST_SUITE_P(Backends, NonceStoreContract, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace certplan::store
