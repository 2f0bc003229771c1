// ops::OperatorApi in process over a real SQLite store: the OpenAPI document matches the routes
// served, and each refusal carries the CAS error envelope with its code and writes nothing.
#include "ops/operator_api.h"

#include <set>
#include <utility>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pki/secret_box.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/temp_dir.h"

namespace certplan::ops {
namespace {

using nlohmann::json;

TEST(OpenApiDocument, DescribesExactlyTheRoutesServed) {
  const json doc = json::parse(OpenApiDocument(), nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(doc.is_discarded()) << "openapi.json is not JSON";
  EXPECT_TRUE(doc["openapi"].get<std::string>().starts_with("3."));
  std::set<std::pair<std::string, std::string>> documented;
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, operation] : item.items()) {
      if (method == "parameters") continue;
      std::string upper;
      for (char c : method) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      documented.emplace(upper, path);
      EXPECT_TRUE(operation.contains("responses")) << upper << " " << path;
    }
  }
  std::set<std::pair<std::string, std::string>> served;
  for (const Route& r : OperatorApi::Routes()) served.emplace(r.method, r.path);
  EXPECT_EQ(served.size(), OperatorApi::Routes().size()) << "a route is listed twice";
  for (const auto& route : served) {
    EXPECT_TRUE(documented.contains(route))
        << "served, not documented: " << route.first << " " << route.second;
  }
  for (const auto& route : documented) {
    EXPECT_TRUE(served.contains(route))
        << "documented, not served: " << route.first << " " << route.second;
  }
}

TEST(OpenApiDocument, EveryReferenceResolves) {
  const json doc = json::parse(OpenApiDocument());
  std::vector<const json*> stack = {&doc};
  int refs = 0;
  while (!stack.empty()) {
    const json* node = stack.back();
    stack.pop_back();
    if (node->is_object()) {
      if (auto it = node->find("$ref"); it != node->end()) {
        ++refs;
        const std::string ref = it->get<std::string>();
        ASSERT_TRUE(ref.starts_with("#/")) << ref;
        EXPECT_TRUE(doc.contains(json::json_pointer(ref.substr(1)))) << ref;
      }
      for (const auto& [k, v] : node->items()) stack.push_back(&v);
    } else if (node->is_array()) {
      for (const json& v : *node) stack.push_back(&v);
    }
  }
  EXPECT_GT(refs, 20);
}

class OperatorApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(*store::sqlite::SqliteStore::Open(dir_.File("db")));
    box_ = std::move(*pki::SecretBox::Create(std::string(32, 'k')));
    identities_ = std::make_unique<iam::Identities>(*store_, *box_, clock_);
    plans_ = std::make_unique<cas::Plans>(*store_, clock_);
    audit_ = std::make_unique<AuditTrail>(*store_, clock_);
    service_ = std::make_unique<AdminService>(*identities_, *store_, *plans_, *store_, *store_,
                                              *audit_, clock_);
    api_ = std::make_unique<OperatorApi>(*service_);
    Result<NewOperatorTokenInfo> token = service_->CreateOperatorToken(Actor::Cli(), "test");
    ASSERT_TRUE(token);
    token_ = token->token;
    Result<iam::NewAccount> account = service_->CreateAccount(Actor::Cli(), "acct");
    ASSERT_TRUE(account);
    account_ = account->account.id;
  }

  struct Answer {
    int status;
    json body;
    rpc::Response raw;
  };

  Answer Call(std::string method, std::string path, std::string body = "",
              std::vector<std::pair<std::string, std::string>> headers = {}, bool auth = true) {
    rpc::Request request;
    request.method = std::move(method);
    request.path = std::move(path);
    request.body = std::move(body);
    request.headers = std::move(headers);
    request.headers.emplace_back("host", "127.0.0.1:8081");
    if (auth) request.headers.emplace_back("authorization", "Bearer " + token_);
    rpc::Response r = api_->Handle(request);
    return Answer{r.status, json::parse(r.body, nullptr, false), r};
  }

  // The CAS error envelope with `code` and `status`.
  static void ExpectRefusal(const Answer& a, int status, const std::string& code) {
    EXPECT_EQ(a.status, status) << a.raw.body;
    ASSERT_TRUE(a.body.is_object()) << a.raw.body;
    EXPECT_EQ(a.body.value("Code", ""), code) << a.raw.body;
    EXPECT_FALSE(a.body.value("Message", "").empty());
    EXPECT_FALSE(a.body.value("RequestId", "").empty());
    EXPECT_EQ(a.body.value("HostId", ""), "127.0.0.1");
    EXPECT_TRUE(a.body.contains("Recommend"));
  }

  std::string Plans() { return "/v1/accounts/" + std::to_string(account_) + "/plans"; }
  size_t PlanCount() { return store_->ListPlans(account_)->size(); }

  testing::TempDir dir_;
  FakeClock clock_{1'800'000'000};
  std::unique_ptr<store::sqlite::SqliteStore> store_;
  std::unique_ptr<pki::SecretBox> box_;
  std::unique_ptr<iam::Identities> identities_;
  std::unique_ptr<cas::Plans> plans_;
  std::unique_ptr<AuditTrail> audit_;
  std::unique_ptr<AdminService> service_;
  std::unique_ptr<OperatorApi> api_;
  std::string token_;
  int64_t account_ = 0;
};

