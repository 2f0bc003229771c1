// The contract of ops::MetricsStore: what the scrape-time gauges and /readyz read, the latency
// observer. Runs over SQLite and PostgreSQL (tests/store/store_backends.h).
#include <atomic>

#include "store/store_backends.h"
#include "testing/audit_for_test.h"

namespace certplan::store {
namespace {

using MetricsStoreContract = StoreBackendTest;

constexpr int64_t kNow = 1'800'000'000;
constexpr int64_t kDay = 86'400;

int64_t CountOf(const std::vector<ops::StateCount>& states, std::string_view state) {
  for (const ops::StateCount& s : states) {
    if (s.state == state) return s.count;
  }
  return 0;
}

cas::Certificate Entry(int64_t account, std::string name, bool upload, int64_t not_after) {
  cas::Certificate c;
  c.account_id = account;
  c.name = std::move(name);
  c.upload = upload;
  c.chain_pem = "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n";
  c.common_name = "www.example.com";
  c.sans = {"www.example.com"};
  c.not_before = kNow - kDay;
  c.not_after = not_after;
  c.fingerprint = std::string(40, 'A');
  c.sha256 = std::string(64, 'B');
  c.serial = "00ff";
  c.algorithm = "ECC";
  c.key_bits = 256;
  c.created_at = kNow;
  return c;
}

TEST_P(MetricsStoreContract, PingAnswers) { EXPECT_TRUE(metrics_->Ping()); }

TEST_P(MetricsStoreContract, CountsOrdersByStateAcrossAccounts) {
  EXPECT_TRUE(metrics_->CountOrdersByState()->empty());
  ASSERT_TRUE(plans_->GrantPlan(cas::Plan{0, 1001, "geotrust-dv-1-starter", 5, 1, std::nullopt},
                                testing::TestRecord()));
  ASSERT_TRUE(plans_->GrantPlan(cas::Plan{0, 2002, "geotrust-dv-1-starter", 5, 1, std::nullopt},
                                testing::TestRecord()));
  Result<cas::Order> a =
      orders_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100, testing::TestRecord());
  ASSERT_TRUE(
      orders_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100, testing::TestRecord()));
  ASSERT_TRUE(
      orders_->CreateOrder(NewOrder(2002, "geotrust-dv-1-starter"), 100, testing::TestRecord()));
  ASSERT_TRUE(a);
  Result<cas::Transition> passed = cas::ValidationPassed(*a, 200);
  ASSERT_TRUE(orders_->ApplyTransition(*passed, cas::OrderStatus::kDomainVerify));
  Result<std::vector<ops::StateCount>> states = metrics_->CountOrdersByState();
  ASSERT_TRUE(states);
  EXPECT_EQ(CountOf(*states, "domain_verify"), 2);
  EXPECT_EQ(CountOf(*states, "process"), 1);
  EXPECT_EQ(states->size(), 2u);
}

TEST_P(MetricsStoreContract, PlanUnitsSumPlansInForceAndCounters) {
  ASSERT_TRUE(plans_->GrantPlan(cas::Plan{0, 1001, "geotrust-dv-1-starter", 5, 1, std::nullopt},
                                testing::TestRecord()));
  ASSERT_TRUE(plans_->GrantPlan(cas::Plan{0, 1001, "geotrust-dv-1-starter", 3, 1, kNow + kDay},
                                testing::TestRecord()));
  ASSERT_TRUE(plans_->GrantPlan(cas::Plan{0, 1001, "geotrust-dv-1-starter", 7, 1, kNow - 1},
                                testing::TestRecord()));
  ASSERT_TRUE(plans_->GrantPlan(cas::Plan{0, 2002, "geotrust-dv-1-starter", 2, 1, std::nullopt},
                                testing::TestRecord()));
  ASSERT_TRUE(plans_->GrantPlan(cas::Plan{0, 2002, "digicert-free-1-free", 4, 1, std::nullopt},
                                testing::TestRecord()));
  ASSERT_TRUE(
      orders_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100, testing::TestRecord()));
  ASSERT_TRUE(
      orders_->CreateOrder(NewOrder(2002, "geotrust-dv-1-starter"), 100, testing::TestRecord()));

  Result<std::vector<ops::PlanUnits>> total = metrics_->CountPlanUnits(kNow, false);
  ASSERT_TRUE(total);
  ASSERT_EQ(total->size(), 2u);  // by ProductCode, ordered
  EXPECT_EQ((*total)[0].product_code, "digicert-free-1-free");
  EXPECT_EQ((*total)[0].granted, 4);
  EXPECT_EQ((*total)[0].used, 0);
  EXPECT_EQ((*total)[1].product_code, "geotrust-dv-1-starter");
  EXPECT_EQ((*total)[1].account_id, 0);
  EXPECT_EQ((*total)[1].granted, 10);  // 5 + 3 in force + 2; the expired 7 is not
  EXPECT_EQ((*total)[1].used, 2);
  EXPECT_EQ((*total)[1].issued, 0);

  Result<std::vector<ops::PlanUnits>> per = metrics_->CountPlanUnits(kNow, true);
  ASSERT_TRUE(per);
  ASSERT_EQ(per->size(), 3u);
  EXPECT_EQ((*per)[0].account_id, 1001);
  EXPECT_EQ((*per)[0].granted, 8);
  EXPECT_EQ((*per)[0].used, 1);
  EXPECT_EQ((*per)[1].account_id, 2002);
  EXPECT_EQ((*per)[1].product_code, "digicert-free-1-free");
  EXPECT_EQ((*per)[2].granted, 2);
}

