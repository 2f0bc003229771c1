#include "iam/policy.h"

#include <gtest/gtest.h>

#include "core/time_format.h"
#include "iam/system_policies.h"

namespace certplan::iam {
namespace {

RequestFacts Facts(std::string action, std::string ip = "127.0.0.1") {
  return RequestFacts{std::move(action), "acs:yundun-cert:*:42:*", std::move(ip), false,
                      *ParseIso8601Utc("2026-06-01T00:00:00Z")};
}

Policy Must(std::string_view doc) {
  Result<Policy> p = Policy::Parse(doc);
  EXPECT_TRUE(p) << (p ? "" : p.error().message);
  return p ? std::move(*p) : Policy();
}

Decision Decide(std::initializer_list<const Policy*> policies, const RequestFacts& f) {
  return Evaluate(std::vector<const Policy*>(policies), f);
}

TEST(Wildcard, StarAndQuestionMark) {
  EXPECT_TRUE(WildcardMatch("*", "", false));
  EXPECT_TRUE(WildcardMatch("yundun-cert:*", "yundun-cert:DescribePackageState", false));
  EXPECT_TRUE(
      WildcardMatch("yundun-cert:Describe*", "yundun-cert:DescribeCertificateState", false));
  EXPECT_FALSE(
      WildcardMatch("yundun-cert:Describe*", "yundun-cert:ListUserCertificateOrder", false));
  EXPECT_TRUE(WildcardMatch("a?c", "abc", false));
  EXPECT_FALSE(WildcardMatch("a?c", "ac", false));
  EXPECT_TRUE(WildcardMatch("*a*b*", "xxaxxbxx", false));
  EXPECT_FALSE(WildcardMatch("*a*b", "xxaxxbxxc", false));
  EXPECT_TRUE(WildcardMatch("YUNDUN-cert:describe*", "yundun-cert:DescribePackageState", true));
  EXPECT_FALSE(WildcardMatch("YUNDUN-cert:describe*", "yundun-cert:DescribePackageState", false));
  EXPECT_TRUE(WildcardMatch("**", "anything", false));
  EXPECT_TRUE(WildcardMatch(std::string(50, '*') + "b", std::string(2000, 'a') + "b", false));
}

TEST(Evaluate, ImplicitDenyWithoutPolicies) {
  EXPECT_EQ(Decide({}, Facts("yundun-cert:DescribePackageState")), Decision::kImplicitDeny);
}

TEST(Evaluate, ExplicitDenyBeatsWildcardAllow) {
  Policy allow = Must(SystemPolicyDocument(kFullAccessPolicyName));
  Policy deny = Must(
      R"({"Version":"1","Statement":[{"Effect":"Deny","Action":"yundun-cert:DeleteCertificateRequest","Resource":"*"}]})");
  EXPECT_EQ(Decide({&allow, &deny}, Facts("yundun-cert:DeleteCertificateRequest")),
            Decision::kExplicitDeny);
  EXPECT_EQ(Decide({&deny, &allow}, Facts("yundun-cert:DeleteCertificateRequest")),
            Decision::kExplicitDeny);
  EXPECT_EQ(Decide({&allow, &deny}, Facts("yundun-cert:CancelOrderRequest")), Decision::kAllow);
}

TEST(Evaluate, ReadOnlyPolicy) {
  Policy ro = Must(SystemPolicyDocument(kReadOnlyPolicyName));
  EXPECT_EQ(Decide({&ro}, Facts("yundun-cert:DescribePackageState")), Decision::kAllow);
  EXPECT_EQ(Decide({&ro}, Facts("yundun-cert:ListUserCertificateOrder")), Decision::kAllow);
  EXPECT_EQ(Decide({&ro}, Facts("yundun-cert:CreateCertificateRequest")), Decision::kImplicitDeny);
}

TEST(Evaluate, MultipleStatementsAndResources) {
  Policy p = Must(R"({"Version":"1","Statement":[
    {"Effect":"Allow","Action":["yundun-cert:Create*"],"Resource":"acs:yundun-cert:*:99:*"},
    {"Effect":"Allow","Action":"yundun-cert:DescribePackageState","Resource":["acs:yundun-cert:*:42:*"]}]})");
  EXPECT_EQ(Decide({&p}, Facts("yundun-cert:CreateCertificateRequest")), Decision::kImplicitDeny);
  EXPECT_EQ(Decide({&p}, Facts("yundun-cert:DescribePackageState")), Decision::kAllow);
}

