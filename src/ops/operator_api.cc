#include "ops/operator_api.h"

#include <charconv>
#include <chrono>
#include <exception>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>

#include "core/log.h"
#include "core/time_format.h"
#include "ops/admin_json.h"
#include "rpc/errors.h"
#include "rpc/percent.h"
#include "rpc/render.h"
#include "rpc/request_id.h"

namespace certplan::ops {
namespace {

constexpr std::string_view kJsonType = "application/json;charset=utf-8";
constexpr std::string_view kOpenApiPath = "/openapi.json";

// One request on its way through a route: the caller, the path's parameters, the decoded body.
struct Call {
  AdminService& service;
  const rpc::Request& request;
  Actor who;
  std::map<std::string, std::string, std::less<>> path;
  Json body = Json::object();
};

// A route's answer: a JSON object (RequestId is added) and extra headers.
struct Reply {
  Json body;
  std::vector<std::pair<std::string, std::string>> headers;
};

using Handler = Result<Reply> (*)(Call&);

// --- Reading the body: one JSON object, known fields only, each of its declared type. ---------

Status OnlyFields(const Call& call, std::initializer_list<std::string_view> known) {
  for (const auto& [name, value] : call.body.items()) {
    bool ok = false;
    for (std::string_view k : known) ok = ok || k == name;
    if (!ok) {
      return InvalidParameter(name, "this field is not read here (see GET /openapi.json).");
    }
  }
  return Ok{};
}

Result<std::optional<std::string>> OptionalString(const Call& call, const char* name) {
  auto it = call.body.find(name);
  if (it == call.body.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return InvalidParameter(name, "a string is required.");
  return std::optional<std::string>(it->get<std::string>());
}

Result<std::string> RequiredString(const Call& call, const char* name) {
  Result<std::optional<std::string>> v = OptionalString(call, name);
  if (!v) return v.error();
  if (!*v) return MissingParameter(name);
  return std::move(**v);
}

Result<int64_t> RequiredInt(const Call& call, const char* name) {
  auto it = call.body.find(name);
  if (it == call.body.end() || it->is_null()) return MissingParameter(name);
  // A JSON number without fraction; "5" (a string) or 5.5 is a type error, not a conversion.
  if (!it->is_number_integer()) return InvalidParameter(name, "an integer is required.");
  if (it->is_number_unsigned() && it->get<uint64_t>() > uint64_t{INT64_MAX}) {
    return InvalidParameter(name, "the integer is out of range.");
  }
  return it->get<int64_t>();
}

// DecodePath checked it: a positive decimal int64.
int64_t AccountOf(const Call& call) {
  const std::string& text = call.path.find("AccountId")->second;
  int64_t id = 0;
  std::from_chars(text.data(), text.data() + text.size(), id);
  return id;
}

// --- Routes -----------------------------------------------------------------------------------

Result<Reply> CreateAccount(Call& c) {
  if (Status s = OnlyFields(c, {"Name"}); !s) return s.error();
  Result<std::string> name = RequiredString(c, "Name");
  if (!name) return name.error();
  Result<iam::NewAccount> created = c.service.CreateAccount(c.who, *name);
  if (!created) return created.error();
  return Reply{NewAccountJson(*created), {}};
}

Result<Reply> CreateKey(Call& c) {
  if (Status s = OnlyFields(c, {"User"}); !s) return s.error();
  Result<std::optional<std::string>> user = OptionalString(c, "User");
  if (!user) return user.error();
  const int64_t account = AccountOf(c);
  const std::string user_name = user->value_or("");
  Result<iam::IssuedKey> key = c.service.CreateKey(c.who, account, user_name);
  if (!key) return key.error();
  return Reply{NewKeyJson(account, user_name, *key), {}};
}

Result<Reply> ListKeys(Call& c) {
  Result<std::vector<iam::KeyInfo>> keys = c.service.ListKeys(c.who, AccountOf(c));
  if (!keys) return keys.error();
  return Reply{Json{{"AccessKeys", ListJson(*keys, &KeyJson)}}, {}};
}

Result<Reply> SetKey(Call& c, bool enabled) {
  if (Status s = OnlyFields(c, {}); !s) return s.error();
  const std::string& id = c.path.find("AccessKeyId")->second;
  if (Status s = c.service.SetKeyEnabled(c.who, id, enabled); !s) return s.error();
  return Reply{KeyStatusJson(id, enabled), {}};
}
Result<Reply> EnableKey(Call& c) { return SetKey(c, true); }
Result<Reply> DisableKey(Call& c) { return SetKey(c, false); }

Result<Reply> CreateUser(Call& c) {
  if (Status s = OnlyFields(c, {"User"}); !s) return s.error();
  Result<std::string> name = RequiredString(c, "User");
  if (!name) return name.error();
  const int64_t account = AccountOf(c);
  if (Status s = c.service.CreateUser(c.who, account, *name); !s) return s.error();
  return Reply{Json{{"AccountId", account}, {"User", *name}}, {}};
}

Result<Reply> ListUsers(Call& c) {
  Result<std::vector<iam::User>> users = c.service.ListUsers(c.who, AccountOf(c));
  if (!users) return users.error();
  return Reply{Json{{"Users", ListJson(*users, &UserJson)}}, {}};
}

Result<Reply> DeleteUser(Call& c) {
  if (Status s = OnlyFields(c, {}); !s) return s.error();
  const int64_t account = AccountOf(c);
  const std::string& user = c.path.find("User")->second;
  if (Status s = c.service.DeleteUser(c.who, account, user); !s) return s.error();
  return Reply{Json{{"AccountId", account}, {"Deleted", user}}, {}};
}

Result<Reply> CreatePolicy(Call& c) {
  if (Status s = OnlyFields(c, {"PolicyName", "PolicyDocument"}); !s) return s.error();
  Result<std::string> name = RequiredString(c, "PolicyName");
  if (!name) return name.error();
  // The document as a JSON object, or as the text of one (how RAM's own API takes it).
  auto doc = c.body.find("PolicyDocument");
  if (doc == c.body.end() || doc->is_null()) return MissingParameter("PolicyDocument");
  if (!doc->is_object() && !doc->is_string()) {
    return InvalidParameter("PolicyDocument", "a JSON object (or its text) is required.");
  }
  const std::string document = doc->is_string() ? doc->get<std::string>() : doc->dump();
  const int64_t account = AccountOf(c);
  if (Status s = c.service.CreatePolicy(c.who, account, *name, document); !s) return s.error();
  return Reply{Json{{"AccountId", account}, {"PolicyName", *name}}, {}};
}

Result<Reply> ListPolicies(Call& c) {
  Result<std::vector<iam::PolicyRecord>> policies = c.service.ListPolicies(c.who, AccountOf(c));
  if (!policies) return policies.error();
  return Reply{Json{{"Policies", ListJson(*policies, &PolicyJson)}}, {}};
}

Result<Reply> AttachPolicy(Call& c) {
  if (Status s = OnlyFields(c, {"PolicyName"}); !s) return s.error();
  Result<std::string> policy = RequiredString(c, "PolicyName");
  if (!policy) return policy.error();
  const std::string& user = c.path.find("User")->second;
  if (Status s = c.service.AttachPolicy(c.who, AccountOf(c), user, *policy); !s) {
    return s.error();
  }
  return Reply{Json{{"User", user}, {"PolicyName", *policy}, {"Attached", true}}, {}};
}

Result<Reply> DetachPolicy(Call& c) {
  if (Status s = OnlyFields(c, {}); !s) return s.error();
  const std::string& user = c.path.find("User")->second;
  const std::string& policy = c.path.find("PolicyName")->second;
  if (Status s = c.service.DetachPolicy(c.who, AccountOf(c), user, policy); !s) {
    return s.error();
  }
  return Reply{Json{{"User", user}, {"PolicyName", policy}, {"Attached", false}}, {}};
}

Result<Reply> GrantPlan(Call& c) {
  if (Status s = OnlyFields(c, {"ProductCode", "Count", "Expires", "IdempotencyKey"}); !s) {
    return s.error();
  }
  GrantRequest r;
  r.account_id = AccountOf(c);
  Result<std::string> product = RequiredString(c, "ProductCode");
  if (!product) return product.error();
  r.product_code = std::move(*product);
  Result<int64_t> count = RequiredInt(c, "Count");
  if (!count) return count.error();
  r.count = *count;
  Result<std::optional<std::string>> expires = OptionalString(c, "Expires");
  if (!expires) return expires.error();
  if (*expires) {
    r.expires_at = ParseRfc3339(**expires);
    if (!r.expires_at) {
      return InvalidParameter("Expires", "use RFC 3339, e.g. 2027-01-01T00:00:00Z.");
    }
  }
  Result<std::optional<std::string>> field_key = OptionalString(c, "IdempotencyKey");
  if (!field_key) return field_key.error();
  const std::string header_key(c.request.Header("idempotency-key"));
  if (*field_key && c.request.HasHeader("idempotency-key") && **field_key != header_key) {
    return InvalidParameter("IdempotencyKey",
                            "the Idempotency-Key header and the IdempotencyKey field differ.");
  }
  r.idempotency_key = *field_key ? **field_key : header_key;
  if (r.idempotency_key.empty() &&
      (c.request.HasHeader("idempotency-key") || field_key->has_value())) {
    return InvalidParameter("IdempotencyKey", "an empty key is not a key: omit it instead.");
  }
  Result<GrantOutcome> outcome = c.service.GrantPlan(c.who, r);
  if (!outcome) return outcome.error();
  Reply reply{PlanJson(outcome->plan), {}};
  if (!r.idempotency_key.empty()) {
    reply.headers.emplace_back("idempotent-replayed", outcome->replayed ? "true" : "false");
  }
  return reply;
}

Result<Reply> ListPlans(Call& c) {
  Result<std::vector<cas::Plan>> plans = c.service.ListPlans(c.who, AccountOf(c));
  if (!plans) return plans.error();
  return Reply{Json{{"Plans", ListJson(*plans, &PlanJson)}}, {}};
}

Result<Reply> Fsck(Call& c) {
  Result<std::vector<cas::CounterDrift>> drifts = c.service.AuditCounters(c.who);
  if (!drifts) return drifts.error();
  return Reply{FsckJson(*drifts), {}};
}

Result<Reply> CreateToken(Call& c) {
  if (Status s = OnlyFields(c, {"Name"}); !s) return s.error();
  Result<std::string> name = RequiredString(c, "Name");
  if (!name) return name.error();
  Result<NewOperatorTokenInfo> created = c.service.CreateOperatorToken(c.who, *name);
  if (!created) return created.error();
  return Reply{NewOperatorTokenJson(*created), {}};
}

Result<Reply> ListTokens(Call& c) {
  Result<std::vector<OperatorTokenRecord>> tokens = c.service.ListOperatorTokens(c.who);
  if (!tokens) return tokens.error();
  return Reply{Json{{"OperatorTokens", ListJson(*tokens, &OperatorTokenJson)}}, {}};
}

Result<Reply> RevokeToken(Call& c) {
  if (Status s = OnlyFields(c, {}); !s) return s.error();
  Result<OperatorTokenRecord> revoked =
      c.service.RevokeOperatorToken(c.who, c.path.find("TokenId")->second);
  if (!revoked) return revoked.error();
  return Reply{OperatorTokenJson(*revoked), {}};
}

struct RouteEntry {
  Route route;
  Handler handler;
};

// The one list of routes: OperatorApi::Routes() and the OpenAPI test read it.
const std::vector<RouteEntry>& Table() {
  static const std::vector<RouteEntry> kTable = {
      {{"POST", "/v1/accounts"}, &CreateAccount},
      {{"POST", "/v1/accounts/{AccountId}/keys"}, &CreateKey},
      {{"GET", "/v1/accounts/{AccountId}/keys"}, &ListKeys},
      {{"POST", "/v1/keys/{AccessKeyId}/enable"}, &EnableKey},
      {{"POST", "/v1/keys/{AccessKeyId}/disable"}, &DisableKey},
      {{"POST", "/v1/accounts/{AccountId}/users"}, &CreateUser},
      {{"GET", "/v1/accounts/{AccountId}/users"}, &ListUsers},
      {{"DELETE", "/v1/accounts/{AccountId}/users/{User}"}, &DeleteUser},
      {{"POST", "/v1/accounts/{AccountId}/policies"}, &CreatePolicy},
      {{"GET", "/v1/accounts/{AccountId}/policies"}, &ListPolicies},
      {{"POST", "/v1/accounts/{AccountId}/users/{User}/policies"}, &AttachPolicy},
      {{"DELETE", "/v1/accounts/{AccountId}/users/{User}/policies/{PolicyName}"}, &DetachPolicy},
      {{"POST", "/v1/accounts/{AccountId}/plans"}, &GrantPlan},
      {{"GET", "/v1/accounts/{AccountId}/plans"}, &ListPlans},
      {{"GET", "/v1/fsck"}, &Fsck},
      {{"POST", "/v1/operator-tokens"}, &CreateToken},
      {{"GET", "/v1/operator-tokens"}, &ListTokens},
      {{"DELETE", "/v1/operator-tokens/{TokenId}"}, &RevokeToken},
  };
  return kTable;
}

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 1;  // paths begin with '/'
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// Whether `path` fits the template; fills `params` with the raw (still encoded) segments.
bool Matches(std::string_view tmpl, std::string_view path,
             std::map<std::string, std::string, std::less<>>& params) {
  const std::vector<std::string_view> want = Segments(tmpl);
  const std::vector<std::string_view> got = Segments(path);
  if (want.size() != got.size()) return false;
  std::map<std::string, std::string, std::less<>> found;
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i].starts_with('{')) {
      if (got[i].empty()) return false;
      found.emplace(std::string(want[i].substr(1, want[i].size() - 2)), std::string(got[i]));
    } else if (want[i] != got[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

// Decodes and checks the path's parameters; AccountId must be a decimal id.
Status DecodePath(std::map<std::string, std::string, std::less<>>& params) {
  for (auto& [name, value] : params) {
    std::optional<std::string> decoded = rpc::PercentDecode(value, /*plus_is_space=*/false);
    if (!decoded || decoded->empty()) return InvalidParameter(name, "a malformed path segment.");
    value = std::move(*decoded);
  }
  if (auto it = params.find("AccountId"); it != params.end()) {
    int64_t id = 0;
    const std::string& text = it->second;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc() || ptr != text.data() + text.size() || id <= 0) {
      return InvalidParameter("AccountId", "a positive decimal account id is required.");
    }
  }
  return Ok{};
}

std::string_view HostIdOf(const rpc::Request& request) {
  std::string_view host = request.Header("host");
  if (host.empty()) return "certplan";
  if (host.front() == '[') return host.substr(0, host.find(']') + 1);
  return host.substr(0, host.find(':'));
}

// What one request came to, for its log line.
struct Outcome {
  std::string token_id;
  std::string route;
  std::string code;
};

Result<Reply> Run(AdminService& service, const rpc::Request& request, const std::string& request_id,
                  Outcome& outcome) {
  // The token first: without one, nothing about routes or accounts is answered.
  std::string_view authorization = request.Header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (!authorization.empty() && !authorization.starts_with(kBearer)) {
    return Error(ErrorCode::kInvalidOperatorToken,
                 "Send the operator token as Authorization: Bearer <token>.");
  }
  std::string_view token =
      authorization.empty() ? std::string_view() : authorization.substr(kBearer.size());
  Result<Actor> who = service.AuthenticateOperator(token);
  if (!who) return who.error();
  outcome.token_id = who->token_id;
  // The audit trail records the call with where it came from and its RequestId.
  who->source_ip = request.peer_ip;
  who->request_id = request_id;

  const RouteEntry* entry = nullptr;
  bool path_known = false;
  std::map<std::string, std::string, std::less<>> params;
  for (const RouteEntry& e : Table()) {
    std::map<std::string, std::string, std::less<>> p;
    if (!Matches(e.route.path, request.path, p)) continue;
    path_known = true;
    if (e.route.method == request.method) {
      entry = &e;
      params = std::move(p);
      break;
    }
  }
  if (!entry) {
    if (path_known) {
      return Error(ErrorCode::kUnsupportedHttpMethod,
                   "The method " + request.method.substr(0, 16) +
                       " is not served on this path; see GET /openapi.json.");
    }
    return Error(ErrorCode::kActionNotFound,
                 "No operator API route has this path; see GET /openapi.json.");
  }
  outcome.route = std::string(entry->route.method) + " " + std::string(entry->route.path);
  if (Status s = DecodePath(params); !s) return s.error();

  Call call{service, request, std::move(*who), std::move(params)};
  if (!request.body.empty()) {
    call.body = Json::parse(request.body, nullptr, /*allow_exceptions=*/false);
    if (call.body.is_discarded() || !call.body.is_object()) {
      return InvalidParameter("body", "the body must be one JSON object.");
    }
  }
  if (call.path.contains("AccountId")) {
    if (Status s = service.RequireAccount(AccountOf(call)); !s) return s.error();
  }
  return entry->handler(call);
}

}  // namespace

std::vector<Route> OperatorApi::Routes() {
  std::vector<Route> routes = {{"GET", kOpenApiPath}};
  for (const RouteEntry& e : Table()) routes.push_back(e.route);
  return routes;
}

rpc::Response OperatorApi::Handle(const rpc::Request& request) {
  const auto start = std::chrono::steady_clock::now();
  const std::string request_id = rpc::NewRequestId();
  Outcome outcome;
  rpc::Response response;
  if (request.method == "GET" && request.path == kOpenApiPath) {
    // The description of the API is not a secret: tools fetch it without a token.
    outcome.route = "GET /openapi.json";
    outcome.code = "OK";
    response.content_type = kJsonType;
    response.body = std::string(OpenApiDocument());
    response.headers.emplace_back("x-acs-request-id", request_id);
  } else {
    Result<Reply> reply = InternalError("not run");
    try {
      reply = Run(service_, request, request_id, outcome);
    } catch (const std::exception& e) {
      reply = InternalError(std::string("exception: ") + e.what());
    }
    const rpc::AnswerMeta meta{request_id, HostIdOf(request), rpc::Format::kJson};
    if (reply) {
      outcome.code = "OK";
      // The CAS rendering: RequestId first, as a body field and the x-acs-request-id header.
      response = rpc::RenderSuccess("", std::move(reply->body), meta);
      for (auto& header : reply->headers) response.headers.push_back(std::move(header));
    } else {
      const Error& error = reply.error();
      if (error.code == ErrorCode::kInternal) {
        log::Line(log::Level::kError, "internal error")
            .Str("request_id", request_id)
            .Str("detail", error.detail)
            .Write();
      }
      outcome.code = std::string(rpc::ToWire(error.code).code);
      response = rpc::RenderError(error, meta);
    }
  }
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now() - start)
                          .count();
  log::Line(log::Level::kInfo, "operator request")
      .Str("request_id", request_id)
      .Str("operator_token_id", outcome.token_id)
      .Str("route", outcome.route)
      .Str("code", outcome.code)
      .Int("status", response.status)
      .Int("latency_us", micros)
      .Write();
  return response;
}

}  // namespace certplan::ops
