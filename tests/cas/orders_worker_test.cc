// The background worker's step (Orders::AdvanceDue) over a real SQLite store: every due order
// is moved in memory and the batch is stored in one transaction, where an order that moved
// meanwhile loses alone. The CA and the domain checks are fakes below their interfaces.
#include <functional>
#include <map>
#include <mutex>
#include <set>

#include <gtest/gtest.h>

#include "cas/orders.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/audit_for_test.h"
#include "testing/temp_dir.h"
#include "testing/test_certificate.h"

namespace certplan::cas {
namespace {

constexpr int64_t kAccount = 7;
constexpr const char* kCode = "geotrust-dv-1-starter";

using testing::StampingCa;

// Passes every name except those listed; runs `during` on each check (to race the worker).
class ScriptedChecker : public DomainChecker {
 public:
  Status Check(CheckMethod, std::string_view domain, std::string_view) override {
    if (during) during(std::string(domain));
    if (failing.count(std::string(domain))) return Error(ErrorCode::kInvalidParameter, "no TXT");
    return Ok{};
  }
  std::set<std::string> failing;
  std::function<void(const std::string&)> during;
};

class OrdersWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(*store::sqlite::SqliteStore::Open(dir_.File("db")));
    ASSERT_TRUE(store_->CreateAccount(kAccount, "acct", 0, testing::TestRecord()));
    ASSERT_TRUE(
        store_->GrantPlan(Plan{0, kAccount, kCode, 10, 0, std::nullopt}, testing::TestRecord()));
    box_ = std::move(*pki::SecretBox::Create(std::string(32, 'k')));
  }
  Orders MakeOrders(bool auto_approve) {
    OrderSettings settings;
    settings.auto_approve = auto_approve;
    return Orders(*store_, ca_, *box_, clock_, settings);
  }
  int64_t Create(Orders& orders, const std::string& domain) {
    Application a;
    a.product_code = kCode;
    a.domain = domain;
    Result<Order> o = orders.Apply(kAccount, a, testing::TestActor());
    EXPECT_TRUE(o) << o.error().message;
    return o ? o->id : 0;
  }
  OrderStatus StatusOf(Orders& orders, int64_t id) { return orders.Describe(kAccount, id)->status; }

  testing::TempDir dir_;
  FakeClock clock_{1'800'000'000};
  std::unique_ptr<store::sqlite::SqliteStore> store_;
  std::unique_ptr<pki::SecretBox> box_;
  StampingCa ca_;
  ScriptedChecker checker_;
};

// [limits] released_order_retention_days: an order cancelled with its unit back is kept that
// many days, then is NotFoundOrder; one cancelled later, and one that holds its unit, stay.
TEST_F(OrdersWorkerTest, ReleasedOrdersGoAfterTheirRetention) {
  Orders orders = MakeOrders(/*auto_approve=*/false);
  const int64_t old_one = Create(orders, "old.example.com");
  const int64_t recent = Create(orders, "recent.example.com");
  const int64_t held = Create(orders, "held.example.com");
  ASSERT_TRUE(orders.CancelForPackage(kAccount, old_one, testing::TestActor()));
  ASSERT_TRUE(orders.Cancel(kAccount, held, testing::TestActor()));  // PAYED: keeps the unit
  clock_.Advance(10 * 86400);
  ASSERT_TRUE(orders.CancelForPackage(kAccount, recent, testing::TestActor()));
  clock_.Advance(25 * 86400);  // 35 days after the first cancel, 25 after the second
  Result<int64_t> invalid = orders.PruneReleased(0);
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().code, ErrorCode::kInvalidParameter);
  Result<int64_t> pruned = orders.PruneReleased(30, /*batch=*/1);  // batches until done
  ASSERT_TRUE(pruned) << pruned.error().detail;
  EXPECT_EQ(*pruned, 1);
  Result<Order> gone = orders.Describe(kAccount, old_one);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFoundOrder);
  EXPECT_TRUE(orders.Describe(kAccount, recent));
  EXPECT_TRUE(orders.Describe(kAccount, held));
  EXPECT_EQ(*orders.PruneReleased(20), 1);  // the recent one is 25 days old now
  EXPECT_TRUE(orders.Describe(kAccount, held));
}

