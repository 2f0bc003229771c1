#include "rpc/render.h"

#include <cstdint>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "core/utf8.h"
#include "rpc/errors.h"
#include "rpc/request_id.h"

namespace certplan::rpc {
namespace {

TEST(ErrorMapping, SpecStatusesAndCodes) {
  struct Row {
    ErrorCode code;
    int status;
    const char* wire;
  };
  // spec/cas-api.md §2.2 and §2.4.
  for (const Row& r : std::initializer_list<Row>{
           {ErrorCode::kMissingParameter, 400, "MissingParameter"},
           {ErrorCode::kInvalidParameter, 400, "InvalidParameter"},
           {ErrorCode::kInvalidFormat, 400, "InvalidParameter.Format"},
           {ErrorCode::kAccessKeyNotFound, 404, "InvalidAccessKeyId.NotFound"},
           {ErrorCode::kAccessKeyInactive, 400, "InvalidAccessKeyId.Inactive"},
           {ErrorCode::kIncompleteSignature, 400, "IncompleteSignature"},
           {ErrorCode::kSignatureDoesNotMatch, 400, "SignatureDoesNotMatch"},
           {ErrorCode::kInvalidSignatureMethod, 400, "InvalidSignatureMethod"},
           {ErrorCode::kInvalidTimestampFormat, 400, "InvalidTimeStamp.Format"},
           {ErrorCode::kTimestampExpired, 400, "InvalidTimeStamp.Expired"},
           {ErrorCode::kSignatureNonceUsed, 400, "SignatureNonceUsed"},
           {ErrorCode::kActionNotFound, 404, "InvalidAction.NotFound"},
           {ErrorCode::kInvalidVersion, 400, "InvalidVersion"},
           {ErrorCode::kUnsupportedHttpMethod, 403, "UnsupportedHTTPMethod"},
           {ErrorCode::kForbiddenRam, 403, "Forbidden.RAM"},
           {ErrorCode::kThrottling, 400, "Throttling.User"},
           {ErrorCode::kInternal, 500, "InternalError"},
           {ErrorCode::kServiceUnavailable, 503, "ServiceUnavailable"},
           {ErrorCode::kNotFoundPackage, 404, "NotFoundPackage"},
           {ErrorCode::kNotRemainCount, 404, "NotRemainCount"},
           {ErrorCode::kNotFoundOrder, 404, "NotFoundOrder"},
           {ErrorCode::kOrderStateError, 403, "OrderStateError"},
       }) {
    EXPECT_EQ(ToWire(r.code).status, r.status) << r.wire;
    EXPECT_EQ(ToWire(r.code).code, r.wire);
  }
}

TEST(Render, ErrorEnvelopeHasEveryField) {
  AnswerMeta meta{"ABC", "cas.example.com", Format::kJson};
  Response r = RenderError(Error(ErrorCode::kNotRemainCount, "used up", "secret detail"), meta);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/json;charset=utf-8");
  Reply body = Reply::parse(r.body);
  EXPECT_EQ(body["RequestId"], "ABC");
  EXPECT_EQ(body["HostId"], "cas.example.com");
  EXPECT_EQ(body["Code"], "NotRemainCount");
  EXPECT_EQ(body["Message"], "used up");
  EXPECT_NE(body["Recommend"].get<std::string>().find("NotRemainCount"), std::string::npos);
  EXPECT_EQ(r.body.find("secret detail"), std::string::npos);  // detail never on the wire
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "x-acs-request-id");
}

TEST(Render, SuccessJsonKeepsNumbersAsNumbers) {
  Reply reply = Reply::object();
  reply["TotalCount"] = 20;
  reply["ProductCode"] = "digicert-free-1-free";
  Response r = RenderSuccess("DescribePackageState", reply, AnswerMeta{"RID", "h", Format::kJson});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"RequestId":"RID","TotalCount":20,"ProductCode":"digicert-free-1-free"})");
}

