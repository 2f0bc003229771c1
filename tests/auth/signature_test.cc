// Signature V1 and V3 against the vectors of spec/cas-api.md Appendix A (generated from the
// official SDKs' own signing helpers).
#include <gtest/gtest.h>

#include "auth/canonical_request.h"
#include "auth/signed_request.h"
#include "rpc/params.h"

namespace certplan::auth {
namespace {

constexpr const char* kEmptyHash =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char* kDate = "2026-01-15T08:30:00Z";
constexpr const char* kNonce = "5c2a8f0e6b3d4a1f9e7c0b8d2a6f4e13";

struct V3Case {
  std::string query;
  std::vector<std::pair<std::string, std::string>> headers;  // signed ones, in order
  std::string body;
  std::string algorithm = "ACS3-HMAC-SHA256";
  std::string key_id = "testid";
  std::string secret = "testsecret";
  std::string signature;
};

rpc::Request BuildV3(const V3Case& c) {
  rpc::Request req;
  req.method = "POST";
  req.path = "/";
  req.query = c.query;
  req.body = c.body;
  std::string names;
  for (const auto& [n, v] : c.headers) {
    req.headers.emplace_back(n, v);
    names += (names.empty() ? "" : ";") + n;
  }
  // Sent but not signed by the Node SDK: must not matter.
  req.headers.emplace_back("user-agent",
                           "AlibabaCloud (linux; x64) Node.js/v20.20.2 Core/1.0.1 TeaDSL/2");
  req.headers.emplace_back("accept", "application/json");
  req.headers.emplace_back("authorization", c.algorithm + " Credential=" + c.key_id +
                                                ",SignedHeaders=" + names +
                                                ",Signature=" + c.signature);
  return req;
}

Status VerifyV3Case(const V3Case& c) {
  rpc::Request req = BuildV3(c);
  const bool form = !c.body.empty();
  Result<rpc::Params> params = rpc::Params::Decode(req.query, form ? req.body : "");
  EXPECT_TRUE(params);
  Result<SignedRequest> claim = ParseSignedRequest(req, *params);
  if (!claim) return claim.error();
  EXPECT_EQ(claim->access_key_id, c.key_id);
  return VerifySignature(*claim, req, *params, c.secret);
}

std::vector<std::pair<std::string, std::string>> CasHeaders(std::string action,
                                                            std::string hash = kEmptyHash,
                                                            bool provider = true) {
  std::vector<std::pair<std::string, std::string>> h = {
      {"host", "cas.aliyuncs.com"}, {"x-acs-action", action}, {"x-acs-content-sha256", hash}};
  if (provider) h.emplace_back("x-acs-credentials-provider", "static_ak");
  h.emplace_back("x-acs-date", kDate);
  h.emplace_back("x-acs-signature-nonce", kNonce);
  h.emplace_back("x-acs-version", "2020-04-07");
  return h;
}

TEST(SignatureV3, PublishedExampleV3_0a) {
  V3Case c;
  c.query = "ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai";
  c.headers = {{"host", "ecs.cn-shanghai.aliyuncs.com"},
               {"x-acs-action", "RunInstances"},
               {"x-acs-content-sha256", kEmptyHash},
               {"x-acs-date", "2023-10-26T10:22:32Z"},
               {"x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"},
               {"x-acs-version", "2014-05-26"}};
  c.key_id = "YourAccessKeyId";
  c.secret = "YourAccessKeySecret";
  c.signature = "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0";
  EXPECT_TRUE(VerifyV3Case(c));
}

TEST(SignatureV3, DescribePackageStateV3_1) {
  V3Case c;
  c.query = "ProductCode=digicert-free-1-free";
  c.headers = CasHeaders("DescribePackageState");
  c.signature = "b4da7c9a44ff09409129003533f1a5cf9c9613a9b76ca52e0b4a135e2ceb4f61";
  EXPECT_TRUE(VerifyV3Case(c));
}

TEST(SignatureV3, MinimalHeaderSetV3_2) {
  V3Case c;
  c.query = "ProductCode=digicert-free-1-free";
  c.headers = CasHeaders("DescribePackageState", kEmptyHash, false);
  c.signature = "4a1d73ef1e1bcb4f199ab8548c50f257e01a50b13c750a51efc792aad5ddc0a3";
  EXPECT_TRUE(VerifyV3Case(c));
}

TEST(SignatureV3, EmptyQueryV3_3) {
  V3Case c;
  c.headers = CasHeaders("DescribePackageState");
  c.signature = "b2466331375cc444527dd9573519c0cc89d0f1d24212958d7df64e3d434376d1";
  EXPECT_TRUE(VerifyV3Case(c));
}

TEST(SignatureV3, StsAndCharactersNeedingEncodingV3_4) {
  V3Case c;
  c.query =
      "Domain=*.example.com&ProductCode=geotrust-dv-w-starter&Tags.1.Key=k%201&Tags.1.Value=v*~%2B%"
      "2F%C3%A9!%27()&Username=%E5%BC%A0%E4%B8%89&ValidateType=DNS";
  c.headers = {{"host", "cas.aliyuncs.com"},
               {"x-acs-accesskey-id", "testid"},
               {"x-acs-action", "CreateCertificateForPackageRequest"},
               {"x-acs-content-sha256", kEmptyHash},
               {"x-acs-credentials-provider", "static_sts"},
               {"x-acs-date", kDate},
               {"x-acs-security-token", "STS.TestToken/abc+="},
               {"x-acs-signature-nonce", kNonce},
               {"x-acs-version", "2020-04-07"}};
  c.signature = "895ad7bf52c454f7e0dc79b7fcc6ead200b6e62b354a93ab6a17472c30715462";
  EXPECT_TRUE(VerifyV3Case(c));
}

TEST(SignatureV3, FormBodySignsContentTypeV3_5) {
  V3Case c;
  c.body = "OrderId=123451222";
  c.headers = {{"content-type", "application/x-www-form-urlencoded"}};
  for (auto& h : CasHeaders("DeleteCertificateRequest",
                            "ae27eb6d1595f76b5e77b631cb78281295c7dc88d36fbf4f0f98b84089eb61b8")) {
    c.headers.push_back(h);
  }
  c.signature = "2d33c421b1182a1e22555c989eec4edc1d869c1bfa6c4f8c31b45ed1c45128c4";
  EXPECT_TRUE(VerifyV3Case(c));
}

TEST(SignatureV3, Sm3V3_6) {
  V3Case c;
  c.algorithm = "ACS3-HMAC-SM3";
  c.query = "ProductCode=digicert-free-1-free";
  c.headers = CasHeaders("DescribePackageState",
                         "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b");
  c.signature = "225e323a188999dff7088092806943f8fc943693f7dc2b715cd30def0849c49b";
  EXPECT_TRUE(VerifyV3Case(c));
}

TEST(SignatureV3, PemCsrInQueryV3_8) {
  V3Case c;
  c.query =
      "Csr=-----BEGIN%20CERTIFICATE%20REQUEST-----%0AMIIBfake%2B%2F%3D%0A-----END%20CERTIFICATE%"
      "20REQUEST-----&Email=a%40example.com&Phone=1390000&ProductCode=digicert-free-1-free&"
      "Username=Tom&ValidateType=FILE";
  c.headers = CasHeaders("CreateCertificateWithCsrRequest");
  c.signature = "43c90af8be7a4ca4da79fd11c4d2a82f8bd19318a1282eecd3aedb20f8a74a36";
  EXPECT_TRUE(VerifyV3Case(c));
}

V3Case Valid31() {
  V3Case c;
  c.query = "ProductCode=digicert-free-1-free";
  c.headers = CasHeaders("DescribePackageState");
  c.signature = "b4da7c9a44ff09409129003533f1a5cf9c9613a9b76ca52e0b4a135e2ceb4f61";
  return c;
}

TEST(SignatureV3, WrongSecretDoesNotMatch) {
  V3Case c = Valid31();
  c.secret = "othersecret";
  Status s = VerifyV3Case(c);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kSignatureDoesNotMatch);
  EXPECT_NE(s.error().message.find("server string to sign is:ACS3-HMAC-SHA256\n"),
            std::string::npos);
}

TEST(SignatureV3, TamperedQueryDoesNotMatch) {
  V3Case c = Valid31();
  c.query = "ProductCode=symantec-free-1-free";
  Status s = VerifyV3Case(c);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kSignatureDoesNotMatch);
}