TEST_F(OrdersWorkerTest, AutoModeValidatesAndIssuesInOneStep) {
  Orders orders = MakeOrders(true);
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i)
    ids.push_back(Create(orders, "n" + std::to_string(i) + ".example.com"));
  Result<int> moved = orders.AdvanceDue(checker_, 32);
  ASSERT_TRUE(moved) << moved.error().message;
  EXPECT_EQ(*moved, 5);
  for (int64_t id : ids) {
    Result<Order> o = orders.Describe(kAccount, id);
    EXPECT_EQ(o->status, OrderStatus::kCertificate);
    EXPECT_EQ(o->certificate_pem, ca_.IssuedFor(o->domains.front()));
    EXPECT_FALSE(o->certificate_pem.empty());
    EXPECT_FALSE(o->sealed_private_key.empty());  // certplan made and sealed the key
  }
  EXPECT_EQ(ca_.keys_made, 5);
  PackageCounters c = *store_->GetPackageCounters(kAccount, kCode, clock_.NowSeconds());
  EXPECT_EQ(c.used, 5);
  EXPECT_EQ(c.issued, 5);
  EXPECT_TRUE(store_->AuditCounters()->empty());
  EXPECT_EQ(*orders.AdvanceDue(checker_, 32), 0);  // nothing is due any more
}

// Issue #12, fault 6: an order the CA refuses goes to verify_fail keeping the CA's reason (the
// worker also logs it with the OrderId), instead of a bare "refused".
TEST_F(OrdersWorkerTest, ARefusedIssuanceKeepsTheCasReason) {
  Orders orders = MakeOrders(true);
  ca_.refuse = "X509_NAME_add_entry_by_NID: string too long";
  const int64_t id = Create(orders, "refused.example.com");
  ASSERT_TRUE(orders.AdvanceDue(checker_, 32));
  Result<Order> o = orders.Describe(kAccount, id);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->status, OrderStatus::kVerifyFail);
  EXPECT_NE(o->failure_reason.find("the CA refused the request"), std::string::npos);
  EXPECT_NE(o->failure_reason.find("string too long"), std::string::npos) << o->failure_reason;
}

// Issue #14: auto mode on a node that issues stores an order with a CSR already issued — the
// order, its certificate and its repository entry in one transaction — and the worker has
// nothing left to do; the quota is taken as for any order. Without issue_at_once, or when the CA
// refuses, the order waits for the worker as before.
TEST_F(OrdersWorkerTest, IssueAtOnceStoresACsrOrderIssued) {
  OrderSettings settings;
  settings.auto_approve = true;
  settings.issue_at_once = true;
  Orders orders(*store_, ca_, *box_, clock_, settings);
  int woken = 0;
  orders.OnNewOrder([&] { ++woken; });
  ca_.csr_cn = "csr.example.com";
  Application a;
  a.origin = OrderOrigin::kWithCsr;
  a.product_code = kCode;
  a.csr_pem = "a CSR the fake CA reads as csr.example.com";
  Result<Order> o = orders.Apply(kAccount, a, testing::TestActor());
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->status, OrderStatus::kCertificate);
  EXPECT_EQ(o->certificate_pem, ca_.IssuedFor("csr.example.com"));
  Result<Order> stored = orders.Describe(kAccount, o->id);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->status, OrderStatus::kCertificate);
  EXPECT_EQ(stored->certificate_pem, o->certificate_pem);
  EXPECT_EQ(stored->serial_hex, o->serial_hex);
  EXPECT_TRUE(stored->counts_issued);
  Result<std::optional<Certificate>> entry = store_->FindCertificate(kAccount, o->id);
  ASSERT_TRUE(entry && *entry);
  EXPECT_EQ((*entry)->chain_pem, o->certificate_pem);
  EXPECT_EQ(woken, 0);
  EXPECT_EQ(*orders.AdvanceDue(checker_, 32), 0);
  PackageCounters c = *store_->GetPackageCounters(kAccount, kCode, clock_.NowSeconds());
  EXPECT_EQ(c.used, 1);
  EXPECT_EQ(c.issued, 1);
  EXPECT_TRUE(store_->AuditCounters()->empty());
  // Both records in the order's transaction: the call's, and the issuance's as the worker would
  // have recorded it.
  ops::AuditQuery q;
  q.account_id = kAccount;
  std::vector<std::string> trail;
  Result<std::vector<audit::Record>> records = store_->ReadAudit(q);
  ASSERT_TRUE(records);
  for (const audit::Record& r : *records) {
    if (r.object_id == std::to_string(o->id))
      trail.push_back(r.actor.principal + " " + r.actor.action);
  }
  EXPECT_EQ(trail, (std::vector<std::string>{
                       testing::TestActor().principal + " " + testing::TestActor().action,
                       "worker worker:issue"}));
  // The CA refuses: stored pending, the worker records the refusal.
  ca_.refuse = "no";
  Result<Order> refused = orders.Apply(kAccount, a, testing::TestActor());
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, OrderStatus::kDomainVerify);
  EXPECT_EQ(woken, 1);
  ASSERT_TRUE(orders.AdvanceDue(checker_, 32));
  EXPECT_EQ(StatusOf(orders, refused->id), OrderStatus::kVerifyFail);
  ca_.refuse.clear();
  // Not on a node that does not issue.
  Result<Order> later = MakeOrders(true).Apply(kAccount, a, testing::TestActor());
  ASSERT_TRUE(later);
  EXPECT_EQ(later->status, OrderStatus::kDomainVerify);
  EXPECT_TRUE(store_->AuditCounters()->empty());
}