TEST_P(MetricsStoreContract, SoonestExpirySkipsExpiredAndRevokedBySource) {
  Result<ops::SoonestExpiry> none = metrics_->FindSoonestExpiry(kNow);
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->issued);
  EXPECT_FALSE(none->uploaded);
  ASSERT_TRUE(certificates_->InsertUpload(Entry(1001, "later", true, kNow + 90 * kDay),
                                          testing::TestRecord(), 10));
  ASSERT_TRUE(certificates_->InsertUpload(Entry(2002, "soon", true, kNow + 10 * kDay),
                                          testing::TestRecord(), 10));
  ASSERT_TRUE(certificates_->InsertUpload(Entry(1001, "gone", true, kNow - kDay),
                                          testing::TestRecord(), 10));
  // An issued entry, then revoked: it no longer counts.
  ASSERT_TRUE(plans_->GrantPlan(cas::Plan{0, 1001, "geotrust-dv-1-starter", 2, 1, std::nullopt},
                                testing::TestRecord()));
  auto issue = [&](int64_t not_after) -> cas::Order {
    Result<cas::Order> order =
        orders_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100, testing::TestRecord());
    EXPECT_TRUE(order);
    Result<cas::Transition> passed = cas::ValidationPassed(*order, 200);
    EXPECT_TRUE(orders_->ApplyTransition(*passed, cas::OrderStatus::kDomainVerify));
    cas::Order signed_order = passed->order;
    signed_order.not_before = kNow;
    signed_order.not_after = not_after;
    Result<cas::Transition> issued = cas::Issued(signed_order, kNow);
    cas::Certificate entry = Entry(1001, "cert-" + std::to_string(order->id), false, not_after);
    entry.id = entry.order_id = order->id;
    entry.instance_id = "cas-" + std::to_string(order->id);
    issued->certificate = entry;
    EXPECT_TRUE(orders_->ApplyTransition(*issued, cas::OrderStatus::kProcess));
    return issued->order;
  };
  const cas::Order soon = issue(kNow + 5 * kDay);
  issue(kNow + 30 * kDay);
  Result<ops::SoonestExpiry> found = metrics_->FindSoonestExpiry(kNow);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->uploaded, kNow + 10 * kDay);
  EXPECT_EQ(found->issued, kNow + 5 * kDay);
  Result<cas::Transition> revoke = cas::CancelForPackage(soon, kNow + kDay);
  ASSERT_TRUE(revoke);
  ASSERT_TRUE(orders_->ApplyTransition(*revoke, cas::OrderStatus::kCertificate));
  EXPECT_EQ(metrics_->FindSoonestExpiry(kNow)->issued, kNow + 30 * kDay);
  EXPECT_FALSE(metrics_->FindSoonestExpiry(kNow + 100 * kDay)->uploaded);
}

class CountingObserver final : public ops::StoreLatencyObserver {
 public:
  std::atomic<int> connection{0}, group_commit{0};
  void OnStoreOperation(Path path, int64_t nanoseconds) override {
    EXPECT_GE(nanoseconds, 0);
    (path == Path::kConnection ? connection : group_commit)++;
  }
};

TEST_P(MetricsStoreContract, LatencyObserverSeesEveryOperation) {
  CountingObserver observer;
  if (sqlite_) sqlite_->SetLatencyObserver(&observer);
  if (postgres_) postgres_->SetLatencyObserver(&observer);
  ASSERT_TRUE(metrics_->Ping());
  EXPECT_EQ(observer.connection.load(), 1);
  ASSERT_TRUE(plans_->GrantPlan(cas::Plan{0, 1001, "geotrust-dv-1-starter", 2, 1, std::nullopt},
                                testing::TestRecord()));
  ASSERT_TRUE(
      orders_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100, testing::TestRecord()));
  // SQLite writes the order through its group commit; PostgreSQL on a pooled connection.
  EXPECT_EQ(observer.connection + observer.group_commit, 3);
  EXPECT_EQ(observer.group_commit.load(), sqlite_ ? 1 : 0);
  if (sqlite_) sqlite_->SetLatencyObserver(nullptr);
  if (postgres_) postgres_->SetLatencyObserver(nullptr);
}

INSTANTIATE_TEST_SUITE_P(Backends, MetricsStoreContract, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace certplan::store
