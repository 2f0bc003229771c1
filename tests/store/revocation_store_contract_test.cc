// The contract of cas::RevocationStore: a revocation record lands with the order's revocation
// (and only then), outlives the repository entry, is listed for its issuer until the
// certificate expires, and issued certificates are found by serial. Runs over SQLite and
// PostgreSQL (tests/store/store_backends.h).
#include "store/store_backends.h"
#include "testing/audit_for_test.h"

namespace certplan::store {
namespace {

constexpr int64_t kNow = 1'800'000'000;
constexpr int64_t kDay = 86'400;
constexpr const char* kProduct = "geotrust-dv-1-starter";

class RevocationStoreContract : public StoreBackendTest {
 protected:
  // An order of account 1001 issued at kNow with `serial` (and its repository entry).
  cas::Order Issue(const std::string& serial) {
    if (!granted_) {
      EXPECT_TRUE(plans_->GrantPlan(cas::Plan{0, 1001, kProduct, 10, 1, std::nullopt},
                                    testing::TestRecord()));
      granted_ = true;
    }
    Result<cas::Order> order =
        orders_->CreateOrder(NewOrder(1001, kProduct), 100, testing::TestRecord());
    EXPECT_TRUE(order);
    Result<cas::Transition> passed = cas::ValidationPassed(*order, 200);
    EXPECT_TRUE(orders_->ApplyTransition(*passed, cas::OrderStatus::kDomainVerify));
    cas::Order o = passed->order;
    o.serial_hex = serial;
    o.chain_pem = "chain of " + serial;
    o.not_before = kNow;
    o.not_after = kNow + 90 * kDay;
    Result<cas::Transition> issued = cas::Issued(o, kNow);
    EXPECT_TRUE(issued);
    cas::Certificate entry;
    entry.id = entry.order_id = order->id;
    entry.account_id = 1001;
    entry.name = "cert-" + std::to_string(order->id);
    entry.instance_id = "cas-" + std::to_string(order->id);
    entry.chain_pem = "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n";
    entry.not_before = kNow;
    entry.not_after = kNow + 90 * kDay;
    entry.fingerprint = std::string(40, 'A');
    entry.sha256 = std::string(64, 'B');
    entry.serial = serial;
    entry.algorithm = "ECC";
    entry.key_bits = 256;
    entry.created_at = kNow;
    issued->certificate = entry;
    EXPECT_TRUE(orders_->ApplyTransition(*issued, cas::OrderStatus::kProcess));
    return issued->order;
  }

  // Revokes `order` at `when` with the record naming `issuer`.
  Status Revoke(const cas::Order& order, int64_t when, const std::string& issuer,
                cas::RevocationReason reason = cas::RevocationReason::kUnspecified) {
    Result<cas::Transition> t = cas::CancelForPackage(order, when, reason);
    EXPECT_TRUE(t && t->revocation);
    t->revocation->issuer_key_id = issuer;
    return orders_->ApplyTransition(*t, cas::OrderStatus::kCertificate);
  }

