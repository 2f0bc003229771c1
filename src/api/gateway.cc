#include "api/gateway.h"

#include <exception>
#include <optional>
#include <string_view>

#include "api/action_table.h"
#include "auth/signed_request.h"
#include "core/log.h"
#include "rpc/errors.h"
#include "rpc/params.h"
#include "rpc/render.h"
#include "rpc/request_id.h"

namespace certplan::api {
namespace {

constexpr std::string_view kDefaultHostId = "certplan";

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = (a[i] >= 'A' && a[i] <= 'Z') ? a[i] + 32 : a[i];
    const char y = (b[i] >= 'A' && b[i] <= 'Z') ? b[i] + 32 : b[i];
    if (x != y) return false;
  }
  return true;
}

// HostId is the public host name without its port (spec §2.1).
std::string_view HostIdOf(const rpc::Request& request) {
  std::string_view host = request.Header("host");
  if (host.empty()) return kDefaultHostId;
  if (host.front() == '[') return host.substr(0, host.find(']') + 1);  // [::1]:8080
  return host.substr(0, host.find(':'));
}

Result<rpc::Format> FormatOf(const rpc::Params& params) {
  std::optional<std::string_view> format = params.Get("Format");
  if (!format || EqualsIgnoreCase(*format, "JSON")) return rpc::Format::kJson;
  if (EqualsIgnoreCase(*format, "XML")) return rpc::Format::kXml;
  return Error(ErrorCode::kInvalidFormat,
               "The specified parameter \"Format\" is not valid: use "
               "JSON or XML.");
}

bool IsForm(const rpc::Request& request) {
  std::string_view type = request.Header("content-type");
  constexpr std::string_view kForm = "application/x-www-form-urlencoded";
  return type.size() >= kForm.size() && EqualsIgnoreCase(type.substr(0, kForm.size()), kForm);
}

bool IsJson(const rpc::Request& request) {
  std::string_view type = request.Header("content-type");
  constexpr std::string_view kJson = "application/json";
  return type.size() >= kJson.size() && EqualsIgnoreCase(type.substr(0, kJson.size()), kJson);
}

// The object a refused call named, as the audit trail records it.
std::pair<std::string_view, std::string_view> NamedObject(const rpc::Params& params) {
  for (std::string_view name : {"OrderId", "CertId"}) {
    if (std::optional<std::string_view> v = params.Get(name)) return {name, *v};
  }
  return {};
}

}  // namespace

// Everything between the raw request and the handler's reply; `answer` collects log fields.
Result<rpc::Reply> Gateway::Run(const rpc::Request& request, const rpc::Params& params,
                                const std::optional<Error>& body_error, Answer& answer) {
  Result<auth::SignedRequest> claim = auth::ParseSignedRequest(request, params);
  if (!claim) return claim.error();
  answer.access_key_id = claim->access_key_id;
  if (claim->action.empty()) return MissingParameter("Action");
  if (claim->version.empty()) return MissingParameter("Version");
  answer.action = claim->action;
  if (claim->version != kApiVersion) {
    return Error(ErrorCode::kInvalidVersion,
                 "Specified parameter Version is not valid: this service speaks 2020-04-07.");
  }
  const Action* action = FindAction(claim->action);
  if (!action) {
    return Error(ErrorCode::kActionNotFound,
                 "Specified api is not found, please check your url and method.");
  }
  Result<iam::Principal> principal = authenticator_.Authenticate(*claim, request, params);
  if (!principal) return principal.error();
  answer.account_id = principal->account_id;
  answer.authenticated = true;
  const audit::Actor actor{
      principal->is_root() ? audit::PrincipalType::kRoot : audit::PrincipalType::kRamUser,
      principal->is_root() ? "root" : principal->user_name,
      principal->access_key_id,
      request.peer_ip,
      answer.request_id,
      std::string(action->name)};
  auto served = [&]() -> Result<rpc::Reply> {
    // Rate limits (spec §2.3: after the nonce, before RAM): only an authenticated request spends
    // its account's tokens, so a forged one cannot throttle anyone, and a throttled one costs no
    // policy evaluation. A RAM-denied call counts, as it does at the real service.
    if (limiter_) {
      Status admitted =
          limiter_->Admit(principal->account_id, static_cast<size_t>(action - Actions().data()));
      if (!admitted) return admitted.error();
    }
    // Every served operation passes the RAM authorizer (spec §2.3: after the nonce, before the
    // parameters).
    Status allowed =
        authorizer_.Authorize(*principal, iam::RequestContext{action->ram_action, request.peer_ip,
                                                              request.secure, clock_.NowSeconds()});
    if (!allowed) return allowed.error();
    if (body_error) return *body_error;
    Context ctx{*principal, answer.request_id, clock_, services_, actor};
    return action->handler(ctx, params);
  };
  Result<rpc::Reply> reply = served();
  // A refusal changed nothing, so nothing recorded it: it is written here, on its own (on
  // SQLite in the next shared commit). Failing to record it does not change the answer.
  if (!reply && ChangesState(*action)) {
    auto [object_type, object_id] = NamedObject(params);
    Status recorded = audit_.RecordRefusal(actor, principal->account_id, object_type, object_id,
                                           rpc::ToWire(reply.error().code).code);
    if (!recorded) {
      log::Line(log::Level::kWarn, "audit record of a refusal not written")
          .Str("request_id", answer.request_id)
          .Str("detail", recorded.error().detail)
          .Write();
    }
  }
  return reply;
}

