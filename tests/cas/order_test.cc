#include "cas/order.h"

#include <chrono>
#include <cstdint>
#include <set>

#include <gtest/gtest.h>

#include "cas/domain_names.h"
#include "pki/key_id.h"
#include "testing/test_certificate.h"

namespace certplan::cas {
namespace {

constexpr int64_t kNow = 1'800'000'000;
constexpr int64_t kDay = 86400;

Order InState(OrderStatus s) {
  Order o;
  o.id = 1;
  o.status = s;
  o.holds_unit = s != OrderStatus::kCancelled && s != OrderStatus::kDeleted;
  if (s == OrderStatus::kCertificate || s == OrderStatus::kRevoked) {
    o.issued_at = kNow;
    o.not_after = kNow + 365 * kDay;
    o.counts_issued = true;
  }
  return o;
}

TEST(OrderIds, SixteenDigitsBelowUploadCertIdsOrderedByTheMillisecond) {
  const int64_t at = kOrderIdEpochMs + 334 * 86'400'000LL;  // 2026-12-01
  const int64_t first = OrderIdAt(at, 4095), next_ms = OrderIdAt(at + 1, 0);
  EXPECT_LT(first, next_ms);  // a later millisecond sorts after, whatever the low bits
  EXPECT_NE(OrderIdAt(at, 1), OrderIdAt(at, 2));
  EXPECT_EQ(OrderIdAt(at, 7), OrderIdAt(at, 4096 + 7));  // only 12 low bits count
  const int64_t in_62_years = kOrderIdEpochMs + int64_t{62} * 365 * 86'400'000;
  for (const int64_t ms : {int64_t{0}, kOrderIdEpochMs, at, in_62_years, INT64_MAX}) {
    for (const uint32_t seq : {0u, 4095u, UINT32_MAX}) {
      const int64_t id = OrderIdAt(ms, seq);
      EXPECT_GE(id, 1'000'000'000'000'000) << ms << " " << seq;  // 16 digits
      EXPECT_LT(id, kFirstUploadCertId) << ms << " " << seq;     // and so below 2^53
    }
  }
  EXPECT_EQ(OrderIdAt(0, 5), OrderIdAt(kOrderIdEpochMs, 5));  // before the epoch: the epoch
  auto now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const int64_t before = now_ms();
  const int64_t made = NewOrderId();
  const int64_t after = now_ms();
  EXPECT_GE(made, OrderIdAt(before, 0));  // in the slots of the milliseconds it was made in
  EXPECT_LE(made, OrderIdAt(after, 4095));
}

// Many ids at once (more than 4,096 in a millisecond): none repeats, their milliseconds never go
// back, and the low bits are drawn, not counted (consecutive ids one apart would tell how many
// orders the node made between two of a client's).
TEST(OrderIds, DrawnWithoutRepeatsInTimeOrder) {
  constexpr int kIds = 20000;
  std::set<int64_t> seen;
  int64_t last_slot = 0;
  int one_apart = 0;
  int64_t previous = 0;
  for (int i = 0; i < kIds; ++i) {
    const int64_t id = NewOrderId();
    EXPECT_TRUE(seen.insert(id).second) << id;
    const int64_t slot = (id - 1'000'000'000'000'000) / 4096;
    EXPECT_GE(slot, last_slot);
    last_slot = slot;
    if (previous != 0 && (id - previous) % 4096 == 1) ++one_apart;
    previous = id;
  }
  EXPECT_LT(one_apart, kIds / 100);  // drawn: ~5 expected; counted: all
}

constexpr OrderStatus kAll[] = {OrderStatus::kDomainVerify, OrderStatus::kProcess,
                                OrderStatus::kCertificate,  OrderStatus::kVerifyFail,
                                OrderStatus::kPayed,        OrderStatus::kCancelled,
                                OrderStatus::kRevoked};

TEST(OrderTransitions, CancelOrderOnlyWhilePendingAndKeepsTheUnit) {
  for (OrderStatus s : kAll) {
    Result<Transition> t = CancelOrder(InState(s), kNow);
    const bool allowed = s == OrderStatus::kDomainVerify || s == OrderStatus::kProcess;
    ASSERT_EQ(static_cast<bool>(t), allowed) << StatusName(s);
    if (allowed) {
      EXPECT_EQ(t->order.status, OrderStatus::kPayed);
      EXPECT_EQ(t->delta.used, 0);
    } else {
      EXPECT_EQ(t.error().code, ErrorCode::kOrderStateError);
    }
  }
}

TEST(OrderTransitions, DeleteOnlyFailedOrPayedAndReleasesTheUnit) {
  for (OrderStatus s : kAll) {
    Result<Transition> t = DeleteOrder(InState(s), kNow);
    const bool allowed = s == OrderStatus::kVerifyFail || s == OrderStatus::kPayed;
    ASSERT_EQ(static_cast<bool>(t), allowed) << StatusName(s);
    if (allowed) {
      EXPECT_EQ(t->order.status, OrderStatus::kDeleted);
      EXPECT_EQ(t->delta.used, -1);
      EXPECT_FALSE(t->order.holds_unit);
    }
  }
}

TEST(OrderTransitions, CancelForPackagePendingRefunds) {
  Result<Transition> t = CancelForPackage(InState(OrderStatus::kProcess), kNow);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->order.status, OrderStatus::kCancelled);
  EXPECT_EQ(t->delta.used, -1);
  EXPECT_EQ(t->delta.issued, 0);
}

TEST(OrderTransitions, RevokeRefundsWithinThirtyDaysOnly) {
  Result<Transition> early = CancelForPackage(InState(OrderStatus::kCertificate), kNow + 30 * kDay);
  ASSERT_TRUE(early);
  EXPECT_EQ(early->order.status, OrderStatus::kRevoked);
  EXPECT_EQ(early->delta.used, -1);
  EXPECT_EQ(early->delta.issued, -1);
  Result<Transition> late =
      CancelForPackage(InState(OrderStatus::kCertificate), kNow + 30 * kDay + 1);
  ASSERT_TRUE(late);
  EXPECT_EQ(late->delta.used, 0);
  EXPECT_EQ(late->delta.issued, 0);
  EXPECT_TRUE(late->order.holds_unit);
  Result<Transition> expired =
      CancelForPackage(InState(OrderStatus::kCertificate), kNow + 366 * kDay);
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code, ErrorCode::kOrderStateError);
  for (OrderStatus s : {OrderStatus::kVerifyFail, OrderStatus::kPayed, OrderStatus::kCancelled,
                        OrderStatus::kRevoked}) {
    EXPECT_FALSE(CancelForPackage(InState(s), kNow)) << StatusName(s);
  }
}

TEST(OrderTransitions, ARevocationCarriesItsRecordAndACancellationNone) {
  Order order = InState(OrderStatus::kCertificate);
  order.serial_hex = "0A1B";
  order.chain_pem = testing::SelfSignedPem("issuer.example", kNow, kNow + 365 * kDay);
  Result<Transition> t = CancelForPackage(order, kNow + kDay, RevocationReason::kSuperseded);
  ASSERT_TRUE(t);
  ASSERT_TRUE(t->revocation);
  EXPECT_EQ(t->revocation->order_id, 1);
  EXPECT_EQ(t->revocation->serial_hex, "0A1B");
  EXPECT_EQ(t->revocation->revoked_at, kNow + kDay);
  EXPECT_EQ(t->revocation->reason, RevocationReason::kSuperseded);
  EXPECT_EQ(t->revocation->not_after, kNow + 365 * kDay);
  // The issuer named as pki::KeyId names it: 40 lower-case hex digits of the chain's first key.
  EXPECT_EQ(t->revocation->issuer_key_id, pki::FirstCertificateKeyId(order.chain_pem));
  EXPECT_EQ(t->revocation->issuer_key_id.size(), 40u);
  // CancelCertificateForPackageRequest gives no reason; an unreadable chain names no issuer.
  order.chain_pem.clear();
  t = CancelForPackage(order, kNow + kDay);
  ASSERT_TRUE(t && t->revocation);
  EXPECT_EQ(t->revocation->reason, RevocationReason::kUnspecified);
  EXPECT_EQ(t->revocation->issuer_key_id, "");
  Result<Transition> cancelled = CancelForPackage(InState(OrderStatus::kProcess), kNow);
  ASSERT_TRUE(cancelled);
  EXPECT_FALSE(cancelled->revocation);
}

TEST(OrderTransitions, IssuanceCountsOnce) {
  Result<Transition> t = Issued(InState(OrderStatus::kProcess), kNow);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->delta.issued, 1);
  EXPECT_TRUE(t->order.counts_issued);
  EXPECT_FALSE(Issued(InState(OrderStatus::kCertificate), kNow));
  EXPECT_FALSE(ValidationPassed(InState(OrderStatus::kProcess), kNow));
  EXPECT_TRUE(ValidationFailed(InState(OrderStatus::kProcess), kNow, "CA refused"));
  EXPECT_FALSE(ValidationFailed(InState(OrderStatus::kPayed), kNow, "late"));
}

TEST(OrderTransitions, RenewalWindow) {
  Order o = InState(OrderStatus::kCertificate);
  EXPECT_FALSE(CheckRenewable(o, false, kNow));
  EXPECT_TRUE(CheckRenewable(o, false, o.not_after - 30 * kDay));
  EXPECT_FALSE(CheckRenewable(o, true, o.not_after - 10 * kDay));  // free codes never renew
  EXPECT_FALSE(CheckRenewable(o, false, o.not_after));
}

TEST(OrderVocabulary, ListStatusFollowsExpiry) {
  Order o = InState(OrderStatus::kCertificate);
  EXPECT_EQ(ListStatusName(o, kNow), "ISSUED");
  EXPECT_EQ(ListStatusName(o, o.not_after - 30 * kDay), "WILLEXPIRED");
  EXPECT_EQ(ListStatusName(o, o.not_after), "EXPIRED");
  EXPECT_EQ(TypeName(InState(OrderStatus::kRevoked)), "unknow");
  EXPECT_EQ(ListStatusName(InState(OrderStatus::kVerifyFail), kNow), "CHECKED_FAIL");
}

TEST(DomainNames, NormalizesAndRejects) {
  Result<std::vector<std::string>> ok =
      ParseDomainList("WWW.Example.com, example.com,www.example.com", "Domain", 5);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, (std::vector<std::string>{"www.example.com", "example.com"}));
  EXPECT_TRUE(ParseDomainList("*.example.com", "Domain", 5));
  EXPECT_TRUE(ParseDomainList("xn--bcher-kva.example", "Domain", 5));
  for (const char* bad : {"", "a,,b.com", "localhost", "bücher.example", "a..b.com", "-a.b.com",
                          "a-.b.com", "a.*.b.com", "**.b.com", "a b.com", "a.b.com,c,d"}) {
    Result<std::vector<std::string>> r = ParseDomainList(bad, "Domain", 5);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter) << bad;
  }
  EXPECT_FALSE(ParseDomainList("a.com,b.com,c.com,d.com,e.com,f.com", "Domain", 5));
}

}  // namespace
}  // namespace certplan::cas
