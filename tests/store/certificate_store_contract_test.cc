// The contract of cas::CertificateStore: uploads with unique names per account, issued entries
// written with the order's issuance and marked on its revocation, tenancy, filtering and paging in
// the store. Runs over SQLite and PostgreSQL (tests/store/store_backends.h).
#include <atomic>
#include <limits>
#include <thread>
#include <vector>

#include "store/query_plans.h"
#include "store/store_backends.h"
#include "testing/audit_for_test.h"

namespace certplan::store {
namespace {

using CertificateStoreContract = StoreBackendTest;

constexpr int64_t kNow = 1'800'000'000;
constexpr int64_t kDay = 86'400;
constexpr int64_t kNoCap = std::numeric_limits<int64_t>::max();

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
      certificates_->InsertUpload(Upload(1001, "site"), testing::TestRecord(), kNoCap);
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
      certificates_->InsertUpload(Upload(1001, "site"), testing::TestRecord(), kNoCap);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, ErrorCode::kParamRepeat);
  EXPECT_TRUE(certificates_->InsertUpload(Upload(2002, "site"), testing::TestRecord(),
                                          kNoCap));  // another account's name
  // Tenancy: another account sees nothing and deletes nothing.
  EXPECT_FALSE(*certificates_->FindCertificate(2002, a->id));
  EXPECT_FALSE(*certificates_->DeleteCertificate(2002, a->id, testing::TestRecord()));
  EXPECT_TRUE(*certificates_->DeleteCertificate(1001, a->id, testing::TestRecord()));
  EXPECT_FALSE(*certificates_->DeleteCertificate(1001, a->id, testing::TestRecord()));
  EXPECT_FALSE(*certificates_->FindCertificate(1001, a->id));
  EXPECT_TRUE(certificates_->InsertUpload(Upload(1001, "site"), testing::TestRecord(),
                                          kNoCap));  // the name is free again
}

TEST_P(CertificateStoreContract, UploadsStopAtTheAccountsCapUntilOneIsDeleted) {
  std::vector<int64_t> ids;
  for (int i = 0; i < 3; ++i) {
    Result<cas::Certificate> c = certificates_->InsertUpload(
        Upload(1001, "site-" + std::to_string(i)), testing::TestRecord(), 3);
    ASSERT_TRUE(c) << c.error().detail;
    ids.push_back(c->id);
  }
  Result<cas::Certificate> over =
      certificates_->InsertUpload(Upload(1001, "one-more"), testing::TestRecord(), 3);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, ErrorCode::kCertificateOverQuota);
  EXPECT_EQ(over.error().message, cas::UploadsOverQuota(3).message);
  // The cap wins over a name clash: the refusal does not reveal which names exist.
  Result<cas::Certificate> clash =
      certificates_->InsertUpload(Upload(1001, "site-0"), testing::TestRecord(), 3);
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().code, ErrorCode::kCertificateOverQuota);
  // Nothing written: the account still holds three entries, none named "one-more".
  cas::CertificateQuery all;
  all.now = kNow;
  all.limit = 100;
  Result<cas::CertificatePage> page = certificates_->ListCertificates(1001, all);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->total, 3);
  for (const cas::Certificate& c : page->entries) EXPECT_NE(c.name, "one-more");
  // Each account has its own cap.
  EXPECT_TRUE(certificates_->InsertUpload(Upload(2002, "site-0"), testing::TestRecord(), 3));
  // A deleted upload frees its slot.
  ASSERT_TRUE(*certificates_->DeleteCertificate(1001, ids[1], testing::TestRecord()));
  EXPECT_TRUE(certificates_->InsertUpload(Upload(1001, "one-more"), testing::TestRecord(), 3));
  Result<cas::Certificate> again =
      certificates_->InsertUpload(Upload(1001, "another"), testing::TestRecord(), 3);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kCertificateOverQuota);
}

