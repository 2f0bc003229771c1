// ListUserCertificateOrder's paging over a real SQLite store: CurrentPage takes any int64 from
// 1 and a page past the end is empty — never a wrapped-around earlier page (issue #12, fault 5);
// ShowSize takes 1…1000 (issue #11). The CA is a fake below its interface (nothing is issued).
#include <gtest/gtest.h>

#include "api/order_actions.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/audit_for_test.h"
#include "testing/temp_dir.h"

namespace certplan::api {
namespace {

constexpr int64_t kAccount = 7;
constexpr const char* kCode = "geotrust-dv-1-starter";

class NoCa : public pki::Authority {
 public:
  Result<pki::CsrFacts> InspectCsr(const std::string&) const override { return pki::CsrFacts{}; }
  Result<pki::CsrFacts> InspectCsrNamesInSan(const std::string&) const override {
    return pki::CsrFacts{};
  }
  Result<pki::GeneratedKey> GenerateKey() const override { return InternalError("unused"); }
  Result<pki::IssuedCertificate> Issue(const pki::IssueRequest&) const override {
    return InternalError("unused");
  }
  const std::string& root_pem() const override { return root_; }
  std::string root_;
};

class ListUserCertificateOrderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(*store::sqlite::SqliteStore::Open(dir_.File("db")));
    ASSERT_TRUE(store_->CreateAccount(kAccount, "acct", 0, testing::TestRecord()));
    ASSERT_TRUE(store_->GrantPlan(cas::Plan{0, kAccount, kCode, 10, 0, std::nullopt},
                                  testing::TestRecord()));
    box_ = std::move(*pki::SecretBox::Create(std::string(32, 'k')));
    orders_ = std::make_unique<cas::Orders>(*store_, ca_, *box_, clock_, cas::OrderSettings{});
    plans_ = std::make_unique<cas::Plans>(*store_, clock_);
    for (int i = 0; i < 5; ++i) {
      cas::Application a;
      a.product_code = kCode;
      a.domain = "n" + std::to_string(i) + ".example.com";
      ASSERT_TRUE(orders_->Apply(kAccount, a, testing::TestActor()));
    }
  }
  Result<rpc::Reply> List(const std::string& query) {
    Result<rpc::Params> params = rpc::Params::Decode(query, "");
    EXPECT_TRUE(params);
    cas::Certificates certificates(*store_, *store_, *box_, clock_);
    Services services{*plans_, *orders_, certificates};
    iam::Principal principal{kAccount, "", "AK"};
    const audit::Actor actor = testing::TestActor();
    Context ctx{principal, "req", clock_, services, actor};
    return ListUserCertificateOrder(ctx, *params);
  }
  void ExpectInvalid(const std::string& query, const std::string& name) {
    Result<rpc::Reply> r = List(query);
    ASSERT_FALSE(r) << query;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter) << query;
    EXPECT_NE(r.error().message.find(name), std::string::npos) << r.error().message;
  }

  testing::TempDir dir_;
  FakeClock clock_{1'800'000'000};
  std::unique_ptr<store::sqlite::SqliteStore> store_;
  std::unique_ptr<pki::SecretBox> box_;
  NoCa ca_;
  std::unique_ptr<cas::Orders> orders_;
  std::unique_ptr<cas::Plans> plans_;
};

TEST_F(ListUserCertificateOrderTest, PagesThroughTheList) {
  Result<rpc::Reply> page = List("CurrentPage=2&ShowSize=2");
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_EQ((*page)["CertificateOrderList"].size(), 2u);
  EXPECT_EQ((*page)["TotalCount"], 5);
  EXPECT_EQ((*page)["CurrentPage"], 2);
  page = List("CurrentPage=3&ShowSize=2");
  EXPECT_EQ((*page)["CertificateOrderList"].size(), 1u);
  page = List("CurrentPage=4&ShowSize=2");
  EXPECT_EQ((*page)["CertificateOrderList"].size(), 0u);
  EXPECT_EQ((*page)["TotalCount"], 5);
}

// The issue's inputs: the first overflowed (ASan abort), the second wrapped to page 1.
TEST_F(ListUserCertificateOrderTest, AHugePageIsEmptyNeverAWrap) {
  for (const char* query :
       {"CurrentPage=184467440737095517&ShowSize=100", "CurrentPage=4611686018427387905&ShowSize=4",
        "CurrentPage=9223372036854775807&ShowSize=1000",
        "CurrentPage=9223372036854775807&ShowSize=1",
        "CurrentPage=2305843009213693953&ShowSize=4"}) {
    Result<rpc::Reply> page = List(query);
    ASSERT_TRUE(page) << query << ": " << page.error().message;
    EXPECT_EQ((*page)["CertificateOrderList"].size(), 0u) << query;
    EXPECT_EQ((*page)["TotalCount"], 5) << query;
  }
  ExpectInvalid("CurrentPage=9223372036854775808", "CurrentPage");
  ExpectInvalid("CurrentPage=0", "CurrentPage");
  ExpectInvalid("CurrentPage=-1", "CurrentPage");
}

TEST_F(ListUserCertificateOrderTest, ShowSizeFrom1To1000) {
  for (const char* size : {"1", "500", "1000"}) {
    Result<rpc::Reply> page = List(std::string("ShowSize=") + size);
    ASSERT_TRUE(page) << size;
    EXPECT_EQ((*page)["ShowSize"], std::stoi(size));
    EXPECT_EQ((*page)["CertificateOrderList"].size(), std::min<size_t>(5, std::stoul(size)));
  }
  ExpectInvalid("ShowSize=0", "ShowSize");
  ExpectInvalid("ShowSize=1001", "ShowSize");
  ExpectInvalid("ShowSize=-5", "ShowSize");
  ExpectInvalid("ShowSize=99999999999999999999", "ShowSize");
}

}  // namespace
}  // namespace certplan::api
