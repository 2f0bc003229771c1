#include "acme/jws.h"

#include <vector>

#include <gtest/gtest.h>

#include "acme/base64url.h"
#include "acme/test_signer.h"

namespace certplan::acme {
namespace {

using testing::EcKey;
using testing::JwsBody;

const nlohmann::json kHeader = {
    {"url", "https://h/acme/new-order"}, {"nonce", "n"}, {"kid", "https://h/acme/acct/1"}};

ProblemType ParseProblem(const std::string& body) {
  Outcome<Jws> r = ParseJws(body);
  EXPECT_FALSE(r);
  return r ? ProblemType::kServerInternal : r.problem().type;
}

TEST(Base64Url, StrictDecoding) {
  EXPECT_EQ(*Base64UrlDecode(Base64UrlEncode("\xff\xfe\x01")), "\xff\xfe\x01");
  EXPECT_FALSE(Base64UrlDecode("AQ=="));  // padding
  EXPECT_FALSE(Base64UrlDecode("A+/B"));  // standard alphabet
  EXPECT_FALSE(Base64UrlDecode("A"));     // impossible length
  EXPECT_FALSE(Base64UrlDecode("AR"));    // non-zero trailing bits
  EXPECT_EQ(*Base64UrlDecode(""), "");
}

TEST(Jws, ParsesAFlattenedJws) {
  testing::TestKey k = EcKey();
  Outcome<Jws> r = ParseJws(JwsBody(k, kHeader, "{}"));
  ASSERT_TRUE(r) << r.problem().detail;
  EXPECT_EQ(r->kid, "https://h/acme/acct/1");
  EXPECT_EQ(r->nonce, "n");
  EXPECT_EQ(r->payload, "{}");
  EXPECT_TRUE(*Verify(*r, *ReadJwk(k.jwk)));
}

TEST(Jws, RefusesMalformedShapes) {
  testing::TestKey k = EcKey();
  EXPECT_EQ(ParseProblem("not json"), ProblemType::kMalformed);
  nlohmann::json both = kHeader;
  both["jwk"] = k.jwk;
  EXPECT_EQ(ParseProblem(JwsBody(k, both, "{}")), ProblemType::kMalformed);
  nlohmann::json neither = kHeader;
  neither.erase("kid");
  EXPECT_EQ(ParseProblem(JwsBody(k, neither, "{}")), ProblemType::kMalformed);
  nlohmann::json unprotected = nlohmann::json::parse(JwsBody(k, kHeader, "{}"));
  unprotected["header"] = {{"kid", "x"}};
  EXPECT_EQ(ParseProblem(unprotected.dump()), ProblemType::kMalformed);
  nlohmann::json general = nlohmann::json::parse(JwsBody(k, kHeader, "{}"));
  general["signatures"] = nlohmann::json::array();
  EXPECT_EQ(ParseProblem(general.dump()), ProblemType::kMalformed);
  nlohmann::json no_url = kHeader;
  no_url.erase("url");
  EXPECT_EQ(ParseProblem(JwsBody(k, no_url, "{}")), ProblemType::kUnauthorized);
}

TEST(Jws, RefusesAlgorithmsOutsideTheList) {
  testing::TestKey k = EcKey();
  for (const char* alg : {"none", "HS256", "RS512", "ES512"}) {
    nlohmann::json h = kHeader;
    h["alg"] = alg;
    EXPECT_EQ(ParseProblem(JwsBody(k, h, "{}")), ProblemType::kBadSignatureAlgorithm) << alg;
  }
}

TEST(Jws, BadSignatureIsMalformed) {
  testing::TestKey k = EcKey();
  nlohmann::json body = nlohmann::json::parse(JwsBody(k, kHeader, "{}"));
  std::string sig = *Base64UrlDecode(body["signature"].get<std::string>());
  sig[3] ^= 1;
  body["signature"] = Base64UrlEncode(sig);
  Outcome<Jws> r = ParseJws(body.dump());
  ASSERT_TRUE(r);
  Outcome<bool> v = Verify(*r, *ReadJwk(k.jwk));
  ASSERT_FALSE(v);
  EXPECT_EQ(v.problem().type, ProblemType::kMalformed);
}

TEST(Jws, DerEncodedEcdsaSignatureIsRefused) {
  testing::TestKey k = EcKey();
  Outcome<Jws> r = ParseJws(JwsBody(k, kHeader, "{}", /*der=*/true));
  ASSERT_TRUE(r);
  Outcome<bool> v = Verify(*r, *ReadJwk(k.jwk));
  ASSERT_FALSE(v);
  EXPECT_EQ(v.problem().type, ProblemType::kMalformed);
}

TEST(Jws, AlgorithmMustFitTheKey) {
  testing::TestKey k = EcKey();
  nlohmann::json h = kHeader;
  h["alg"] = "ES384";
  Outcome<Jws> r = ParseJws(JwsBody(k, h, "{}"));
  ASSERT_TRUE(r);
  Outcome<bool> v = Verify(*r, *ReadJwk(k.jwk));
  ASSERT_FALSE(v);
  EXPECT_EQ(v.problem().type, ProblemType::kBadSignatureAlgorithm);
}

TEST(Jws, EveryListedAlgorithmVerifies) {
  std::vector<testing::TestKey> keys;
  keys.push_back(EcKey("P-256"));
  keys.push_back(EcKey("P-384"));
  keys.push_back(testing::RsaKey());
  keys.push_back(testing::Ed25519Key());
  for (const testing::TestKey& k : keys) {
    Outcome<Jws> r = ParseJws(JwsBody(k, kHeader, ""));
    ASSERT_TRUE(r) << k.alg;
    Outcome<bool> v = Verify(*r, *ReadJwk(k.jwk));
    EXPECT_TRUE(v) << k.alg << ": " << (v ? "" : v.problem().detail);
    EXPECT_EQ(r->payload, "");  // POST-as-GET
  }
}

TEST(Jws, SmallRsaKeyIsABadPublicKey) {
  testing::TestKey k = testing::RsaKey(1024);
  Outcome<Jws> r = ParseJws(JwsBody(k, kHeader, "{}"));
  ASSERT_TRUE(r);
  Outcome<bool> v = Verify(*r, *ReadJwk(k.jwk));
  ASSERT_FALSE(v);
  EXPECT_EQ(v.problem().type, ProblemType::kBadPublicKey);
}

TEST(Jws, EcPointOffTheCurveIsABadPublicKey) {
  testing::TestKey k = EcKey();
  k.jwk["y"] = Base64UrlEncode(std::string(32, '\x01'));
  Outcome<Jws> r = ParseJws(JwsBody(k, kHeader, "{}"));
  ASSERT_TRUE(r);
  Outcome<bool> v = Verify(*r, *ReadJwk(k.jwk));
  ASSERT_FALSE(v);
  EXPECT_EQ(v.problem().type, ProblemType::kBadPublicKey);
}

TEST(Jws, EcCoordinateOutsideTheFieldIsABadPublicKey) {
  // x = 2^256 - 1 is above P-256's prime: no point, whatever y is.
  testing::TestKey k = EcKey();
  k.jwk["x"] = Base64UrlEncode(std::string(32, '\xff'));
  Outcome<Jws> r = ParseJws(JwsBody(k, kHeader, "{}"));
  ASSERT_TRUE(r);
  Outcome<bool> v = Verify(*r, *ReadJwk(k.jwk));
  ASSERT_FALSE(v);
  EXPECT_EQ(v.problem().type, ProblemType::kBadPublicKey);
}

TEST(Jws, EcSignatureByAnotherKeyIsMalformed) {
  // Both keys are valid points: the signature, not the key, is refused.
  testing::TestKey signer = EcKey("P-384");
  testing::TestKey other = EcKey("P-384");
  Outcome<Jws> r = ParseJws(JwsBody(signer, kHeader, "{}"));
  ASSERT_TRUE(r);
  Outcome<bool> v = Verify(*r, *ReadJwk(other.jwk));
  ASSERT_FALSE(v);
  EXPECT_EQ(v.problem().type, ProblemType::kMalformed);
}

TEST(Jws, Rfc7638ThumbprintExample) {
  const nlohmann::json jwk = {
      {"kty", "RSA"},
      {"n",
       "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
       "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-"
       "65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
       "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"},
      {"e", "AQAB"},
      {"alg", "RS256"},
      {"kid", "2011-04-29"}};
  EXPECT_EQ(Thumbprint(jwk), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  EXPECT_EQ(Thumbprint({{"kty", "EC"}, {"crv", "P-256"}}), "");
}

}  // namespace
}  // namespace certplan::acme