TEST_F(OperatorApiTest, TheDocumentIsServedWithoutAToken) {
  Answer a = Call("GET", "/openapi.json", "", {}, /*auth=*/false);
  EXPECT_EQ(a.status, 200);
  EXPECT_TRUE(a.body.contains("paths"));
}

TEST_F(OperatorApiTest, RequestsWithoutAGoodTokenAre401) {
  ExpectRefusal(Call("GET", "/v1/fsck", "", {}, false), 401, "InvalidOperatorToken");
  ExpectRefusal(Call("GET", "/v1/fsck", "", {{"authorization", "Basic abc"}}, false), 401,
                "InvalidOperatorToken");
  ExpectRefusal(Call("GET", "/v1/fsck", "", {{"authorization", "Bearer nope"}}, false), 401,
                "InvalidOperatorToken");
  // Before the route: an unknown path without a token is 401 too.
  ExpectRefusal(Call("GET", "/nowhere", "", {}, false), 401, "InvalidOperatorToken");
  ExpectRefusal(
      Call("POST", Plans(), R"({"ProductCode":"digicert-free-1-free","Count":1})", {}, false), 401,
      "InvalidOperatorToken");
  EXPECT_EQ(PlanCount(), 0u);
}

TEST_F(OperatorApiTest, UnknownPathsAndMethodsAreRefused) {
  ExpectRefusal(Call("GET", "/v1/nowhere"), 404, "InvalidAction.NotFound");
  ExpectRefusal(Call("PUT", Plans()), 403, "UnsupportedHTTPMethod");
}

TEST_F(OperatorApiTest, AGrantAnswersThePlanAndAReplayTheSame) {
  const std::string body = R"({"ProductCode":"digicert-free-1-free","Count":3})";
  Answer first = Call("POST", Plans(), body, {{"idempotency-key", "inv-1"}});
  ASSERT_EQ(first.status, 200) << first.raw.body;
  EXPECT_EQ(first.body["Count"], 3);
  EXPECT_EQ(first.body["AccountId"], account_);
  EXPECT_TRUE(first.body["Expires"].is_null());
  EXPECT_FALSE(first.body.value("RequestId", "").empty());
  Answer again = Call("POST", Plans(), body, {{"idempotency-key", "inv-1"}});
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(again.body["PlanId"], first.body["PlanId"]);
  EXPECT_EQ(again.body["GrantedAt"], first.body["GrantedAt"]);
  bool replayed = false;
  for (const auto& [k, v] : again.raw.headers)
    replayed |= k == "idempotent-replayed" && v == "true";
  EXPECT_TRUE(replayed);
  // The key as a body field is the same key.
  Answer field =
      Call("POST", Plans(),
           R"({"ProductCode":"digicert-free-1-free","Count":3,"IdempotencyKey":"inv-1"})");
  EXPECT_EQ(field.body["PlanId"], first.body["PlanId"]);
  EXPECT_EQ(PlanCount(), 1u);
  Answer listed = Call("GET", Plans());
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(listed.body["Plans"].size(), 1u);
}