namespace {

// The parameters, and a refusal of the body kept for later: a body certplan does not read (or a
// JSON body that does not decode) is refused only after the AccessKey, signature, nonce and RAM
// checks, where spec §2.3 puts parameters (the V3 signature covers the body's hash, not its
// parameters, and V1 signs the query or form, so neither needs the body to authenticate).
struct Decoded {
  rpc::Params params;
  std::optional<Error> body_error;
};

Result<Decoded> DecodeParams(const rpc::Request& request) {
  if (request.method != "GET" && request.method != "POST") {
    return Error(ErrorCode::kUnsupportedHttpMethod,
                 "The specified HTTP method is not supported: use GET or POST.");
  }
  if (request.path != "/") {
    return Error(ErrorCode::kActionNotFound,
                 "Specified api is not found, please check your url and method.");
  }
  if (request.body.empty() || IsForm(request)) {
    Result<rpc::Params> params = rpc::Params::Decode(request.query, std::string_view(request.body));
    if (!params) return params.error();
    return Decoded{std::move(*params), std::nullopt};
  }
  Result<rpc::Params> query_only = rpc::Params::Decode(request.query, std::string_view());
  if (!query_only) return query_only.error();
  auto deferred = [&](Error e) { return Decoded{std::move(*query_only), std::move(e)}; };
  // A body that is not a form is read only when it is JSON under V3, whose signature covers the
  // body's hash (spec/cas-repository.md §7.10.1). Anything else is refused by its content type,
  // never answered on the query alone: that would answer a different question.
  const std::string shown(request.Header("content-type").substr(0, 100));
  if (!IsJson(request)) {
    return deferred(InvalidParameter(
        "Content-Type", "a body of type \"" + shown +
                            "\" is not read: send application/x-www-form-urlencoded, or "
                            "application/json signed with V3."));
  }
  if (!request.Header("authorization").starts_with("ACS3-")) {
    return deferred(InvalidParameter(
        "Content-Type",
        "an application/json body is read only under signature V3 (ACS3-*), whose signature "
        "covers it; V1 parameters go in the query or a form."));
  }
  Result<std::vector<rpc::Params::Pair>> body = rpc::DecodeJsonBody(request.body);
  if (!body) return deferred(body.error());
  Result<rpc::Params> params = rpc::Params::Decode(request.query, std::move(*body));
  if (!params) return deferred(params.error());
  return Decoded{std::move(*params), std::nullopt};
}

}  // namespace

Answer Gateway::Handle(const rpc::Request& request) {
  Answer answer;
  answer.request_id = rpc::NewRequestId();
  rpc::AnswerMeta meta{answer.request_id, HostIdOf(request), rpc::Format::kJson};
  auto fail = [&](const Error& error) {
    if (!answer.authenticated) unauthenticated_.fetch_add(1, std::memory_order_relaxed);
    if (error.code == ErrorCode::kInternal) {
      log::Line(log::Level::kError, "internal error")
          .Str("request_id", answer.request_id)
          .Str("detail", error.detail)
          .Write();
    }
    answer.code = rpc::ToWire(error.code).code;
    answer.response = rpc::RenderError(error, meta);
    return answer;
  };
  try {
    Result<Decoded> decoded = DecodeParams(request);
    if (!decoded) return fail(decoded.error());
    Result<rpc::Format> format = FormatOf(decoded->params);
    if (!format) return fail(format.error());
    meta.format = *format;
    Result<rpc::Reply> reply = Run(request, decoded->params, decoded->body_error, answer);
    if (!reply) return fail(reply.error());
    answer.response = rpc::RenderSuccess(answer.action, std::move(*reply), meta);
    return answer;
  } catch (const std::exception& e) {
    return fail(InternalError(std::string("exception: ") + e.what()));
  }
}

rpc::Response RenderTransportError(const Error& error) {
  rpc::AnswerMeta meta{rpc::NewRequestId(), kDefaultHostId, rpc::Format::kJson};
  return rpc::RenderError(error, meta);
}

}  // namespace certplan::api
