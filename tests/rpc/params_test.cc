#include "rpc/params.h"

#include <limits>

#include <gtest/gtest.h>

#include "core/checked.h"
#include "rpc/percent.h"

namespace certplan::rpc {
namespace {

TEST(PercentDecode, DecodesEscapesInEitherCaseAndPlusAsSpace) {
  EXPECT_EQ(PercentDecode("a%2Fb%2fc+d%20e"), "a/b/c d e");
  EXPECT_EQ(PercentDecode("a+b", /*plus_is_space=*/false), "a+b");
}

TEST(PercentDecode, RejectsMalformedEscapes) {
  for (const char* bad : {"%", "%4", "abc%", "%GZ", "%-1"}) {
    EXPECT_FALSE(PercentDecode(bad)) << bad;
  }
}

TEST(PercentEncode, KeepsOnlyUnreserved) {
  EXPECT_EQ(PercentEncode("AZaz09-_.~ *!'()/+=é"), "AZaz09-_.~%20%2A%21%27%28%29%2F%2B%3D%C3%A9");
}

TEST(Utf8, AcceptsValidAndRejectsMalformed) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("张三 é 😀"));
  EXPECT_FALSE(IsValidUtf8("\xC3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xFF"));
}

TEST(Params, MergesQueryAndBody) {
  Result<Params> p = Params::Decode("A=1&B=two%20words", "C=%E5%BC%A0");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->Get("A"), "1");
  EXPECT_EQ(p->Get("B"), "two words");
  EXPECT_EQ(p->Get("C"), "张");
  EXPECT_EQ(p->query().size(), 2u);  // only the query's pairs are V3-signed
  EXPECT_EQ(p->all().size(), 3u);
}

TEST(Params, EmptyValueIsPresentButTreatedAsAbsent) {
  Result<Params> p = Params::Decode("SignatureType=&Flag", "");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->Raw("SignatureType"), "");
  EXPECT_FALSE(p->Get("SignatureType"));
  EXPECT_EQ(p->Raw("Flag"), "");
  Result<std::string_view> required = p->Require("SignatureType");
  ASSERT_FALSE(required);
  EXPECT_EQ(required.error().code, ErrorCode::kMissingParameter);
}

TEST(Params, SkipsEmptySegments) {
  Result<Params> p = Params::Decode("&&A=1&&", "");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->all().size(), 1u);
}

TEST(Params, RepeatedNameIsInvalid) {
  for (auto [query, body] : {std::pair{"A=1&A=2", ""}, std::pair{"A=1", "A=1"}}) {
    Result<Params> p = Params::Decode(query, body);
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().code, ErrorCode::kInvalidParameter);
    EXPECT_NE(p.error().message.find("\"A\""), std::string::npos);
  }
}

TEST(Params, BadEscapeOrUtf8IsInvalid) {
  for (const char* query : {"A=%ZZ", "A=%C3", "%FF=1", "=value"}) {
    Result<Params> p = Params::Decode(query, "");
    ASSERT_FALSE(p) << query;
    EXPECT_EQ(p.error().code, ErrorCode::kInvalidParameter) << query;
  }
}

TEST(Params, Int64Parsing) {
  Result<Params> p = Params::Decode("N=123451222&Big=9007199254740991&Bad=12x&Neg=-5", "");
  ASSERT_TRUE(p);
  EXPECT_EQ(*p->GetInt64("N"), 123451222);
  EXPECT_EQ(*p->GetInt64("Big"), 9007199254740991);
  EXPECT_EQ(*p->GetInt64("Neg"), -5);
  EXPECT_FALSE(*p->GetInt64("Absent"));
  Result<std::optional<int64_t>> bad = p->GetInt64("Bad");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidParameter);
}

TEST(Params, Int64InRange) {
  Result<Params> p = Params::Decode(
      "Page=184467440737095517&Max=9223372036854775807&Over=9223372036854775808&Zero=0&Size=1000"
      "&Big=1001&Bad=1e3",
      "");
  ASSERT_TRUE(p);
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(*p->GetInt64In("Page", 1, kMax), 184467440737095517);
  EXPECT_EQ(*p->GetInt64In("Max", 1, kMax), kMax);
  EXPECT_EQ(*p->GetInt64In("Size", 1, 1000), 1000);
  EXPECT_FALSE(*p->GetInt64In("Absent", 1, 10));
  for (const char* name : {"Over", "Zero", "Big", "Bad"}) {
    Result<std::optional<int64_t>> r = p->GetInt64In(name, 1, name[0] == 'B' ? 1000 : kMax);
    ASSERT_FALSE(r) << name;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
    EXPECT_NE(r.error().message.find(name), std::string::npos);
  }
}

TEST(Checked, ReportsOverflowInsteadOfWrapping) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(CheckedMul(184467440737095516, 100), std::nullopt);
  EXPECT_EQ(CheckedMul(4611686018427387904, 4), std::nullopt);
  EXPECT_EQ(CheckedMul(92233720368547758, 100), 9223372036854775800);
  EXPECT_EQ(CheckedAdd(kMax, 1), std::nullopt);
  EXPECT_EQ(CheckedAdd(kMax - 1, 1), kMax);
  EXPECT_EQ(CheckedSub(kMin, 1), std::nullopt);
  EXPECT_EQ(CheckedSub(0, kMax), -kMax);
}

}  // namespace
}  // namespace certplan::rpc

namespace certplan::rpc {
namespace {

TEST(JsonBody, ScalarsBecomeParametersAndArraysFlatten) {
  Result<std::vector<Params::Pair>> pairs = DecodeJsonBody(
      R"({"ProductCode":"symantec-free-1-free","CurrentPage":2,"CertFilter":true,)"
      R"("Tags":[{"Key":"team","Value":"a"},{"Key":"env","Value":"b"}],"Names":["x","y"]})");
  ASSERT_TRUE(pairs) << pairs.error().message;
  Result<Params> p = Params::Decode("Action=DescribePackageState", std::move(*pairs));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->Get("ProductCode"), "symantec-free-1-free");
  EXPECT_EQ(p->Get("CurrentPage"), "2");
  EXPECT_EQ(p->Get("CertFilter"), "true");
  EXPECT_EQ(p->Get("Tags.2.Key"), "env");
  EXPECT_EQ(p->Get("Tags.1.Value"), "a");
  EXPECT_EQ(p->Get("Names.2"), "y");
  EXPECT_EQ(p->query().size(), 1u);  // the body's parameters are not query parameters
}

TEST(JsonBody, AnythingElseIsInvalidParameter) {
  for (const char* body : {"", "[]", "\"x\"", "{", "{\"A\":null}", "{\"A\":{\"B\":1}}",
                           "{\"A\":[{\"B\":{}}]}", "{\"A\":[null]}", "{\"\":1}"}) {
    Result<std::vector<Params::Pair>> pairs = DecodeJsonBody(body);
    ASSERT_FALSE(pairs) << body;
    EXPECT_EQ(pairs.error().code, ErrorCode::kInvalidParameter) << body;
  }
}

TEST(JsonBody, ANameInBothQueryAndBodyIsInvalidParameter) {
  Result<std::vector<Params::Pair>> pairs = DecodeJsonBody(R"({"ProductCode":"a"})");
  ASSERT_TRUE(pairs);
  Result<Params> p = Params::Decode("ProductCode=b", std::move(*pairs));
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, ErrorCode::kInvalidParameter);
}

}  // namespace
}  // namespace certplan::rpc