TEST_F(OperatorApiTest, BadGrantsAreRefusedWithTheirCodeAndWriteNothing) {
  const std::string unknown = "/v1/accounts/42/plans";
  ExpectRefusal(Call("POST", unknown, R"({"ProductCode":"digicert-free-1-free","Count":1})"), 404,
                "InvalidAccount.NotFound");
  ExpectRefusal(Call("POST", "/v1/accounts/abc/plans", "{}"), 400, "InvalidParameter");
  ExpectRefusal(Call("POST", Plans(), "{not json"), 400, "InvalidParameter");
  ExpectRefusal(Call("POST", Plans(), "[1]"), 400, "InvalidParameter");
  ExpectRefusal(Call("POST", Plans(), R"({"Count":1})"), 400, "MissingParameter");
  ExpectRefusal(Call("POST", Plans(), R"({"ProductCode":"digicert-free-1-free"})"), 400,
                "MissingParameter");
  ExpectRefusal(Call("POST", Plans(), R"({"ProductCode":"digicert-free-1-free","Count":"5"})"), 400,
                "InvalidParameter");
  ExpectRefusal(Call("POST", Plans(), R"({"ProductCode":"digicert-free-1-free","Count":1.5})"), 400,
                "InvalidParameter");
  ExpectRefusal(Call("POST", Plans(), R"({"ProductCode":7,"Count":1})"), 400, "InvalidParameter");
  ExpectRefusal(Call("POST", Plans(), R"({"ProductCode":"digicert-free-1-free","Cont":1})"), 400,
                "InvalidParameter");
  ExpectRefusal(Call("POST", Plans(), R"({"ProductCode":"nope","Count":1})"), 400,
                "InvalidParameter");
  ExpectRefusal(
      Call("POST", Plans(), R"({"ProductCode":"digicert-free-1-free","Count":1,"Expires":"x"})"),
      400, "InvalidParameter");
  ExpectRefusal(Call("POST", Plans(),
                     R"({"ProductCode":"digicert-free-1-free","Count":1,"IdempotencyKey":"a"})",
                     {{"idempotency-key", "b"}}),
                400, "InvalidParameter");
  EXPECT_EQ(PlanCount(), 0u);
  EXPECT_FALSE(store_->FindPlanGrant("a")->has_value());
  EXPECT_FALSE(store_->FindPlanGrant("b")->has_value());
}

TEST_F(OperatorApiTest, AKeyReusedForAnotherGrantIs409) {
  ASSERT_EQ(Call("POST", Plans(), R"({"ProductCode":"digicert-free-1-free","Count":1})",
                 {{"idempotency-key", "k"}})
                .status,
            200);
  Answer clash = Call("POST", Plans(), R"({"ProductCode":"digicert-free-1-free","Count":2})",
                      {{"idempotency-key", "k"}});
  ExpectRefusal(clash, 409, "IdempotentParameterMismatch");
  EXPECT_EQ(PlanCount(), 1u);
}

