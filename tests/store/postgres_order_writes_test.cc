// PostgreSQL's Create* writes (issue #14): each claims the request's pending nonce in its own
// statement, concurrent writes share one pipelined transaction, and the counters are updated once
// per batch. Replay protection, quota and the counters stay exact: a used nonce writes nothing, a
// write refused for quota still uses its nonce, UsedCount never passes TotalCount, and a write
// that fails takes nothing of its batch with it. Each order's audit record lands with it. Needs
// CERTPLAN_TEST_PG_URL; fails without it.
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "auth/pending_nonce.h"
#include "core/audit.h"
#include "store/store_backends.h"

namespace certplan::store {
namespace {

class PostgresOrderWrites : public StoreBackendTest {
 protected:
  int64_t OrderCount() { return orders_->ListOrders(1001, cas::OrderQuery{})->total; }
};

constexpr const char* kProduct = "geotrust-dv-1-starter";

// CreateOrder as the gateway runs it for a Create* whose nonce the write claims.
Result<cas::Order> CreateWithNonce(cas::OrderStore& orders, cas::Order order,
                                   const std::string& nonce) {
  auth::PendingNonce pending(auth::PendingNonce::Claim{"key", nonce, 2'000'000'000, 100});
  // The record cas::Orders hands the store: the order's id is filled in by the write.
  const audit::Record record = audit::Succeeded(
      testing::TestActor("CreateCertificateForPackageRequest"), 100, 1001, "OrderId");
  Result<cas::Order> made = orders.CreateOrder(std::move(order), 100, record);
  EXPECT_TRUE(pending.taken());  // the write answered for the nonce, whatever it answered
  return made;
}

TEST_P(PostgresOrderWrites, TheWriteClaimsTheNonceAndAReplayWritesNothing) {
  ASSERT_TRUE(postgres_->ClaimsPendingNonces());
  ASSERT_TRUE(plans_->GrantPlan(cas::Plan{0, 1001, kProduct, 10, 1, std::nullopt},
                                testing::TestRecord(1001)));
  Result<cas::Order> first = CreateWithNonce(*orders_, NewOrder(1001, kProduct), "n1");
  ASSERT_TRUE(first) << first.error().detail;
  // The nonce is used: on its own …
  Status direct = postgres_->RememberNonce("key", "n1", 2'000'000'000, 100);
  ASSERT_FALSE(direct);
  EXPECT_EQ(direct.error().code, ErrorCode::kSignatureNonceUsed);
  // … and by another write, which then takes no quota and inserts no order.
  Result<cas::Order> replay = CreateWithNonce(*orders_, NewOrder(1001, kProduct), "n1");
  ASSERT_FALSE(replay);
  EXPECT_EQ(replay.error().code, ErrorCode::kSignatureNonceUsed);
  // A nonce claimed on its own first is refused to a write too.
  ASSERT_TRUE(postgres_->RememberNonce("key", "n2", 2'000'000'000, 100));
  Result<cas::Order> after = CreateWithNonce(*orders_, NewOrder(1001, kProduct), "n2");
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code, ErrorCode::kSignatureNonceUsed);
  EXPECT_EQ(plans_->GetPackageCounters(1001, kProduct, 100)->used, 1);
  EXPECT_EQ(OrderCount(), 1);
  EXPECT_TRUE(audit_->AuditCounters()->empty());
  // Without a pending nonce (the worker, ACME), a write claims none.
  ASSERT_TRUE(orders_->CreateOrder(NewOrder(1001, kProduct), 100, testing::TestRecord(1001)));
  EXPECT_EQ(plans_->GetPackageCounters(1001, kProduct, 100)->used, 2);
}

// An order issued at once (auto mode, a CSR: cas::Orders::StoreIssued) is a Create* too: its
// write claims the request's nonce in its transaction, so a replay issues nothing and takes no
// unit. A write that fails leaves the nonce to whoever answers next (the pending order write the
// caller falls back to, or the gateway), so it is never left unclaimed.
TEST_P(PostgresOrderWrites, AnOrderIssuedAtOnceClaimsTheNonceInItsTransaction) {
  ASSERT_TRUE(plans_->GrantPlan(cas::Plan{0, 1001, kProduct, 2, 1, std::nullopt},
                                testing::TestRecord(1001)));
  auto issued = [](int64_t id) {
    cas::Order o = NewOrder(1001, kProduct);
    o.id = id;
    cas::Order next = cas::ValidationPassed(o, 100)->order;
    next.certificate_pem = "-----BEGIN CERTIFICATE-----\nLEAF\n-----END CERTIFICATE-----\n";
    next.chain_pem = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n";
    next.serial_hex = "0c";
    next.not_after = 100 + 86400;
    return *cas::Issued(next, 100);
  };
  const audit::Record record =
      audit::Succeeded(testing::TestActor("CreateCertificateRequest"), 100, 1001, "OrderId");
  auto create = [&](const cas::Transition& t, const std::string& nonce, bool& taken) {
    auth::PendingNonce pending(auth::PendingNonce::Claim{"key", nonce, 2'000'000'000, 100});
    Status s = orders_->CreateIssuedOrder(t, 100, record);
    taken = pending.taken();
    return s;
  };
  bool taken = false;
  const cas::Transition first = issued(cas::NewOrderId());
  ASSERT_TRUE(create(first, "i1", taken));
  EXPECT_TRUE(taken);
  Status direct = postgres_->RememberNonce("key", "i1", 2'000'000'000, 100);
  ASSERT_FALSE(direct);
  EXPECT_EQ(direct.error().code, ErrorCode::kSignatureNonceUsed);
  // The replay: refused, nothing issued, no unit taken.
  const cas::Transition replay = issued(cas::NewOrderId());
  Status replayed = create(replay, "i1", taken);
  ASSERT_FALSE(replayed);
  EXPECT_EQ(replayed.error().code, ErrorCode::kSignatureNonceUsed);
  EXPECT_FALSE(*orders_->FindOrder(1001, replay.order.id));
  EXPECT_EQ(plans_->GetPackageCounters(1001, kProduct, 100)->used, 1);
  // A write that fails (its id taken) claims nothing: the nonce is still the caller's to claim.
  Status clash = create(issued(first.order.id), "i2", taken);
  ASSERT_FALSE(clash);
  EXPECT_FALSE(taken);
  ASSERT_TRUE(postgres_->RememberNonce("key", "i2", 2'000'000'000, 100));
  EXPECT_EQ(plans_->GetPackageCounters(1001, kProduct, 100)->used, 1);
  EXPECT_EQ(OrderCount(), 1);
}

TEST_P(PostgresOrderWrites, AWriteRefusedForQuotaStillUsesItsNonce) {
  Result<cas::Order> none = CreateWithNonce(*orders_, NewOrder(1001, kProduct), "n1");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kNotFoundPackage);
  ASSERT_TRUE(plans_->GrantPlan(cas::Plan{0, 1001, kProduct, 1, 1, std::nullopt},
                                testing::TestRecord(1001)));
  ASSERT_TRUE(CreateWithNonce(*orders_, NewOrder(1001, kProduct), "n2"));
  Result<cas::Order> spent = CreateWithNonce(*orders_, NewOrder(1001, kProduct), "n3");
  ASSERT_FALSE(spent);
  EXPECT_EQ(spent.error().code, ErrorCode::kNotRemainCount);
  for (const char* nonce : {"n1", "n3"}) {
    Status again = postgres_->RememberNonce("key", nonce, 2'000'000'000, 100);
    ASSERT_FALSE(again) << nonce;
    EXPECT_EQ(again.error().code, ErrorCode::kSignatureNonceUsed);
  }
  EXPECT_EQ(plans_->GetPackageCounters(1001, kProduct, 100)->used, 1);
}

// Many writers at once, each nonce sent by two of them, fewer units than nonces: every nonce
// makes at most one order, every order took one unit, and the counters match the orders.
TEST_P(PostgresOrderWrites, ConcurrentWritesKeepNoncesQuotaAndCountersExact) {
  constexpr int kThreads = 32, kEach = 20, kUnits = 250;
  ASSERT_TRUE(plans_->GrantPlan(cas::Plan{0, 1001, kProduct, kUnits, 1, std::nullopt},
                                testing::TestRecord(1001)));
  std::mutex mu;
  std::map<std::string, int> made_by_nonce;
  std::atomic<int> made{0}, replays{0}, no_quota{0}, other{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < kThreads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::string nonce = "n-" + std::to_string(t / 2) + "-" + std::to_string(i);
        Result<cas::Order> r = CreateWithNonce(*orders_, NewOrder(1001, kProduct), nonce);
        if (r) {
          ++made;
          std::scoped_lock lock(mu);
          ++made_by_nonce[nonce];
        } else if (r.error().code == ErrorCode::kSignatureNonceUsed) {
          ++replays;
        } else if (r.error().code == ErrorCode::kNotRemainCount) {
          ++no_quota;
        } else {
          ++other;
        }
      }
    });
  }
  for (std::thread& th : pool) th.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(made.load(), kUnits);  // 320 distinct nonces, 250 units
  EXPECT_EQ(made.load() + replays.load() + no_quota.load(), kThreads * kEach);
  EXPECT_GE(replays.load(), kThreads * kEach / 2);  // each nonce's second sender at least
  for (const auto& [nonce, n] : made_by_nonce) EXPECT_EQ(n, 1) << nonce;
  EXPECT_EQ(plans_->GetPackageCounters(1001, kProduct, 100)->used, kUnits);
  EXPECT_EQ(OrderCount(), kUnits);
  Result<std::vector<cas::CounterDrift>> drift = audit_->AuditCounters();
  ASSERT_TRUE(drift);
  EXPECT_TRUE(drift->empty());  // Every order was recorded in the audit trail by its own statement.
  Result<std::vector<int64_t>> unrecorded = audit_log_->OrdersWithoutCreationRecord(1000);
  ASSERT_TRUE(unrecorded);
  EXPECT_TRUE(unrecorded->empty());
}

// A write the database refuses (text that is not UTF-8) fails alone: the batch it shared is run
// again without it, and the others land. Its nonce is still used.
TEST_P(PostgresOrderWrites, AFailingWriteFailsAloneTheOthersLand) {
  ASSERT_TRUE(plans_->GrantPlan(cas::Plan{0, 1001, kProduct, 1000, 1, std::nullopt},
                                testing::TestRecord(1001)));
  constexpr int kThreads = 16, kEach = 10;
  std::atomic<int> made{0}, bad_refused{0}, wrong{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < kThreads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const bool bad = i % 5 == 2;
        cas::Order order = NewOrder(1001, kProduct);
        if (bad) order.domains = {"\xff\xfe.example.com"};
        const std::string nonce = "f-" + std::to_string(t) + "-" + std::to_string(i);
        Result<cas::Order> r = CreateWithNonce(*orders_, std::move(order), nonce);
        if (bad) {
          if (!r && r.error().code == ErrorCode::kInternal) {
            ++bad_refused;
          } else {
            ++wrong;
          }
        } else if (r) {
          ++made;
        } else {
          ++wrong;
        }
      }
    });
  }
  for (std::thread& th : pool) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(bad_refused.load(), kThreads * kEach / 5);
  EXPECT_EQ(made.load(), kThreads * kEach * 4 / 5);
  EXPECT_EQ(plans_->GetPackageCounters(1001, kProduct, 100)->used, made.load());
  EXPECT_EQ(OrderCount(), made.load());
  EXPECT_TRUE(audit_->AuditCounters()->empty());
  EXPECT_TRUE(audit_log_->OrdersWithoutCreationRecord(1000)->empty());
  // A refused write wrote nothing, but its nonce is used: sent again, it is a replay.
  Status again = postgres_->RememberNonce("key", "f-0-2", 2'000'000'000, 100);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kSignatureNonceUsed);
  cas::Order bad = NewOrder(1001, kProduct);
  bad.domains = {"\xff\xfe.example.com"};
  Result<cas::Order> replay = CreateWithNonce(*orders_, bad, "f-0-7");
  ASSERT_FALSE(replay);
  EXPECT_EQ(replay.error().code, ErrorCode::kSignatureNonceUsed);
}

INSTANTIATE_TEST_SUITE_P(Backends, PostgresOrderWrites, ::testing::Values("postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace certplan::store