  bool granted_ = false;
};

TEST_P(RevocationStoreContract, IssuedCertificatesAreFoundBySerialAndLearnOfTheirRevocation) {
  const cas::Order order = Issue("0AB1C2");
  Result<std::optional<cas::IssuedSerial>> found = revocations_->FindIssuedSerial("0AB1C2");
  ASSERT_TRUE(found) << found.error().detail;
  ASSERT_TRUE(*found);
  EXPECT_EQ((*found)->order_id, order.id);
  EXPECT_EQ((*found)->chain_pem, "chain of 0AB1C2");
  EXPECT_EQ((*found)->not_after, kNow + 90 * kDay);
  EXPECT_FALSE((*found)->revocation);
  EXPECT_FALSE(*revocations_->FindIssuedSerial("0AB1C3")) << "never issued";
  EXPECT_FALSE(*revocations_->FindIssuedSerial("")) << "pending orders have no serial";

  ASSERT_TRUE(Revoke(order, kNow + kDay, "issuer-a", cas::RevocationReason::kKeyCompromise));
  found = revocations_->FindIssuedSerial("0AB1C2");
  ASSERT_TRUE(found && *found);
  ASSERT_TRUE((*found)->revocation);
  const cas::Revocation& r = *(*found)->revocation;
  EXPECT_EQ(r.order_id, order.id);
  EXPECT_EQ(r.issuer_key_id, "issuer-a");
  EXPECT_EQ(r.serial_hex, "0AB1C2");
  EXPECT_EQ(r.revoked_at, kNow + kDay);
  EXPECT_EQ(r.reason, cas::RevocationReason::kKeyCompromise);
  EXPECT_EQ(r.not_after, kNow + 90 * kDay);
}

// limits.released_order_retention_days: an order revoked with its unit refunded goes once its
// certificate has been expired that long, with the certificate, the repository entry and the
// revocation record; one revoked after the refund window (it holds its unit) and one not revoked
// stay, and the plan counters do not move.
TEST_P(RevocationStoreContract, RefundedRevokedOrdersGoAfterTheirCertificateExpired) {
  const cas::Order refunded = Issue("0B01");
  ASSERT_TRUE(Revoke(refunded, kNow + kDay, "issuer-a"));
  const cas::Order kept = Issue("0B02");
  ASSERT_TRUE(Revoke(kept, kNow + 40 * kDay, "issuer-a"));  // past the refund window
  const cas::Order live = Issue("0B03");
  const cas::PackageCounters before = *plans_->GetPackageCounters(1001, kProduct, kNow);
  const int64_t expiry = kNow + 90 * kDay;
  Result<int64_t> none = orders_->PruneReleasedOrders(expiry, 10);  // expired only after it
  ASSERT_TRUE(none) << none.error().detail;
  EXPECT_EQ(*none, 0);
  Result<int64_t> one = orders_->PruneReleasedOrders(expiry + 1, 10);
  ASSERT_TRUE(one) << one.error().detail;
  EXPECT_EQ(*one, 1);
  EXPECT_FALSE(*orders_->FindOrder(1001, refunded.id));
  EXPECT_FALSE(*revocations_->FindIssuedSerial("0B01"));
  EXPECT_FALSE(*certificates_->FindCertificate(1001, refunded.id));
  EXPECT_EQ(revocations_->VersionOfRevocations("issuer-a")->count, 1);  // kept's record
  for (const cas::Order& o : {kept, live}) {
    EXPECT_TRUE(*orders_->FindOrder(1001, o.id));
    EXPECT_TRUE(*revocations_->FindIssuedSerial(o.serial_hex)) << o.serial_hex;
    EXPECT_TRUE(*certificates_->FindCertificate(1001, o.id)) << o.serial_hex;
  }
  const cas::PackageCounters after = *plans_->GetPackageCounters(1001, kProduct, kNow);
  EXPECT_EQ(after.used, before.used);
  EXPECT_EQ(after.issued, before.issued);
  EXPECT_EQ(*orders_->PruneReleasedOrders(expiry + 1, 10), 0);
}

TEST_P(RevocationStoreContract, RecordsAreListedForTheirIssuerUntilTheCertificateExpires) {
  ASSERT_TRUE(Revoke(Issue("0A01"), kNow + 10, "issuer-a"));
  ASSERT_TRUE(Revoke(Issue("0A02"), kNow + 20, "issuer-b"));
  ASSERT_TRUE(Revoke(Issue("0A03"), kNow + 30, ""));  // recorded before issuers were known
  Issue("0A04");                                      // issued, not revoked
  Result<std::vector<cas::Revocation>> listed = revocations_->ListRevocations("issuer-a", kNow);
  ASSERT_TRUE(listed) << listed.error().detail;
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].serial_hex, "0A01");
  EXPECT_EQ((*listed)[0].revoked_at, kNow + 10);
  EXPECT_EQ((*listed)[1].serial_hex, "0A03");
  Result<cas::RevocationsVersion> version = revocations_->VersionOfRevocations("issuer-a");
  ASSERT_TRUE(version);
  EXPECT_EQ(*version, (cas::RevocationsVersion{2, kNow + 30}));
  // Once the certificates have expired they leave the list, not the count.
  listed = revocations_->ListRevocations("issuer-a", kNow + 90 * kDay);
  ASSERT_TRUE(listed);
  EXPECT_TRUE(listed->empty());
  EXPECT_EQ(revocations_->VersionOfRevocations("issuer-a")->count, 2);
  EXPECT_EQ(*revocations_->VersionOfRevocations("issuer-z"),
            (cas::RevocationsVersion{1, kNow + 30}));
}

TEST_P(RevocationStoreContract, TheRecordOutlivesTheRepositoryEntry) {
  const cas::Order order = Issue("0B01");
  ASSERT_TRUE(Revoke(order, kNow + 10, "issuer-a"));
  // A revoked issued entry may be deleted from the repository (DeleteUserCertificate) …
  ASSERT_TRUE(*certificates_->DeleteCertificate(1001, order.id, testing::TestRecord()));
  // … and stays revoked for relying parties.
  Result<std::vector<cas::Revocation>> listed = revocations_->ListRevocations("issuer-a", kNow);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].order_id, order.id);
  Result<std::optional<cas::IssuedSerial>> found = revocations_->FindIssuedSerial("0B01");
  ASSERT_TRUE(found && *found && (*found)->revocation);
}

TEST_P(RevocationStoreContract, ARevocationThatLosesItsCompareAndSetRecordsNothing) {
  const cas::Order order = Issue("0C01");
  Result<cas::Transition> t = cas::CancelForPackage(order, kNow + 10);
  ASSERT_TRUE(t);
  Status lost = orders_->ApplyTransition(*t, cas::OrderStatus::kProcess);  // it is issued
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, ErrorCode::kOrderStateError);
  EXPECT_EQ(revocations_->VersionOfRevocations("")->count, 0);
  EXPECT_FALSE((*revocations_->FindIssuedSerial("0C01"))->revocation);
  // A batch (the worker's path) records it like a single transition.
  std::vector<cas::PendingTransition> batch{{*t, cas::OrderStatus::kCertificate}};
  std::vector<Status> results = orders_->ApplyTransitions(batch);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(results[0]);
  EXPECT_EQ(revocations_->VersionOfRevocations("")->count, 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, RevocationStoreContract,
                         ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace certplan::store