// RenderSuccess writes JSON answers straight from the reply; the bytes must be those of
// dumping {"RequestId": id, …reply} as nlohmann does, whatever the reply holds.
TEST(Render, SuccessJsonIsTheDumpOfTheMergedObject) {
  auto merged_dump = [](const Reply& reply, const std::string& id) {
    Reply body = Reply::object();
    body["RequestId"] = id;
    for (const auto& [key, value] : reply.items()) body[key] = value;
    return body.dump(-1, ' ', false, Reply::error_handler_t::replace);
  };
  std::vector<Reply> replies;
  replies.push_back(Reply::object());
  Reply plain = Reply::object();
  plain["ProductCode"] = "digicert-free-1-free";
  plain["TotalCount"] = 20;
  plain["Negative"] = -7;
  plain["Min"] = std::numeric_limits<int64_t>::min();
  plain["Big"] = std::numeric_limits<uint64_t>::max();
  plain["Zero"] = 0;
  plain["Empty"] = "";
  plain["Del"] = "\x7f~ ";
  replies.push_back(plain);
  Reply odd = Reply::object();
  odd["Quote"] = "a\"b\\c";
  odd["Controls"] = std::string("\x01\b\t\n\f\r\x1f\0", 8);
  odd["Utf8"] = "\xe4\xb8\xad\xc3";  // one well-formed character, one ill-formed byte
  odd["Float"] = 1.5;
  odd["Bool"] = true;
  odd["Null"] = nullptr;
  odd["List"] = Reply::array({1, "x\"", Reply::object({{"K", false}})});
  odd["Nested"] = Reply::object({{"A", Reply::array()}, {"B", "\x02"}});
  odd["Key \"quoted\""] = 1;
  odd["K\xc3y"] = 2;
  replies.push_back(odd);
  Reply own_id = Reply::object();  // a reply's own RequestId takes the first field's place
  own_id["Before"] = 1;
  own_id["RequestId"] = "theirs";
  replies.push_back(own_id);
  for (const std::string id : {"RID", "3B7E4B51-2F0C-4E8B-9D55-1F2A6C0B9E17", "r\"\x01"}) {
    for (const Reply& reply : replies) {
      Response r = RenderSuccess("DescribePackageState", reply, AnswerMeta{id, "h", Format::kJson});
      EXPECT_EQ(r.body, merged_dump(reply, id)) << reply.dump();
      EXPECT_EQ(r.status, 200);
      EXPECT_EQ(r.content_type, "application/json;charset=utf-8");
      ASSERT_EQ(r.headers.size(), 1u);
      EXPECT_EQ(r.headers[0], std::make_pair(std::string("x-acs-request-id"), id));
    }
  }
}

TEST(Render, XmlUsesActionRootAndEscapes) {
  Reply reply = Reply::object();
  reply["Name"] = "a<b&c";
  reply["Items"] = Reply::array({1, 2});
  Response r = RenderSuccess("DescribePackageState", reply, AnswerMeta{"RID", "h", Format::kXml});
  EXPECT_EQ(r.content_type, "text/xml;charset=utf-8");
  EXPECT_EQ(r.body,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><DescribePackageStateResponse>"
            "<RequestId>RID</RequestId><Name>a&lt;b&amp;c</Name><Items>1</Items><Items>2</Items>"
            "</DescribePackageStateResponse>");
  Response e =
      RenderError(Error(ErrorCode::kInvalidVersion, "v"), AnswerMeta{"RID", "h", Format::kXml});
  EXPECT_NE(e.body.find("<Error><RequestId>RID</RequestId>"), std::string::npos);
  EXPECT_NE(e.body.find("<Code>InvalidVersion</Code>"), std::string::npos);
}

// Issue #12: the XML error body echoed raw Host bytes. HostId and messages carry client bytes.
TEST(Render, XmlStaysWellFormedWhateverTheValuesHold) {
  const std::string host = std::string("h\xff\xfe<&\"'\x01\x08\x0b\x0c\x1f\t\x7f", 14) +
                           std::string("\0", 1) + "\xef\xbf\xbe" + "\xed\xa0\x80" + "\xe4\xb8\xad";
  Response e = RenderError(Error(ErrorCode::kInvalidParameter, "bad \x02value \xc3"),
                           AnswerMeta{"RID", host, Format::kXml});
  const std::string r = "\xef\xbf\xbd";  // U+FFFD
  EXPECT_NE(e.body.find("<HostId>h" + r + r + "&lt;&amp;&quot;&apos;\t\x7f" + r + r + r +
                        "\xe4\xb8\xad</HostId>"),
            std::string::npos)
      << e.body;
  EXPECT_NE(e.body.find("<Message>bad value " + r + "</Message>"), std::string::npos) << e.body;
  // No character XML 1.0 forbids is left, and the whole body is well-formed UTF-8.
  for (unsigned char c : e.body) {
    EXPECT_TRUE(c >= 0x20 || c == '\t' || c == '\n' || c == '\r') << static_cast<int>(c);
  }
  EXPECT_EQ(e.body.find("\xef\xbf\xbe"), std::string::npos);  // U+FFFE
  std::string decoded;  // ill-formed UTF-8 would decode to U+FFFD and change the bytes
  for (size_t pos = 0; pos < e.body.size();) utf8::Append(decoded, utf8::Next(e.body, pos));
  EXPECT_EQ(decoded, e.body);
}

TEST(Render, JsonStaysValidWhateverTheValuesHold) {
  Response e = RenderError(Error(ErrorCode::kInvalidParameter, "bad \x02value \xc3"),
                           AnswerMeta{"RID", "h\xff\"\x01", Format::kJson});
  const Reply body = Reply::parse(e.body);
  EXPECT_EQ(body["HostId"], "h\xef\xbf\xbd\"\x01");
  EXPECT_EQ(body["Message"], "bad \x02value \xef\xbf\xbd");
}

TEST(RequestId, IsUpperCaseUuidV4AndUnique) {
  const std::string a = NewRequestId(), b = NewRequestId();
  EXPECT_NE(a, b);
  ASSERT_EQ(a.size(), 36u);
  EXPECT_EQ(a[8], '-');
  EXPECT_EQ(a[14], '4');
  for (char c : a) EXPECT_TRUE(c == '-' || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'));
}

}  // namespace
}  // namespace certplan::rpc
