// The order worker's thread (worker::OrderWorker) over a real SQLite store: it works what is due
// when started, a new order wakes it at once (however long its poll), and Stop() finishes the
// round in hand before it joins. The CA and the domain checks are fakes below their interfaces;
// every wait is for a signal from the checker, bounded by a deadline.
#include "worker/order_worker.h"

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "store/sqlite/sqlite_store.h"
#include "testing/audit_for_test.h"
#include "testing/temp_dir.h"
#include "testing/test_certificate.h"

namespace certplan::worker {
namespace {

constexpr int64_t kAccount = 7;
constexpr const char* kCode = "geotrust-dv-1-starter";
constexpr auto kDeadline = std::chrono::seconds(20);

using testing::StampingCa;

// Records every name it is asked about (and refuses those listed); WaitFor() blocks until a
// name was checked or the deadline passed.
class SignallingChecker : public cas::DomainChecker {
 public:
  Status Check(cas::CheckMethod, std::string_view domain, std::string_view) override {
    std::scoped_lock lock(mu_);
    checked_.insert(std::string(domain));
    cv_.notify_all();
    if (failing_.count(std::string(domain))) return Error(ErrorCode::kInvalidParameter, "no TXT");
    return Ok{};
  }
  bool WaitFor(const std::string& domain) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kDeadline, [&] { return checked_.count(domain) > 0; });
  }
  void Fail(const std::string& domain) {
    std::scoped_lock lock(mu_);
    failing_.insert(domain);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::string> checked_;  // guarded by mu_
  std::set<std::string> failing_;  // guarded by mu_
};

class OrderWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<store::sqlite::SqliteStore>> s =
        store::sqlite::SqliteStore::Open(dir_.File("db"));
    ASSERT_TRUE(s) << s.error().detail;
    store_ = std::move(*s);
    ASSERT_TRUE(store_->CreateAccount(kAccount, "acct", 0, testing::TestRecord()));
    ASSERT_TRUE(store_->GrantPlan(cas::Plan{0, kAccount, kCode, 10, 0, std::nullopt},
                                  testing::TestRecord()));
    box_ = std::move(*pki::SecretBox::Create(std::string(32, 'k')));
    orders_ = std::make_unique<cas::Orders>(*store_, ca_, *box_, clock_, cas::OrderSettings{});
  }
  int64_t Create(const std::string& domain) {
    cas::Application a;
    a.product_code = kCode;
    a.domain = domain;
    Result<cas::Order> o = orders_->Apply(kAccount, a, testing::TestActor());
    EXPECT_TRUE(o) << o.error().message;
    return o ? o->id : 0;
  }
  cas::Order Describe(int64_t id) { return *orders_->Describe(kAccount, id); }

  testing::TempDir dir_;
  FakeClock clock_{1'800'000'000};
  std::unique_ptr<store::sqlite::SqliteStore> store_;
  std::unique_ptr<pki::SecretBox> box_;
  StampingCa ca_;
  SignallingChecker checker_;
  std::unique_ptr<cas::Orders> orders_;
};

TEST_F(OrderWorkerTest, WorksWhatIsDueAtStartAndStopFinishesTheRound) {
  const int64_t good = Create("good.example.com");
  const int64_t bad = Create("bad.example.com");
  checker_.Fail("bad.example.com");
  OrderWorker worker(*orders_, checker_, std::chrono::hours(1));
  worker.Start();
  ASSERT_TRUE(checker_.WaitFor("good.example.com"));
  ASSERT_TRUE(checker_.WaitFor("bad.example.com"));
  worker.Stop();  // the round in hand is stored before Stop() returns
  EXPECT_EQ(Describe(good).status, cas::OrderStatus::kCertificate);
  EXPECT_EQ(Describe(good).certificate_pem, ca_.IssuedFor("good.example.com"));
  const cas::Order waiting = Describe(bad);
  EXPECT_EQ(waiting.status, cas::OrderStatus::kDomainVerify);
  EXPECT_EQ(waiting.attempts, 1);
  EXPECT_EQ(waiting.failure_reason, "no TXT");
  EXPECT_EQ(store_->GetPackageCounters(kAccount, kCode, clock_.NowSeconds())->issued, 1);
}

TEST_F(OrderWorkerTest, ANewOrderWakesTheWorkerBeforeItsPoll) {
  const int64_t first = Create("first.example.com");
  OrderWorker worker(*orders_, checker_, std::chrono::hours(1));
  orders_->OnNewOrder([&worker] { worker.Wake(); });
  worker.Start();
  ASSERT_TRUE(checker_.WaitFor("first.example.com"));
  // The first round is done or finishing; without the wake-up the next would come in an hour.
  const int64_t second = Create("second.example.com");
  ASSERT_TRUE(checker_.WaitFor("second.example.com"));
  worker.Stop();
  EXPECT_EQ(Describe(first).status, cas::OrderStatus::kCertificate);
  EXPECT_EQ(Describe(second).status, cas::OrderStatus::kCertificate);
  EXPECT_TRUE(store_->AuditCounters()->empty());
}

TEST_F(OrderWorkerTest, StopWithNothingToDoJoinsAndStopTwiceIsHarmless) {
  OrderWorker worker(*orders_, checker_, std::chrono::hours(1));
  worker.Start();
  const auto start = std::chrono::steady_clock::now();
  worker.Stop();
  worker.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, kDeadline);  // not the hour-long poll
}

}  // namespace
}  // namespace certplan::worker