TEST_F(OperatorApiTest, AccountsKeysUsersAndPoliciesRoundTrip) {
  Answer created = Call("POST", "/v1/accounts", R"({"Name":"team-b"})");
  ASSERT_EQ(created.status, 200) << created.raw.body;
  const std::string id = std::to_string(created.body["AccountId"].get<int64_t>());
  EXPECT_TRUE(created.body["AccessKeySecret"].is_string());
  ExpectRefusal(Call("POST", "/v1/accounts", R"({"Name":"team-b"})"), 400, "InvalidParameter");
  ExpectRefusal(Call("POST", "/v1/accounts", R"({"Name":5})"), 400, "InvalidParameter");
  const std::string base = "/v1/accounts/" + id;
  ASSERT_EQ(Call("POST", base + "/users", R"({"User":"ci"})").status, 200);
  EXPECT_EQ(Call("GET", base + "/users").body["Users"].size(), 1u);
  Answer key = Call("POST", base + "/keys", R"({"User":"ci"})");
  ASSERT_EQ(key.status, 200) << key.raw.body;
  EXPECT_EQ(key.body["User"], "ci");
  EXPECT_EQ(Call("GET", base + "/keys").body["AccessKeys"].size(), 2u);
  const std::string key_id = key.body["AccessKeyId"];
  EXPECT_EQ(Call("POST", "/v1/keys/" + key_id + "/disable").body["Status"], "Inactive");
  EXPECT_EQ(Call("POST", "/v1/keys/" + key_id + "/enable").body["Status"], "Active");
  ExpectRefusal(Call("POST", "/v1/keys/LTAInope/disable"), 400, "InvalidParameter");
  const std::string doc =
      R"({"PolicyName":"read","PolicyDocument":{"Version":"1","Statement":[{"Effect":"Allow","Action":"yundun-cert:Describe*","Resource":"*"}]}})";
  ASSERT_EQ(Call("POST", base + "/policies", doc).status, 200);
  ExpectRefusal(Call("POST", base + "/policies", R"({"PolicyName":"bad","PolicyDocument":{}})"),
                400, "InvalidParameter");
  ExpectRefusal(Call("POST", base + "/policies", R"({"PolicyName":"bad","PolicyDocument":5})"), 400,
                "InvalidParameter");
  Answer policies = Call("GET", base + "/policies");
  ASSERT_EQ(policies.body["Policies"].size(), 1u);
  EXPECT_EQ(policies.body["Policies"][0]["PolicyDocument"]["Version"], "1");
  EXPECT_EQ(Call("POST", base + "/users/ci/policies", R"({"PolicyName":"read"})").body["Attached"],
            true);
  EXPECT_EQ(Call("DELETE", base + "/users/ci/policies/read").body["Attached"], false);
  ExpectRefusal(Call("DELETE", base + "/users/ci/policies/read"), 400, "InvalidParameter");
  EXPECT_EQ(Call("DELETE", base + "/users/ci").body["Deleted"], "ci");
  ExpectRefusal(Call("GET", "/v1/accounts/42/users"), 404, "InvalidAccount.NotFound");
  EXPECT_EQ(Call("GET", "/v1/fsck").body["Clean"], true);
}

TEST_F(OperatorApiTest, TokensCanBeListedAndRevokedButNeverShownAgain) {
  Answer created = Call("POST", "/v1/operator-tokens", R"({"Name":"second"})");
  ASSERT_EQ(created.status, 200) << created.raw.body;
  const std::string second = created.body["Token"];
  Answer listed = Call("GET", "/v1/operator-tokens");
  ASSERT_EQ(listed.body["OperatorTokens"].size(), 2u);
  EXPECT_EQ(listed.raw.body.find(second), std::string::npos);
  EXPECT_EQ(listed.raw.body.find(token_), std::string::npos);
  const std::string id = created.body["TokenId"];
  EXPECT_EQ(Call("DELETE", "/v1/operator-tokens/" + id).body["Status"], "Revoked");
  ExpectRefusal(Call("DELETE", "/v1/operator-tokens/nosuch"), 404, "NotFound");
  ExpectRefusal(Call("GET", "/v1/fsck", "", {{"authorization", "Bearer " + second}}, false), 401,
                "InvalidOperatorToken");
}

}  // namespace
}  // namespace certplan::ops
