// The contract of cas::CertificateStore: uploads with unique names per account, issued entries
// written with the order's issuance and marked on its revocation, tenancy, filtering and paging in
// the store. Runs over SQLite and PostgreSQL (tests/store/store_backends.h).
#include <limits>

#include "store/store_backends.h"
#include "testing/audit_for_test.h"

namespace certplan::store {
namespace {

using CertificateStoreContract = StoreBackendTest;

constexpr int64_t kNow = 1'800'000'000;
constexpr int64_t kDay = 86'400;

cas::Certificate Upload(int64_t account, std::string name, int64_t not_after = kNow + 90 * kDay) {
  cas::Certificate c;
  c.account_id = account;
  c.name = std::move(name);
  c.upload = true;
  c.chain_pem = "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n";
  c.sealed_key = std::string("\x00\x01\xfe sealed", 10);
  c.common_name = "www.Example.com";
  c.sans = {"www.example.com", "example.com"};
  c.issuer = "Issuer O";
  c.org_name = "Org";
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

TEST_P(CertificateStoreContract, UploadsRoundTripWithUniqueNamesPerAccount) {
  Result<cas::Certificate> a =
      certificates_->InsertUpload(Upload(1001, "site"), testing::TestRecord());
  ASSERT_TRUE(a) << a.error().detail;
  EXPECT_GE(a->id, cas::kFirstUploadCertId);
  EXPECT_LT(a->id, int64_t{1} << 53);
  EXPECT_EQ(a->instance_id, cas::UploadInstanceId(a->id));
  Result<std::optional<cas::Certificate>> found = certificates_->FindCertificate(1001, a->id);
  ASSERT_TRUE(found && *found);
  const cas::Certificate& f = **found;
  EXPECT_EQ(f.name, "site");
  EXPECT_EQ(f.sealed_key, a->sealed_key);  // binary kept exactly
  EXPECT_EQ(f.sans, a->sans);
  EXPECT_EQ(f.not_after, a->not_after);
  EXPECT_EQ(f.serial, "00ff");
  EXPECT_TRUE(f.upload);
  Result<cas::Certificate> twice =
      certificates_->InsertUpload(Upload(1001, "site"), testing::TestRecord());
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, ErrorCode::kParamRepeat);
  EXPECT_TRUE(certificates_->InsertUpload(Upload(2002, "site"),
                                          testing::TestRecord()));  // another account's name
  // Tenancy: another account sees nothing and deletes nothing.
  EXPECT_FALSE(*certificates_->FindCertificate(2002, a->id));
  EXPECT_FALSE(*certificates_->DeleteCertificate(2002, a->id, testing::TestRecord()));
  EXPECT_TRUE(*certificates_->DeleteCertificate(1001, a->id, testing::TestRecord()));
  EXPECT_FALSE(*certificates_->DeleteCertificate(1001, a->id, testing::TestRecord()));
  EXPECT_FALSE(*certificates_->FindCertificate(1001, a->id));
  EXPECT_TRUE(certificates_->InsertUpload(Upload(1001, "site"),
                                          testing::TestRecord()));  // the name is free again
}

TEST_P(CertificateStoreContract, IssuedEntriesLandWithTheIssuanceAndLearnOfRevocation) {
  ASSERT_TRUE(plans_->GrantPlan(cas::Plan{0, 1001, "geotrust-dv-1-starter", 2, 1, std::nullopt},
                                testing::TestRecord()));
  Result<cas::Order> order =
      orders_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100, testing::TestRecord());
  ASSERT_TRUE(order);
  Result<cas::Transition> passed = cas::ValidationPassed(*order, 200);
  ASSERT_TRUE(orders_->ApplyTransition(*passed, cas::OrderStatus::kDomainVerify));
  cas::Order signed_order = passed->order;
  signed_order.not_before = kNow;
  signed_order.not_after = kNow + 90 * kDay;
  Result<cas::Transition> issued = cas::Issued(signed_order, kNow);
  ASSERT_TRUE(issued);
  cas::Certificate entry = Upload(1001, "cert-" + std::to_string(order->id));
  entry.upload = false;
  entry.id = entry.order_id = order->id;
  entry.instance_id = "cas-" + std::to_string(order->id);
  entry.sealed_key.clear();
  issued->certificate = entry;
  ASSERT_TRUE(orders_->ApplyTransition(*issued, cas::OrderStatus::kProcess));
  Result<std::optional<cas::Certificate>> found = certificates_->FindCertificate(1001, order->id);
  ASSERT_TRUE(found && *found);
  EXPECT_FALSE((*found)->upload);
  EXPECT_EQ((*found)->order_id, order->id);
  EXPECT_FALSE((*found)->revoked);
  // A transition that loses its compare-and-set stores no entry either.
  Status lost = orders_->ApplyTransition(*issued, cas::OrderStatus::kProcess);
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, ErrorCode::kOrderStateError);
  Result<cas::Transition> revoke = cas::CancelForPackage(issued->order, kNow + kDay);
  ASSERT_TRUE(revoke);
  ASSERT_TRUE(orders_->ApplyTransition(*revoke, cas::OrderStatus::kCertificate));
  EXPECT_TRUE((*certificates_->FindCertificate(1001, order->id))->revoked);
  cas::CertificateQuery revoked;
  revoked.statuses = {cas::CertificateStatus::kRevoked};
  revoked.now = kNow;
  EXPECT_EQ(certificates_->ListCertificates(1001, revoked)->total, 1);
}