TEST(SignatureV3, BodyNotMatchingContentHashIsRejected) {
  V3Case c;
  c.body = "OrderId=999";  // hash below is of OrderId=123451222
  c.headers = {{"content-type", "application/x-www-form-urlencoded"}};
  for (auto& h : CasHeaders("DeleteCertificateRequest",
                            "ae27eb6d1595f76b5e77b631cb78281295c7dc88d36fbf4f0f98b84089eb61b8")) {
    c.headers.push_back(h);
  }
  c.signature = "2d33c421b1182a1e22555c989eec4edc1d869c1bfa6c4f8c31b45ed1c45128c4";
  Status s = VerifyV3Case(c);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kSignatureDoesNotMatch);
}

TEST(SignatureV3, UnsortedSignedHeadersAreIncomplete) {
  V3Case c = Valid31();
  std::swap(c.headers[0], c.headers[1]);
  Status s = VerifyV3Case(c);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kIncompleteSignature);
}

TEST(SignatureV3, MissingRequiredSignedHeaderIsIncomplete) {
  for (const char* dropped : {"host", "x-acs-action", "x-acs-content-sha256", "x-acs-date",
                              "x-acs-signature-nonce", "x-acs-version"}) {
    V3Case c = Valid31();
    std::erase_if(c.headers, [&](auto& h) { return h.first == dropped; });
    Status s = VerifyV3Case(c);
    ASSERT_FALSE(s) << dropped;
    EXPECT_EQ(s.error().code, ErrorCode::kIncompleteSignature) << dropped;
  }
}