TEST(Conditions, SourceIp) {
  Policy p =
      Must(R"({"Version":"1","Statement":[{"Effect":"Allow","Action":"yundun-cert:*","Resource":"*",
    "Condition":{"IpAddress":{"acs:SourceIp":["127.0.0.1/32","10.0.0.0/8"]}}}]})");
  EXPECT_EQ(Decide({&p}, Facts("yundun-cert:X", "127.0.0.1")), Decision::kAllow);
  EXPECT_EQ(Decide({&p}, Facts("yundun-cert:X", "10.200.3.4")), Decision::kAllow);
  EXPECT_EQ(Decide({&p}, Facts("yundun-cert:X", "127.0.0.2")), Decision::kImplicitDeny);
  EXPECT_EQ(Decide({&p}, Facts("yundun-cert:X", "::1")), Decision::kImplicitDeny);
  Policy not_ip = Must(R"({"Version":"1","Statement":[{"Effect":"Deny","Action":"*","Resource":"*",
    "Condition":{"NotIpAddress":{"acs:SourceIp":"::1/128"}}}]})");
  EXPECT_EQ(Decide({&not_ip}, Facts("yundun-cert:X", "::1")), Decision::kImplicitDeny);
  EXPECT_EQ(Decide({&not_ip}, Facts("yundun-cert:X", "127.0.0.1")), Decision::kExplicitDeny);
}

TEST(Conditions, CurrentTimeSecureTransportAndStrings) {
  Policy window =
      Must(R"({"Version":"1","Statement":[{"Effect":"Allow","Action":"yundun-cert:*","Resource":"*",
    "Condition":{"DateGreaterThan":{"acs:CurrentTime":"2026-01-01T00:00:00Z"},
                 "DateLessThan":{"acs:CurrentTime":"2026-12-31T23:59:59+08:00"}}}]})");
  RequestFacts f = Facts("yundun-cert:X");
  EXPECT_EQ(Decide({&window}, f), Decision::kAllow);
  f.now = *ParseIso8601Utc("2027-01-01T00:00:00Z");
  EXPECT_EQ(Decide({&window}, f), Decision::kImplicitDeny);
  Policy tls =
      Must(R"({"Version":"1","Statement":[{"Effect":"Allow","Action":"yundun-cert:*","Resource":"*",
    "Condition":{"Bool":{"acs:SecureTransport":"true"}}}]})");
  EXPECT_EQ(Decide({&tls}, Facts("yundun-cert:X")), Decision::kImplicitDeny);
  RequestFacts secure = Facts("yundun-cert:X");
  secure.secure_transport = true;
  EXPECT_EQ(Decide({&tls}, secure), Decision::kAllow);
  Policy like =
      Must(R"({"Version":"1","Statement":[{"Effect":"Allow","Action":"yundun-cert:*","Resource":"*",
    "Condition":{"StringLike":{"acs:SourceIp":"127.0.0.*"},"StringNotEquals":{"acs:SourceIp":"127.0.0.9"}}}]})");
  EXPECT_EQ(Decide({&like}, Facts("yundun-cert:X", "127.0.0.5")), Decision::kAllow);
  EXPECT_EQ(Decide({&like}, Facts("yundun-cert:X", "127.0.0.9")), Decision::kImplicitDeny);
}

TEST(PolicyParse, MalformedDocumentsAreRefusedWithAReason) {
  for (
      const char* bad : {
          "not json",
          "[]",
          R"({"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]})",
          R"({"Version":"2","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]})",
          R"({"Version":"1","Statement":[]})",
          R"({"Version":"1","Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]})",
          R"({"Version":"1","Statement":[{"Effect":"Allow","Resource":"*"}]})",
          R"({"Version":"1","Statement":[{"Effect":"Allow","Action":5,"Resource":"*"}]})",
          R"({"Version":"1","Statement":[{"Effect":"Allow","Action":"DescribePackageState","Resource":"*"}]})",
          R"({"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Extra":1}]})",
          R"({"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddres":{"acs:SourceIp":"1.2.3.4"}}}]})",
          R"({"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"acs:Nope":"1.2.3.4"}}}]})",
          R"({"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":"1.2.3.4/33"}}}]})",
          R"({"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"acs:CurrentTime":"2026-01-01T00:00:00Z"}}}]})",
          R"({"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThan":{"acs:CurrentTime":"tomorrow"}}}]})",
          R"({"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"acs:SecureTransport":"yes"}}}]})",
      }) {
    Result<Policy> p = Policy::Parse(bad);
    ASSERT_FALSE(p) << bad;
    EXPECT_EQ(p.error().code, ErrorCode::kInvalidParameter) << bad;
    EXPECT_NE(p.error().message.find("PolicyDocument"), std::string::npos);
  }
}

}  // namespace
}  // namespace certplan::iam