TEST_P(CertificateStoreContract, ConcurrentUploadsNeverPassTheCap) {
  constexpr int kThreads = 8;
  constexpr int kEach = 5;
  constexpr int64_t kCap = 12;
  std::atomic<int> stored{0}, refused{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        // Appended, not `"t" + std::to_string(t)`: GCC 12 at -O3 warns about that falsely
        // (-Wrestrict, GCC bug 105651).
        std::string name = std::to_string(t);
        name += '-';
        name += std::to_string(i);
        Result<cas::Certificate> c =
            certificates_->InsertUpload(Upload(1001, name), testing::TestRecord(), kCap);
        if (c) {
          ++stored;
        } else if (c.error().code == ErrorCode::kCertificateOverQuota) {
          ++refused;
        } else {
          ++other;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(stored.load(), kCap);
  EXPECT_EQ(refused.load(), kThreads * kEach - kCap);
  cas::CertificateQuery all;
  all.now = kNow;
  EXPECT_EQ(certificates_->ListCertificates(1001, all)->total, kCap);
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
  entry.product_code = "geotrust-dv-1-starter";
  entry.has_key = true;
  issued->certificate = entry;
  ASSERT_TRUE(orders_->ApplyTransition(*issued, cas::OrderStatus::kProcess));
  Result<std::optional<cas::Certificate>> found = certificates_->FindCertificate(1001, order->id);
  ASSERT_TRUE(found && *found);
  EXPECT_FALSE((*found)->upload);
  EXPECT_EQ((*found)->order_id, order->id);
  EXPECT_FALSE((*found)->revoked);
  // What the lists show of the order travels on the entry (a page is one read).
  EXPECT_EQ((*found)->product_code, "geotrust-dv-1-starter");
  EXPECT_TRUE((*found)->has_key);
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

// Issue #14: an issued certificate is stored once, with its order (the leaf apart, the CA's chain
// once per chain); the entry reads its chain from there, and keeps reading the order's when the
// entry is gone the order still has it. Lists carry no PEM.
TEST_P(CertificateStoreContract, AnIssuedCertificateIsStoredOnceWithItsOrder) {
  ASSERT_TRUE(plans_->GrantPlan(cas::Plan{0, 1001, "geotrust-dv-1-starter", 2, 1, std::nullopt},
                                testing::TestRecord()));
  const std::string chain = "-----BEGIN CERTIFICATE-----\nCA==\n-----END CERTIFICATE-----\n";
  std::vector<int64_t> ids;
  for (int i = 0; i < 2; ++i) {
    Result<cas::Order> order =
        orders_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100, testing::TestRecord());
    ASSERT_TRUE(order);
    Result<cas::Transition> passed = cas::ValidationPassed(*order, 200);
    ASSERT_TRUE(passed);
    cas::Order next = passed->order;
    next.certificate_pem =
        "-----BEGIN CERTIFICATE-----\nL" + std::to_string(i) + "==\n-----END CERTIFICATE-----\n";
    next.chain_pem = chain;
    next.serial_hex = "0" + std::to_string(i);
    next.not_after = kNow + 90 * kDay;
    Result<cas::Transition> issued = cas::Issued(next, kNow);
    ASSERT_TRUE(issued);
    cas::Certificate entry = Upload(1001, "cert-" + std::to_string(order->id));
    entry.upload = false;
    entry.id = entry.order_id = order->id;
    entry.instance_id = "cas-" + std::to_string(order->id);
    entry.sealed_key.clear();
    entry.chain_pem = next.certificate_pem + chain;
    issued->certificate = entry;
    // Validated and issued in one step, as the worker stores it.
    Status stored = orders_->ApplyTransition(*issued, cas::OrderStatus::kDomainVerify);
    ASSERT_TRUE(stored) << stored.error().message << " " << stored.error().detail;
    ids.push_back(order->id);
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    const std::string leaf =
        "-----BEGIN CERTIFICATE-----\nL" + std::to_string(i) + "==\n-----END CERTIFICATE-----\n";
    Result<std::optional<cas::Order>> o = orders_->FindOrder(1001, ids[i]);
    ASSERT_TRUE(o && *o);
    EXPECT_EQ((*o)->certificate_pem, leaf);
    EXPECT_EQ((*o)->chain_pem, chain);
    Result<std::optional<cas::Certificate>> c = certificates_->FindCertificate(1001, ids[i]);
    ASSERT_TRUE(c && *c);
    EXPECT_EQ((*c)->chain_pem, leaf + chain);
  }
  cas::CertificateQuery all;
  all.now = kNow;
  Result<cas::CertificatePage> listed = certificates_->ListCertificates(1001, all);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->entries.size(), 2u);
  for (const cas::Certificate& c : listed->entries) EXPECT_EQ(c.chain_pem, "");
  Result<cas::OrderPage> orders = orders_->ListOrders(1001, cas::OrderQuery{});
  ASSERT_TRUE(orders);
  ASSERT_EQ(orders->orders.size(), 2u);
  for (const cas::Order& o : orders->orders) {
    EXPECT_EQ(o.certificate_pem, "");
    EXPECT_EQ(o.chain_pem, "");
    EXPECT_FALSE(o.serial_hex.empty());
  }
  // The entry goes (revoked first); the order keeps its certificate, and its revocation still
  // finds the chain.
  Result<std::optional<cas::Order>> first = orders_->FindOrder(1001, ids[0]);
  Result<cas::Transition> revoke = cas::CancelForPackage(**first, kNow + kDay);
  ASSERT_TRUE(revoke);
  ASSERT_TRUE(orders_->ApplyTransition(*revoke, cas::OrderStatus::kCertificate));
  EXPECT_TRUE(*certificates_->DeleteCertificate(1001, ids[0], testing::TestRecord()));
  Result<std::optional<cas::Order>> kept = orders_->FindOrder(1001, ids[0]);
  ASSERT_TRUE(kept && *kept);
  EXPECT_EQ((*kept)->certificate_pem, (*first)->certificate_pem);
  EXPECT_EQ((*kept)->chain_pem, chain);
  Result<std::optional<cas::IssuedSerial>> serial = revocations_->FindIssuedSerial("00");
  ASSERT_TRUE(serial && *serial);
  EXPECT_EQ((*serial)->chain_pem, chain);
  EXPECT_EQ((*certificates_->FindCertificate(1001, ids[1]))->chain_pem,
            (*orders_->FindOrder(1001, ids[1]))->certificate_pem + chain);
}

TEST_P(CertificateStoreContract, ListsFilterAndPageInTheStore) {
  // Five uploads: three valid, one expiring within 30 days, one expired.
  for (int i = 0; i < 3; ++i) {
    cas::Certificate c = Upload(1001, "valid-" + std::to_string(i));
    c.created_at = kNow + i;  // newest first: valid-2, valid-1, valid-0
    ASSERT_TRUE(certificates_->InsertUpload(c, testing::TestRecord(), kNoCap));
  }
  ASSERT_TRUE(certificates_->InsertUpload(Upload(1001, "soon", kNow + 10 * kDay),
                                          testing::TestRecord(), kNoCap));
  ASSERT_TRUE(
      certificates_->InsertUpload(Upload(1001, "old", kNow - kDay), testing::TestRecord(), kNoCap));
  ASSERT_TRUE(certificates_->InsertUpload(Upload(2002, "foreign"), testing::TestRecord(), kNoCap));
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
  // Every page size: the same order whichever end the store reads a page from.
  q.upload.reset();
  q.offset = 0;
  Result<cas::CertificatePage> whole = certificates_->ListCertificates(1001, q);
  ASSERT_TRUE(whole);
  std::vector<std::string> all;
  for (const cas::Certificate& c : whole->entries) all.push_back(c.name);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[0], "valid-2");
  EXPECT_EQ(all[1], "valid-1");  // then valid-0, soon and old, of one second: by id
  for (int64_t size : {1, 2, 3, 4}) {
    std::vector<std::string> paged;
    q.limit = size;
    for (q.offset = 0; q.offset < 10; q.offset += size) {
      Result<cas::CertificatePage> page = certificates_->ListCertificates(1001, q);
      ASSERT_TRUE(page);
      for (const cas::Certificate& c : page->entries) paged.push_back(c.name);
    }
    EXPECT_EQ(paged, all) << "ShowSize " << size;
  }
}