TEST(SignatureV3, UppercaseSignedHeaderIsIncomplete) {
  V3Case c = Valid31();
  c.headers.insert(c.headers.begin(), {"X-Extra", "1"});
  Status s = VerifyV3Case(c);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kIncompleteSignature);
}

TEST(SignatureV3, UnparsableAuthorizationIsIncomplete) {
  rpc::Request req = BuildV3(Valid31());
  for (auto& [n, v] : req.headers) {
    if (n == "authorization") v = "ACS3-HMAC-SHA256 garbage";
  }
  Result<rpc::Params> params = rpc::Params::Decode(req.query, "");
  Result<SignedRequest> claim = ParseSignedRequest(req, *params);
  ASSERT_FALSE(claim);
  EXPECT_EQ(claim.error().code, ErrorCode::kIncompleteSignature);
}

TEST(SignatureV3, UnsupportedAlgorithmsAreRefused) {
  for (const char* alg : {"ACS3-RSA-SHA256", "ACS4-HMAC-SHA256", "Bearer"}) {
    V3Case c = Valid31();
    c.algorithm = alg;
    Status s = VerifyV3Case(c);
    ASSERT_FALSE(s) << alg;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidSignatureMethod) << alg;
  }
}

TEST(SignatureScheme, NoSignatureAtAllIsMissingParameter) {
  rpc::Request req;
  req.method = "GET";
  req.path = "/";
  req.query = "Action=DescribePackageState";
  Result<rpc::Params> params = rpc::Params::Decode(req.query, "");
  Result<SignedRequest> claim = ParseSignedRequest(req, *params);
  ASSERT_FALSE(claim);
  EXPECT_EQ(claim.error().code, ErrorCode::kMissingParameter);
  EXPECT_NE(claim.error().message.find("\"Signature\""), std::string::npos);
}

// ---- V1 ----

Status VerifyV1(const std::string& method, const std::string& query, const std::string& body,
                const std::string& secret = "testsecret") {
  rpc::Request req;
  req.method = method;
  req.path = "/";
  req.query = query;
  req.body = body;
  // pop-core and openapi-core send these unsigned on V1 requests too; they must be ignored.
  req.headers = {{"x-acs-action", "Ignored"}, {"x-acs-version", "1999-01-01"}};
  Result<rpc::Params> params = rpc::Params::Decode(query, body);
  EXPECT_TRUE(params);
  Result<SignedRequest> claim = ParseSignedRequest(req, *params);
  if (!claim) return claim.error();
  EXPECT_EQ(claim->scheme, Scheme::kV1);
  EXPECT_NE(claim->action, "Ignored");
  return VerifySignature(*claim, req, *params, secret);
}

TEST(SignatureV1, PublishedExampleV1_0) {
  EXPECT_TRUE(
      VerifyV1("GET",
               "AccessKeyId=testid&Action=DescribeRegions&Format=XML&SignatureMethod=HMAC-SHA1&"
               "SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf&SignatureVersion=1.0&"
               "Timestamp=2016-02-23T12%3A46%3A24Z&Version=2014-05-26&Signature="
               "OLeaidS1JvxuMvnyHOwuJ%2BuX5qY%3D",
               ""));
}

TEST(SignatureV1, OpenApiCorePostInQueryV1_1) {
  EXPECT_TRUE(
      VerifyV1("POST",
               "Action=DescribePackageState&Format=json&Version=2020-04-07&Timestamp=2026-01-"
               "15T08%3A30%3A00Z&SignatureNonce=5c2a8f0e6b3d4a1f9e7c0b8d2a6f4e13&ProductCode="
               "digicert-free-1-free&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&"
               "AccessKeyId=testid&Signature=F2PQNvz1uFePtXtf%2F7kArnO6O3o%3D",
               ""));
}

TEST(SignatureV1, PopCoreGetV1_2) {
  EXPECT_TRUE(
      VerifyV1("GET",
               "AccessKeyId=testid&Action=DescribeCertificateState&Format=JSON&OrderId="
               "123451222&SecurityToken=STS.TestToken%2Fabc%2B%3D&SignatureMethod=HMAC-SHA1&"
               "SignatureNonce=5c2a8f0e6b3d4a1f9e7c0b8d2a6f4e13&SignatureVersion=1.0&"
               "Timestamp=2026-01-15T08%3A30%3A00Z&Version=2020-04-07&Signature=%"
               "2BkmULI75Idt6SgVMxUEaKf%2B7adE%3D",
               ""));
}

