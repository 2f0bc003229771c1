#include "acme/nonces.h"

#include <gtest/gtest.h>

#include "acme/base64url.h"
#include "acme/eab.h"

namespace certplan::acme {
namespace {

TEST(Nonces, OneUseEach) {
  FakeClock clock(1'000'000);
  auth::MemoryReplayGuard guard(size_t{1000});
  NonceIssuer issuer("k", guard, clock, 900);
  const std::string a = issuer.Issue(), b = issuer.Issue();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 43u);
  EXPECT_TRUE(issuer.Consume(a));
  Status again = issuer.Consume(a);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kSignatureNonceUsed);
  EXPECT_TRUE(issuer.Consume(b));
}

TEST(Nonces, ForgedUnknownAndExpiredAreRefused) {
  FakeClock clock(1'000'000);
  auth::MemoryReplayGuard guard(size_t{1000});
  NonceIssuer issuer("k", guard, clock, 900);
  NonceIssuer other("another key", guard, clock, 900);
  std::string n = issuer.Issue();
  std::string raw = *Base64UrlDecode(n);
  raw[10] ^= 1;
  EXPECT_EQ(issuer.Consume(Base64UrlEncode(raw)).error().code, ErrorCode::kInvalidParameter);
  EXPECT_EQ(issuer.Consume(other.Issue()).error().code, ErrorCode::kInvalidParameter);
  EXPECT_EQ(issuer.Consume("").error().code, ErrorCode::kInvalidParameter);
  EXPECT_EQ(issuer.Consume("!!").error().code, ErrorCode::kInvalidParameter);
  clock.Advance(900);
  EXPECT_EQ(issuer.Consume(n).error().code, ErrorCode::kInvalidParameter);
}

TEST(Nonces, NodesSharingKeyAndGuardAcceptEachOthersNoncesOnce) {
  FakeClock clock(1'000'000);
  auth::MemoryReplayGuard shared(size_t{1000});
  NonceIssuer node_a("cluster key", shared, clock, 900), node_b("cluster key", shared, clock, 900);
  const std::string n = node_a.Issue();
  EXPECT_TRUE(node_b.Consume(n));
  EXPECT_EQ(node_a.Consume(n).error().code, ErrorCode::kSignatureNonceUsed);
}

TEST(Nonces, IssuingHoldsNoMemory) {
  FakeClock clock(1'000'000);
  auth::MemoryReplayGuard guard(size_t{1000});
  NonceIssuer issuer("k", guard, clock, 900);
  for (int i = 0; i < 10000; ++i) (void)issuer.Issue();
  EXPECT_EQ(guard.ShareCount(), 0u);
  EXPECT_EQ(guard.ApproximateBytes(), 0u);
}

TEST(EabNames, PatternsAllowExactNamesAndOneLabelBelowAWildcard) {
  const std::vector<std::string> p = {"*.example.com", "host.example.org"};
  EXPECT_TRUE(NameAllowed(p, "host.example.org"));
  EXPECT_TRUE(NameAllowed(p, "*.example.com"));
  EXPECT_TRUE(NameAllowed(p, "www.example.com"));
  EXPECT_FALSE(NameAllowed(p, "a.b.example.com"));
  EXPECT_FALSE(NameAllowed(p, "example.com"));
  EXPECT_FALSE(NameAllowed(p, "www.example.org"));
  EXPECT_FALSE(NameAllowed(p, "evilexample.com"));
  EXPECT_TRUE(NameAllowed({}, "anything.example.net"));
}

}  // namespace
}  // namespace certplan::acme