// The plans of the list statements at a realistic size (issue #12 fault 9): with thousands of
// entries in the account and as many in another, the count and the page read one index range of
// the account (index entries only; the page's rows by primary key) and nothing scans the table.
// Rows are written straight into the store, sized like real ones.
TEST_P(CertificateStoreContract, ListsReadAnIndexRangeNeverTheTable) {
  constexpr int kRows = 20000;  // half of them the account's
  const std::string n = std::to_string(kRows);
  if (GetParam() == "sqlite") {
    Tamper("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " + n +
           ") INSERT INTO certificates (id, account_id, name, upload, order_id, instance_id, "
           "chain_pem, not_before, not_after, fingerprint, sha256, serial, algorithm, key_bits, "
           "revoked, created_at) SELECT 3000000000000000 + i, CASE WHEN i % 2 = 0 THEN 1001 ELSE "
           "2002 END, 'c' || i, i % 3 = 0, 0, 'cas-' || i, printf('%.1400c', 'P'), 0, "
           "1800000000 + (i % 100 - 20) * 86400, 'F', 'S', 's', 'RSA', 2048, i % 50 = 0, "
           "1000 + i FROM n");
  } else {
    Tamper(
        "INSERT INTO certificates (id, account_id, name, upload, order_id, instance_id, "
        "chain_pem, not_before, not_after, fingerprint, sha256, serial, algorithm, key_bits, "
        "revoked, created_at) SELECT 3000000000000000 + i, CASE WHEN i % 2 = 0 THEN 1001 ELSE "
        "2002 END, 'c' || i, i % 3 = 0, 0, 'cas-' || i, md5(i::text) || repeat('P', 1368), 0, "
        "1800000000 + (i % 100 - 20) * 86400, 'F', 'S', 's', 'RSA', 2048, i % 50 = 0, "
        "1000 + i FROM generate_series(1, " +
        n + ") i");
    Tamper("VACUUM ANALYZE certificates");
  }
  using Reads = std::multiset<std::string>;
  auto check = [&](cas::CertificateQuery q) {
    q.now = kNow;
    Result<cas::CertificatePage> listed = certificates_->ListCertificates(1001, q);
    ASSERT_TRUE(listed) << listed.error().detail;
    ASSERT_GT(listed->total, 100);
    for (int64_t offset : {int64_t{0}, listed->total / 2, listed->total - 10}) {
      q.offset = offset;
      q.limit = 10;
      Result<std::vector<std::string>> p =
          sqlite_ ? sqlite_->ExplainListCertificates(1001, q, listed->total)
                  : postgres_->ExplainListCertificates(1001, q, listed->total);
      ASSERT_TRUE(p) << p.error().detail;
      ASSERT_EQ(p->size(), 2u);
      const PlanFacts count = sqlite_ ? ReadSqlitePlan((*p)[0]) : ReadPostgresPlan((*p)[0]);
      const PlanFacts page = sqlite_ ? ReadSqlitePlan((*p)[1]) : ReadPostgresPlan((*p)[1]);
      // An index range of the account, entries only (with no filter but the account,
      // PostgreSQL may count the smaller (account_id, name) index instead).
      EXPECT_TRUE(count.reads == Reads{"index-only certificates_list"} ||
                  count.reads == Reads{"index-only certificates_name_unique"})
          << count.text;
      EXPECT_EQ(page.reads, (Reads{"index-only certificates_list", "primary-key certificates"}))
          << page.text;
      EXPECT_FALSE(page.sorts_below_root) << page.text;
    }
  };
  check(cas::CertificateQuery{});  // ListCertificates' default: every status
  cas::CertificateQuery cert;      // ListUserCertificateOrder CERT's default
  cert.statuses = {cas::CertificateStatus::kIssued, cas::CertificateStatus::kWillExpire};
  check(cert);
  cas::CertificateQuery uploads;  // UPLOAD, expired
  uploads.upload = true;
  uploads.statuses = {cas::CertificateStatus::kExpired};
  check(uploads);
}

INSTANTIATE_TEST_SUITE_P(Backends, CertificateStoreContract,
                         ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace certplan::store