TEST(SignatureV1, GoSdkFormBodyWithEmptySignatureTypeV1_3) {
  const std::string body =
      "AccessKeyId=testid&Action=CreateCertificateForPackageRequest&Domain=%2A.example.com&Format="
      "JSON&RegionId=cn-hangzhou&SignatureMethod=HMAC-SHA1&SignatureNonce="
      "5c2a8f0e6b3d4a1f9e7c0b8d2a6f4e13&SignatureType=&SignatureVersion=1.0&Tags.1.Key=k%201&Tags."
      "1.Value=v%2A~%2B%2F%C3%A9%21%27%28%29&Timestamp=2026-01-15T08%3A30%3A00Z&Username=Tom%"
      "20Zhang&Version=2020-04-07&Signature=9TiMZlsWCpkcTWC8VTapRW1j2%2B4%3D";
  EXPECT_TRUE(VerifyV1("POST", "", body));
}

TEST(SignatureV1, PlusInFormMeansSpace) {
  // Go SDK forms encode spaces as '+': the same request must still verify (V1-3 with '+').
  const std::string body =
      "AccessKeyId=testid&Action=CreateCertificateForPackageRequest&Domain=%2A.example.com&Format="
      "JSON&RegionId=cn-hangzhou&SignatureMethod=HMAC-SHA1&SignatureNonce="
      "5c2a8f0e6b3d4a1f9e7c0b8d2a6f4e13&SignatureType=&SignatureVersion=1.0&Tags.1.Key=k+1&Tags."
      "1.Value=v%2A~%2B%2F%C3%A9%21%27%28%29&Timestamp=2026-01-15T08%3A30%3A00Z&Username=Tom+"
      "Zhang&Version=2020-04-07&Signature=9TiMZlsWCpkcTWC8VTapRW1j2%2B4%3D";
  EXPECT_TRUE(VerifyV1("POST", "", body));
}

TEST(SignatureV1, WrongMethodDoesNotMatch) {
  Status s =
      VerifyV1("POST",
               "AccessKeyId=testid&Action=DescribeRegions&Format=XML&SignatureMethod=HMAC-SHA1&"
               "SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf&SignatureVersion=1.0&"
               "Timestamp=2016-02-23T12%3A46%3A24Z&Version=2014-05-26&Signature="
               "OLeaidS1JvxuMvnyHOwuJ%2BuX5qY%3D",
               "");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kSignatureDoesNotMatch);
}

TEST(SignatureV1, UnsupportedSignatureMethodOrVersion) {
  const std::string base =
      "AccessKeyId=testid&Action=DescribePackageState&Timestamp=2026-01-15T08%3A30%3A00Z&"
      "SignatureNonce=n1&Version=2020-04-07&Signature=x&";
  for (std::string tail :
       {"SignatureMethod=HMAC-SHA256&SignatureVersion=1.0",
        "SignatureMethod=HMAC-SHA1&SignatureVersion=2.0",
        "SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&SignatureType=BEARERTOKEN"}) {
    Status s = VerifyV1("GET", base + tail, "");
    ASSERT_FALSE(s) << tail;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidSignatureMethod) << tail;
  }
}

TEST(SignatureV1, MissingCommonParameters) {
  const std::string full =
      "AccessKeyId=testid&Timestamp=2026-01-15T08%3A30%3A00Z&SignatureNonce=n1&"
      "SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&Signature=x";
  for (std::string name :
       {"AccessKeyId", "Timestamp", "SignatureNonce", "SignatureMethod", "SignatureVersion"}) {
    std::string query = full;
    const size_t at = query.find(name + "=");
    const size_t end = query.find('&', at);
    query.erase(at, end - at + 1);
    Status s = VerifyV1("GET", query, "");
    ASSERT_FALSE(s) << name;
    EXPECT_EQ(s.error().code, ErrorCode::kMissingParameter) << name;
    EXPECT_NE(s.error().message.find(name), std::string::npos);
  }
}

TEST(CanonicalRequest, RepeatedHeadersAreTrimmedSortedAndJoined) {
  rpc::Request req;
  req.headers = {{"x-b", "  two "}, {"x-a", "\tone"}, {"x-b", "one"}};
  EXPECT_EQ(CanonicalHeaders(req, {"x-a", "x-b"}), "x-a:one\nx-b:one,two\n");
}

TEST(CanonicalRequest, QuerySortsByNameThenValueAndEncodesStrictly) {
  EXPECT_EQ(CanonicalQuery({{"b", "2"}, {"a", "x y*"}, {"a", "!"}}), "a=%21&a=x%20y%2A&b=2");
  EXPECT_EQ(CanonicalQuery({}), "");
}

}  // namespace
}  // namespace certplan::auth