TEST_P(CertificateStoreContract, ListsFilterAndPageInTheStore) {
  // Five uploads: three valid, one expiring within 30 days, one expired.
  for (int i = 0; i < 3; ++i) {
    cas::Certificate c = Upload(1001, "valid-" + std::to_string(i));
    c.created_at = kNow + i;  // newest first: valid-2, valid-1, valid-0
    ASSERT_TRUE(certificates_->InsertUpload(c, testing::TestRecord()));
  }
  ASSERT_TRUE(
      certificates_->InsertUpload(Upload(1001, "soon", kNow + 10 * kDay), testing::TestRecord()));
  ASSERT_TRUE(certificates_->InsertUpload(Upload(1001, "old", kNow - kDay), testing::TestRecord()));
  ASSERT_TRUE(certificates_->InsertUpload(Upload(2002, "foreign"), testing::TestRecord()));
  cas::CertificateQuery q;
  q.now = kNow;
  q.limit = 2;
  Result<cas::CertificatePage> page = certificates_->ListCertificates(1001, q);
  ASSERT_TRUE(page) << page.error().detail;
  EXPECT_EQ(page->total, 5);
  ASSERT_EQ(page->entries.size(), 2u);
  EXPECT_EQ(page->entries[0].name, "valid-2");
  EXPECT_EQ(page->entries[1].name, "valid-1");
  q.offset = 4;
  EXPECT_EQ(certificates_->ListCertificates(1001, q)->entries.size(), 1u);
  q.offset = std::numeric_limits<int64_t>::max();  // far past the end: empty, total kept
  page = certificates_->ListCertificates(1001, q);
  EXPECT_TRUE(page->entries.empty());
  EXPECT_EQ(page->total, 5);
  q.offset = 0;
  q.limit = 50;
  q.statuses = {cas::CertificateStatus::kIssued};
  EXPECT_EQ(certificates_->ListCertificates(1001, q)->total, 3);
  q.statuses = {cas::CertificateStatus::kWillExpire};
  EXPECT_EQ(certificates_->ListCertificates(1001, q)->entries.at(0).name, "soon");
  q.statuses = {cas::CertificateStatus::kExpired};
  EXPECT_EQ(certificates_->ListCertificates(1001, q)->entries.at(0).name, "old");
  q.statuses = {cas::CertificateStatus::kIssued, cas::CertificateStatus::kWillExpire};
  EXPECT_EQ(certificates_->ListCertificates(1001, q)->total, 4);
  q.statuses.clear();
  q.keyword = "www.example";  // matched against the CN case-insensitively
  EXPECT_EQ(certificates_->ListCertificates(1001, q)->total, 5);
  q.keyword = "valid-1";  // the Name
  EXPECT_EQ(certificates_->ListCertificates(1001, q)->total, 1);
  q.keyword = "cas-upload-";  // the InstanceId
  EXPECT_EQ(certificates_->ListCertificates(1001, q)->total, 5);
  q.keyword = "%";  // literal, not a pattern
  EXPECT_EQ(certificates_->ListCertificates(1001, q)->total, 0);
  q.keyword.clear();
  q.upload = false;
  EXPECT_EQ(certificates_->ListCertificates(1001, q)->total, 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, CertificateStoreContract,
                         ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace certplan::store