TEST_F(OrdersWorkerTest, IssueAtOnceTakesTheQuotaLikeAnyOrder) {
  ASSERT_TRUE(store_->CreateAccount(8, "other", 0, testing::TestRecord()));
  ASSERT_TRUE(store_->GrantPlan(Plan{0, 8, kCode, 1, 0, std::nullopt}, testing::TestRecord()));
  OrderSettings settings;
  settings.auto_approve = true;
  settings.issue_at_once = true;
  Orders orders(*store_, ca_, *box_, clock_, settings);
  ca_.csr_cn = "csr.example.com";
  Application a;
  a.origin = OrderOrigin::kWithCsr;
  a.product_code = kCode;
  a.csr_pem = "csr";
  ASSERT_TRUE(orders.Apply(8, a, testing::TestActor()));
  Result<Order> none = orders.Apply(8, a, testing::TestActor());
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kNotRemainCount);
  a.product_code = "globalsign-dv-1-personal";  // never granted
  Result<Order> no_plan = orders.Apply(8, a, testing::TestActor());
  ASSERT_FALSE(no_plan);
  EXPECT_EQ(no_plan.error().code, ErrorCode::kNotFoundPackage);
  PackageCounters c = *store_->GetPackageCounters(8, kCode, clock_.NowSeconds());
  EXPECT_EQ(c.used, 1);
  EXPECT_EQ(c.issued, 1);
  EXPECT_TRUE(store_->AuditCounters()->empty());
}

TEST_F(OrdersWorkerTest, LiveModeIssuesWhatPassedAndBacksOffTheRest) {
  Orders orders = MakeOrders(false);
  const int64_t good = Create(orders, "good.example.com");
  const int64_t bad = Create(orders, "bad.example.com");
  checker_.failing = {"bad.example.com"};
  ASSERT_TRUE(orders.AdvanceDue(checker_, 32));
  EXPECT_EQ(StatusOf(orders, good), OrderStatus::kCertificate);
  Result<Order> waiting = orders.Describe(kAccount, bad);
  EXPECT_EQ(waiting->status, OrderStatus::kDomainVerify);
  EXPECT_EQ(waiting->attempts, 1);
  EXPECT_EQ(waiting->next_check_at, clock_.NowSeconds() + 10);
  EXPECT_EQ(waiting->failure_reason, "no TXT");
  EXPECT_EQ(*orders.AdvanceDue(checker_, 32), 0);  // not due again before its back-off
  clock_.Advance(10);
  checker_.failing.clear();
  EXPECT_EQ(*orders.AdvanceDue(checker_, 32), 1);
  EXPECT_EQ(StatusOf(orders, bad), OrderStatus::kCertificate);
  EXPECT_EQ(store_->GetPackageCounters(kAccount, kCode, clock_.NowSeconds())->issued, 2);
}

TEST_F(OrdersWorkerTest, AnOrderCancelledDuringTheBatchLosesAloneAndKeepsItsCounters) {
  Orders orders = MakeOrders(false);
  const int64_t first = Create(orders, "first.example.com");
  const int64_t raced = Create(orders, "raced.example.com");
  const int64_t last = Create(orders, "last.example.com");
  // The owner cancels while the worker is checking: the worker's step for it must not land.
  checker_.during = [&](const std::string& domain) {
    if (domain == "raced.example.com") {
      ASSERT_TRUE(orders.CancelForPackage(kAccount, raced, testing::TestActor()));
    }
  };
  Result<int> moved = orders.AdvanceDue(checker_, 32);
  ASSERT_TRUE(moved) << moved.error().message;  // a lost race is not an error
  EXPECT_EQ(StatusOf(orders, first), OrderStatus::kCertificate);
  EXPECT_EQ(StatusOf(orders, raced), OrderStatus::kCancelled);
  EXPECT_EQ(StatusOf(orders, last), OrderStatus::kCertificate);
  PackageCounters c = *store_->GetPackageCounters(kAccount, kCode, clock_.NowSeconds());
  EXPECT_EQ(c.used, 2);  // the cancelled application gave its unit back
  EXPECT_EQ(c.issued, 2);
  EXPECT_TRUE(store_->AuditCounters()->empty());
}

}  // namespace
}  // namespace certplan::cas
