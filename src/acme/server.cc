#include "acme/server.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "acme/base64url.h"
#include "acme/jws.h"
#include "acme/problem.h"
#include "cas/domain_names.h"
#include "core/log.h"
#include "core/time_format.h"
#include "pki/certificate_chain.h"
#include "pki/der.h"
#include "pki/jws_crypto.h"
#include "rpc/request_id.h"

namespace certplan::acme {

using Json = nlohmann::json;

namespace {

constexpr std::string_view kJoseType = "application/jose+json";
constexpr std::string_view kHttp01 = "http-01";
constexpr std::string_view kDns01 = "dns-01";
constexpr int kListLimit = 100;

Problem Malformed(std::string detail) {
  return Problem{ProblemType::kMalformed, std::move(detail)};
}
Problem Unauthorized(std::string detail) {
  return Problem{ProblemType::kUnauthorized, std::move(detail)};
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The media type without parameters, lower-cased.
std::string MediaType(std::string_view content_type) {
  std::string_view t = content_type.substr(0, content_type.find(';'));
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
  return Lower(t);
}

std::optional<int64_t> ParseId(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// One authorization's stored state (acme_orders.authz[i]).
struct AuthzState {
  std::string status = "pending";  // pending | valid | invalid
  std::string type;                // the challenge that decided it
  int64_t validated = 0;
  std::string error;
};

std::vector<AuthzState> ReadAuthz(const std::string& text, size_t count) {
  std::vector<AuthzState> out(count);
  Json j = Json::parse(text, nullptr, false);
  if (!j.is_array()) return out;
  for (size_t i = 0; i < count && i < j.size(); ++i) {
    const Json& a = j[i];
    if (!a.is_object()) continue;
    out[i].status = a.value("s", "pending");
    out[i].type = a.value("t", "");
    out[i].validated = a.value("v", int64_t{0});
    out[i].error = a.value("e", "");
  }
  return out;
}

std::string WriteAuthz(const std::vector<AuthzState>& states) {
  Json j = Json::array();
  for (const AuthzState& a : states) {
    j.push_back({{"s", a.status}, {"t", a.type}, {"v", a.validated}, {"e", a.error}});
  }
  return j.dump();
}

// The canonical key of a set of names: sorted, comma-joined.
std::string IdentifiersKey(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  std::string key;
  for (const std::string& n : names) key += (key.empty() ? "" : ",") + n;
  return key;
}

bool Pending(const cas::Order& o) {
  return o.status == cas::OrderStatus::kDomainVerify || o.status == cas::OrderStatus::kProcess;
}

std::string OrderStatusOf(const cas::Order& o, int64_t now) {
  switch (o.status) {
    case cas::OrderStatus::kDomainVerify:
      return now >= o.validation_deadline ? "invalid" : "pending";
    case cas::OrderStatus::kProcess: return now >= o.validation_deadline ? "invalid" : "ready";
    case cas::OrderStatus::kCertificate:
    case cas::OrderStatus::kRevoked: return "valid";
    default: return "invalid";
  }
}

// The authorization's identifier value: a wildcard is authorized at its base name (§7.1.3).
std::string_view AuthzName(std::string_view name) {
  return cas::IsWildcard(name) ? name.substr(2) : name;
}

// The challenge token of the order's name `index`: derived from the order's secret token, so
// nothing more is stored (43 base64url characters, 256 bits).
std::string ChallengeToken(const cas::Order& o, size_t index) {
  return Base64UrlEncode(pki::Sha256(o.token + ":" + std::to_string(index)));
}

Status CheckContacts(const Json& contact, Problem& problem) {
  if (!contact.is_array()) {
    problem = Problem{ProblemType::kInvalidContact, "contact must be an array of mailto: URLs."};
    return Error(ErrorCode::kInvalidParameter, "contact");
  }
  if (contact.size() > 10) {
    problem = Problem{ProblemType::kInvalidContact, "at most 10 contacts."};
    return Error(ErrorCode::kInvalidParameter, "contact");
  }
  for (const Json& c : contact) {
    if (!c.is_string()) {
      problem = Problem{ProblemType::kInvalidContact, "each contact must be a string."};
      return Error(ErrorCode::kInvalidParameter, "contact");
    }
    const std::string v = c.get<std::string>();
    if (v.rfind("mailto:", 0) != 0) {
      problem = Problem{ProblemType::kUnsupportedContact, "only mailto: contacts are supported."};
      return Error(ErrorCode::kInvalidParameter, "contact");
    }
    const std::string addr = v.substr(7);
    const size_t at = addr.find('@');
    if (at == std::string::npos || at == 0 || at + 1 >= addr.size() || addr.size() > 254 ||
        addr.find_first_of(",?& \t\r\n") != std::string::npos) {
      problem = Problem{ProblemType::kInvalidContact, "\"" + v + "\" is not an email address."};
      return Error(ErrorCode::kInvalidParameter, "contact");
    }
  }
  return Ok{};
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

// What one request carries through the handlers.
struct Server::Call {
  std::string base;    // "https://host:port"
  std::string prefix;  // "/acme/" or "/acme/staging/"
  std::string url;     // the request URL as the client sees it
  int64_t now = 0;
  Jws jws;
  pki::JwkParts key;
  std::optional<AcmeAccount> account;  // kid requests
  std::string problem_type;            // for the access log
  std::string peer_ip;
  std::string request_id;  // one per request, in the access log and the audit trail
  rpc::Response response;

  // The caller as the audit trail records it: the ACME account (or, for a revokeCert signed by
  // the certificate's key, that key), with the EAB key id it was bound with as its AccessKeyId.
  audit::Actor By(std::string_view action) const {
    audit::Actor a;
    a.type = audit::PrincipalType::kAcme;
    a.principal = account ? "acme-account-" + std::to_string(account->id) : "certificate-key";
    a.access_key_id = account ? account->eab_key_id : "";
    a.source_ip = peer_ip;
    a.request_id = request_id;
    a.action = std::string(action);
    return a;
  }

  std::string Url(std::string_view path) const { return base + prefix + std::string(path); }
  std::string AccountUrl(int64_t id) const { return Url("acct/" + std::to_string(id)); }
  std::string OrderUrl(int64_t id) const { return Url("order/" + std::to_string(id)); }
  std::string AuthzUrl(int64_t id, size_t i) const {
    return Url("authz/" + std::to_string(id) + "-" + std::to_string(i));
  }
  std::string ChallengeUrl(int64_t id, size_t i, std::string_view type) const {
    return Url("chall/" + std::to_string(id) + "-" + std::to_string(i) + "/" + std::string(type));
  }
  std::string Directory() const { return Url("directory"); }

  rpc::Response Json(int status, const nlohmann::json& body) {
    response.status = status;
    response.content_type = "application/json";
    response.body = body.dump();
    return std::move(response);
  }
  rpc::Response Fail(const Problem& p) {
    problem_type = ProblemTypeUrn(p.type);
    response.status = ProblemStatus(p);
    response.content_type = "application/problem+json";
    nlohmann::json body = {
        {"type", problem_type}, {"detail", p.detail}, {"status", response.status}};
    if (p.type == ProblemType::kBadSignatureAlgorithm) {
      body["algorithms"] = {"RS256", "ES256", "ES384", "EdDSA"};
    }
    response.body = body.dump();
    return std::move(response);
  }
  void Header(std::string name, std::string value) {
    response.headers.emplace_back(std::move(name), std::move(value));
  }
};

rpc::Response Server::Handle(const rpc::Request& request) {
  const auto start = std::chrono::steady_clock::now();
  Call call;
  call.now = clock_.NowSeconds();
  call.prefix = settings_.prefix;
  call.peer_ip = request.peer_ip;
  call.request_id = rpc::NewRequestId();
  const std::string host(request.Header("host"));
  call.base = std::string(request.secure ? "https://" : "http://") + host;
  call.url = call.base + request.path + (request.query.empty() ? "" : "?" + request.query);
  rpc::Response response =
      host.empty() ? call.Fail(Malformed("The request has no Host header.")) : Route(request, call);
  // Every answer carries a fresh nonce (§6.5: errors and downloads included) and the index.
  // (None while the nonce key cannot be read: the store is down and every POST fails anyway.)
  if (std::string nonce = nonces_.Issue(); !nonce.empty()) {
    response.headers.emplace_back("Replay-Nonce", std::move(nonce));
  }
  response.headers.emplace_back("Link", "<" + call.Directory() + ">;rel=\"index\"");
  response.headers.emplace_back("Cache-Control", "no-store");
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now() - start)
                          .count();
  log::Line(log::Level::kInfo, "request")
      .Str("front", "acme")
      .Str("request_id", call.request_id)
      .Str("method", request.method)
      .Str("path", request.path)
      .Int("account_id", call.account ? call.account->account_id : 0)
      .Int("acme_account_id", call.account ? call.account->id : 0)
      .Str("code", call.problem_type)
      .Int("status", response.status)
      .Int("latency_us", micros)
      .Write();
  return response;
}

rpc::Response Server::Route(const rpc::Request& request, Call& call) {
  std::string_view resource = request.path;
  resource.remove_prefix(std::min(resource.size(), settings_.prefix.size()));
  if (resource == "directory") {
    if (request.method != "GET" && request.method != "HEAD") {
      call.Header("Allow", "GET, HEAD");
      return call.Fail(Problem{ProblemType::kMalformed, "Use GET.", 405});
    }
    Json dir = {
        {"newNonce", call.Url("new-nonce")},   {"newAccount", call.Url("new-account")},
        {"newOrder", call.Url("new-order")},   {"revokeCert", call.Url("revoke-cert")},
        {"keyChange", call.Url("key-change")}, {"meta", {{"externalAccountRequired", true}}}};
    return call.Json(200, dir);
  }
  if (resource == "new-nonce") {
    if (request.method == "HEAD") {
      call.response.status = 200;
      return std::move(call.response);
    }
    if (request.method == "GET") {
      call.response.status = 204;
      return std::move(call.response);
    }
  }
  if (request.method != "POST") {
    call.Header("Allow", resource == "new-nonce" ? "GET, HEAD" : "POST");
    return call.Fail(Problem{ProblemType::kMalformed,
                             "ACME resources are read with POST-as-GET (RFC 8555 §6.3).", 405});
  }
  if (MediaType(request.Header("content-type")) != kJoseType) {
    return call.Fail(
        Problem{ProblemType::kMalformed, "The Content-Type must be application/jose+json.", 415});
  }
  return Post(request, call, resource);
}

rpc::Response Server::Post(const rpc::Request& request, Call& call, std::string_view resource) {
  Outcome<Jws> jws = ParseJws(request.body);
  if (!jws) return call.Fail(jws.problem());
  call.jws = std::move(*jws);
  // §6.4: the url is the request URL as the client addressed it.
  if (call.jws.url != call.url) {
    return call.Fail(Unauthorized("The JWS url \"" + call.jws.url + "\" is not the request URL \"" +
                                  call.url + "\"."));
  }
  const bool jwk_allowed = resource == "new-account" || resource == "revoke-cert";
  const bool kid_allowed = resource != "new-account";
  if (call.jws.jwk) {
    if (!jwk_allowed) {
      return call.Fail(Malformed("This resource needs a kid (the account URL), not a jwk."));
    }
    Outcome<pki::JwkParts> key = ReadJwk(*call.jws.jwk);
    if (!key) return call.Fail(key.problem());
    call.key = std::move(*key);
  } else {
    if (!kid_allowed) return call.Fail(Malformed("newAccount needs a jwk, not a kid."));
    const std::string prefix = call.Url("acct/");
    std::optional<int64_t> id;
    if (call.jws.kid.rfind(prefix, 0) == 0) id = ParseId(call.jws.kid.substr(prefix.size()));
    if (!id) {
      return call.Fail(Problem{ProblemType::kAccountDoesNotExist,
                               "The kid is not an account URL of this server."});
    }
    Result<std::optional<AcmeAccount>> account = store_.FindAcmeAccount(*id);
    if (!account) return call.Fail(FromError(account.error()));
    if (!*account) {
      return call.Fail(Problem{ProblemType::kAccountDoesNotExist, "No such account."});
    }
    Json jwk = Json::parse((*account)->jwk_json, nullptr, false);
    Outcome<pki::JwkParts> key = ReadJwk(jwk);
    if (!key) return call.Fail(key.problem());
    call.key = std::move(*key);
    call.account = std::move(**account);
  }
  Outcome<bool> verified = Verify(call.jws, call.key);
  if (!verified) return call.Fail(verified.problem());
  // The nonce is spent only once the signature holds: nothing unsigned reaches the guard.
  if (Status s = nonces_.Consume(call.jws.nonce); !s) {
    const ErrorCode code = s.error().code;
    if (code == ErrorCode::kInternal || code == ErrorCode::kServiceUnavailable) {
      return call.Fail(FromError(s.error()));
    }
    return call.Fail(
        Problem{ProblemType::kBadNonce, s.error().code == ErrorCode::kSignatureNonceUsed
                                            ? "The nonce was used already."
                                        : s.error().code == ErrorCode::kThrottling
                                            ? "Too many nonces in use; retry with a fresh one."
                                            : s.error().message});
  }
  if (call.account && call.account->deactivated) {
    return call.Fail(Unauthorized("The account is deactivated."));
  }

  if (resource == "new-account") return NewAccount(call);
  if (resource == "new-order") return NewOrder(call);
  if (resource == "revoke-cert") return RevokeCert(call);
  if (resource == "key-change") return KeyChange(call);
  // Resources named by id: acct/<id>[/orders], order/<id>[/finalize], authz/<id>-<i>,
  // chall/<id>-<i>/<type>, cert/<id>.
  const size_t slash = resource.find('/');
  const std::string_view kind = resource.substr(0, slash);
  std::string_view rest = slash == std::string_view::npos ? "" : resource.substr(slash + 1);
  const size_t slash2 = rest.find('/');
  const std::string_view first = rest.substr(0, slash2);
  const std::string_view tail =
      slash2 == std::string_view::npos ? std::string_view() : rest.substr(slash2 + 1);
  const bool has_tail = slash2 != std::string_view::npos;
  if (kind == "acct") {
    std::optional<int64_t> id = ParseId(first);
    if (id && (!has_tail || tail == "orders")) return Account(call, *id, has_tail);
  } else if (kind == "order") {
    std::optional<int64_t> id = ParseId(first);
    if (id && !has_tail) return OrderResource(call, *id, 200);
    if (id && tail == "finalize") return Finalize(call, *id);
  } else if (kind == "cert") {
    std::optional<int64_t> id = ParseId(first);
    if (id && !has_tail) return Certificate(call, *id);
  } else if (kind == "authz" || kind == "chall") {
    const size_t dash = first.find('-');
    std::optional<int64_t> id = ParseId(first.substr(0, dash));
    std::optional<int64_t> index =
        dash == std::string_view::npos ? std::nullopt : ParseId(first.substr(dash + 1));
    if (id && index && *index < 5) {
      if (kind == "authz" && !has_tail) return Authorization(call, *id, *index);
      if (kind == "chall" && has_tail) return Challenge(call, *id, *index, tail);
    }
  }
  return call.Fail(Problem{ProblemType::kMalformed, "No such resource.", 404});
}

namespace {

Json AccountJson(const AcmeAccount& a, const std::string& orders_url) {
  Json contact = Json::parse(a.contact_json, nullptr, false);
  if (!contact.is_array()) contact = Json::array();
  return {{"status", a.deactivated ? "deactivated" : "valid"},
          {"contact", contact},
          {"orders", orders_url}};
}

}  // namespace

rpc::Response Server::NewAccount(Call& call) {
  Json payload = Json::parse(call.jws.payload, nullptr, false);
  if (!payload.is_object()) return call.Fail(Malformed("The payload is not a JSON object."));
  const std::string thumbprint = Thumbprint(*call.jws.jwk);
  if (thumbprint.empty()) return call.Fail(Malformed("The jwk lacks required members."));
  Result<std::optional<AcmeAccount>> existing = store_.FindAcmeAccountByThumbprint(thumbprint);
  if (!existing) return call.Fail(FromError(existing.error()));
  if (*existing) {
    // §7.3.1: the key's account, whatever else was asked (unless it was deactivated, §7.3.6).
    if ((*existing)->deactivated) {
      return call.Fail(Unauthorized("The account of this key is deactivated."));
    }
    call.account = std::move(**existing);
    call.Header("Location", call.AccountUrl(call.account->id));
    return call.Json(200,
                     AccountJson(*call.account, call.AccountUrl(call.account->id) + "/orders"));
  }
  if (payload.value("onlyReturnExisting", false)) {
    return call.Fail(Problem{ProblemType::kAccountDoesNotExist, "No account has this key."});
  }
  auto eab_it = payload.find("externalAccountBinding");
  if (eab_it == payload.end() || !eab_it->is_object()) {
    return call.Fail(Problem{ProblemType::kExternalAccountRequired,
                             "This server requires External Account Binding: ask the operator "
                             "for a key id and HMAC key (certplan admin acme eab create)."});
  }
  // §7.3.4: a JWS by the EAB key, HS256, kid = key id, url = this URL, payload = the account key.
  const Json& eab = *eab_it;
  if (!eab.contains("protected") || !eab["protected"].is_string() || !eab.contains("payload") ||
      !eab["payload"].is_string() || !eab.contains("signature") || !eab["signature"].is_string()) {
    return call.Fail(Malformed("externalAccountBinding must be a flattened JWS."));
  }
  const std::string eab_protected = eab["protected"].get<std::string>();
  const std::string eab_payload = eab["payload"].get<std::string>();
  std::optional<std::string> header_text = Base64UrlDecode(eab_protected);
  std::optional<std::string> payload_text = Base64UrlDecode(eab_payload);
  std::optional<std::string> signature = Base64UrlDecode(eab["signature"].get<std::string>());
  if (!header_text || !payload_text || !signature) {
    return call.Fail(Malformed("The externalAccountBinding parts must be base64url."));
  }
  Json header = Json::parse(*header_text, nullptr, false);
  if (!header.is_object()) return call.Fail(Malformed("The EAB header is not a JSON object."));
  if (header.value("alg", "") != "HS256") {
    return call.Fail(
        Problem{ProblemType::kBadSignatureAlgorithm, "The externalAccountBinding must use HS256."});
  }
  if (header.contains("nonce")) {
    return call.Fail(Malformed("The externalAccountBinding must not carry a nonce."));
  }
  if (header.value("url", "") != call.url) {
    return call.Fail(Unauthorized("The externalAccountBinding url is not the newAccount URL."));
  }
  const std::string kid = header.value("kid", "");
  Result<std::optional<EabKey>> key = store_.FindEabKey(kid);
  if (!key) return call.Fail(FromError(key.error()));
  if (!*key) return call.Fail(Unauthorized("Unknown External Account Binding key id."));
  if ((*key)->revoked) {
    return call.Fail(Unauthorized("The External Account Binding key " + kid + " was revoked."));
  }
  Result<std::string> hmac = eab_.HmacKeyOf(**key);
  if (!hmac) return call.Fail(FromError(hmac.error()));
  if (!ConstantTimeEquals(pki::HmacSha256(*hmac, eab_protected + "." + eab_payload), *signature)) {
    return call.Fail(Unauthorized("The externalAccountBinding signature is invalid."));
  }
  Json bound = Json::parse(*payload_text, nullptr, false);
  if (!bound.is_object() || Thumbprint(bound) != thumbprint) {
    return call.Fail(Unauthorized("The externalAccountBinding binds another key."));
  }
  AcmeAccount account;
  if (payload.contains("contact")) {
    Problem problem{ProblemType::kInvalidContact, ""};
    if (Status s = CheckContacts(payload["contact"], problem); !s) return call.Fail(problem);
    account.contact_json = payload["contact"].dump();
  }
  account.thumbprint = thumbprint;
  account.jwk_json = PublicJwk(*call.jws.jwk).dump();
  account.eab_key_id = kid;
  account.account_id = (*key)->account_id;
  account.product_code = (*key)->product_code;
  account.created_at = call.now;
  Result<AcmeAccount> created =
      store_.CreateAcmeAccount(std::move(account), settings_.max_accounts_per_eab_key);
  if (!created) {
    if (created.error().code == ErrorCode::kOrderStateError) {
      return call.Fail(Unauthorized(created.error().message));
    }
    return call.Fail(FromError(created.error()));
  }
  call.account = std::move(*created);
  call.Header("Location", call.AccountUrl(call.account->id));
  return call.Json(201, AccountJson(*call.account, call.AccountUrl(call.account->id) + "/orders"));
}

rpc::Response Server::Account(Call& call, int64_t id, bool orders) {
  if (id != call.account->id) return call.Fail(Unauthorized("The kid is not this account."));
  if (orders) {
    Result<std::vector<int64_t>> ids = store_.AcmeAccountOrders(id, kListLimit);
    if (!ids) return call.Fail(FromError(ids.error()));
    Json list = Json::array();
    for (int64_t order_id : *ids) list.push_back(call.OrderUrl(order_id));
    return call.Json(200, {{"orders", list}});
  }
  if (!call.jws.payload.empty()) {
    Json payload = Json::parse(call.jws.payload, nullptr, false);
    if (!payload.is_object()) return call.Fail(Malformed("The payload is not a JSON object."));
    AcmeAccount updated = *call.account;
    if (payload.contains("contact")) {
      Problem problem{ProblemType::kInvalidContact, ""};
      if (Status s = CheckContacts(payload["contact"], problem); !s) return call.Fail(problem);
      updated.contact_json = payload["contact"].dump();
    }
    if (payload.contains("status")) {
      if (payload["status"] != "deactivated") {
        return call.Fail(Malformed("An account's status can only be set to deactivated."));
      }
      updated.deactivated = true;
    }
    if (Status s = store_.UpdateAcmeAccount(updated); !s) return call.Fail(FromError(s.error()));
    call.account = std::move(updated);
  }
  call.Header("Location", call.AccountUrl(id));
  return call.Json(200, AccountJson(*call.account, call.AccountUrl(id) + "/orders"));
}

namespace {

Json OrderJson(const std::string& status, const cas::Order& o,
               const std::function<std::string(size_t)>& authz_url, const std::string& order_url,
               const std::string& cert_url) {
  Json identifiers = Json::array(), authorizations = Json::array();
  for (size_t i = 0; i < o.domains.size(); ++i) {
    identifiers.push_back({{"type", "dns"}, {"value", o.domains[i]}});
    authorizations.push_back(authz_url(i));
  }
  Json j = {{"status", status},
            {"expires", FormatIso8601Utc(o.validation_deadline)},
            {"identifiers", identifiers},
            {"authorizations", authorizations},
            {"finalize", order_url + "/finalize"}};
  if (status == "valid") j["certificate"] = cert_url;
  return j;
}

}  // namespace

rpc::Response Server::NewOrder(Call& call) {
  const AcmeAccount& account = *call.account;
  Json payload = Json::parse(call.jws.payload, nullptr, false);
  if (!payload.is_object() || !payload.contains("identifiers") ||
      !payload["identifiers"].is_array()) {
    return call.Fail(Malformed("newOrder needs an identifiers array."));
  }
  const Json& ids = payload["identifiers"];
  if (ids.empty()) return call.Fail(Malformed("newOrder needs at least one identifier."));
  if (ids.size() > 5) {
    return call.Fail(
        Problem{ProblemType::kRejectedIdentifier,
                "An order may carry at most 5 names (ProductCode " + account.product_code + ")."});
  }
  std::vector<std::string> names;
  for (const Json& id : ids) {
    if (!id.is_object() || !id.contains("type") || !id.contains("value") ||
        !id["type"].is_string() || !id["value"].is_string()) {
      return call.Fail(Malformed("Each identifier needs a type and a value."));
    }
    if (id["type"] != "dns") {
      return call.Fail(
          Problem{ProblemType::kUnsupportedIdentifier, "Only dns identifiers are supported."});
    }
    Result<std::string> name = cas::NormalizeDomain(id["value"].get<std::string>(), "identifiers");
    if (!name) return call.Fail(Problem{ProblemType::kRejectedIdentifier, name.error().message});
    if (std::find(names.begin(), names.end(), *name) == names.end()) names.push_back(*name);
  }
  // The binding still holds: a revoked EAB key stops every account it bound.
  Result<std::optional<EabKey>> key = store_.FindEabKey(account.eab_key_id);
  if (!key) return call.Fail(FromError(key.error()));
  if (!*key || (*key)->revoked) {
    return call.Fail(Unauthorized("The External Account Binding key " + account.eab_key_id +
                                  " of this account was revoked."));
  }
  for (const std::string& n : names) {
    if (!NameAllowed((*key)->names, n)) {
      return call.Fail(Problem{ProblemType::kRejectedIdentifier,
                               "\"" + n + "\" is outside the names this account may order."});
    }
  }
  const std::string names_key = IdentifiersKey(names);
  std::scoped_lock lock(new_order_mu_[static_cast<size_t>(account.id) % new_order_mu_.size()]);
  // An order for names this account already has pending is answered again, never charged
  // twice.
  Result<std::vector<int64_t>> same = store_.AcmeOrdersWithNames(account.id, names_key, 5);
  if (!same) return call.Fail(FromError(same.error()));
  for (int64_t order_id : *same) {
    Result<cas::Order> o = orders_.Describe(account.account_id, order_id);
    if (o && Pending(*o) && call.now < o->validation_deadline) {
      call.Header("Location", call.OrderUrl(o->id));
      return OrderResource(call, o->id, 201);
    }
  }
  Result<cas::Order> order =
      orders_.ApplyAcme(account.account_id, account.product_code, names, call.By("acme:newOrder"));
  if (!order) {
    rpc::Response refused = [&] {
      const ErrorCode code = order.error().code;
      if (code == ErrorCode::kInvalidParameter || code == ErrorCode::kMissingParameter) {
        return call.Fail(
            Problem{ProblemType::kRejectedIdentifier,
                    order.error().message + " (ProductCode " + account.product_code + ")"});
      }
      if (code == ErrorCode::kThrottling) {  // the staging directory's per-account rate
        call.Header("Retry-After", "60");
        return call.Fail(Problem{ProblemType::kRateLimited, order.error().message});
      }
      if (code == ErrorCode::kNotFoundPackage || code == ErrorCode::kNotRemainCount) {
        // unauthorized, not rateLimited: the plan is an entitlement, not a rate; waiting does not
        // help until the operator grants more, so clients must not back off and retry.
        std::string detail = code == ErrorCode::kNotRemainCount
                                 ? "The plan of ProductCode " + account.product_code + " is used up"
                                 : "No plan of ProductCode " + account.product_code +
                                       " is in force (none granted, or expired)";
        Result<cas::PackageState> state = plans_.Describe(account.account_id, account.product_code);
        if (state) {
          detail += ": TotalCount=" + std::to_string(state->total) +
                    ", UsedCount=" + std::to_string(state->used) +
                    ", IssuedCount=" + std::to_string(state->issued);
        }
        return call.Fail(Unauthorized(detail + "."));
      }
      return call.Fail(FromError(order.error()));
    }();
    RecordRefusal(call, "acme:newOrder", account.account_id, 0);
    return refused;
  }
  AcmeOrder view;
  view.order_id = order->id;
  view.acme_account_id = account.id;
  view.identifiers_key = names_key;
  view.authz_json = WriteAuthz(std::vector<AuthzState>(order->domains.size()));
  view.created_at = call.now;
  if (Status s = store_.InsertAcmeOrder(view); !s) {
    // The unit comes back at once rather than at the order's expiry.
    (void)orders_.AcmeAbandon(order->id, "the ACME view could not be stored",
                              call.By("acme:abandon"));
    return call.Fail(FromError(s.error()));
  }
  call.Header("Location", call.OrderUrl(order->id));
  const Json body = OrderJson(
      OrderStatusOf(*order, call.now), *order,
      [&](size_t i) { return call.AuthzUrl(order->id, i); }, call.OrderUrl(order->id),
      call.Url("cert/" + std::to_string(order->id)));
  return call.Json(201, body);
}

rpc::Response Server::OrderResource(Call& call, int64_t order_id, int status_code) {
  Result<std::optional<AcmeOrder>> view = store_.FindAcmeOrder(order_id);
  if (!view) return call.Fail(FromError(view.error()));
  if (!*view || (*view)->acme_account_id != call.account->id) {
    return call.Fail(Problem{ProblemType::kUnauthorized, "No such order for this account.", 404});
  }
  Result<cas::Order> order = orders_.Describe(call.account->account_id, order_id);
  if (!order) return call.Fail(Problem{ProblemType::kUnauthorized, "No such order.", 404});
  const std::string status = OrderStatusOf(*order, call.now);
  const Json body = OrderJson(
      status, *order, [&](size_t i) { return call.AuthzUrl(order_id, i); }, call.OrderUrl(order_id),
      call.Url("cert/" + std::to_string(order_id)));
  return call.Json(status_code, body);
}

rpc::Response Server::Authorization(Call& call, int64_t order_id, size_t index) {
  Result<std::optional<AcmeOrder>> view = store_.FindAcmeOrder(order_id);
  if (!view) return call.Fail(FromError(view.error()));
  if (!*view || (*view)->acme_account_id != call.account->id) {
    return call.Fail(Problem{ProblemType::kUnauthorized, "No such authorization.", 404});
  }
  Result<cas::Order> order = orders_.Describe(call.account->account_id, order_id);
  if (!order || index >= order->domains.size()) {
    return call.Fail(Problem{ProblemType::kUnauthorized, "No such authorization.", 404});
  }
  if (!call.jws.payload.empty()) {
    Json payload = Json::parse(call.jws.payload, nullptr, false);
    if (payload.is_object() && payload.value("status", "") == "deactivated") {
      // Deactivating an authorization ends its order: the unit comes back.
      std::vector<AuthzState> states = ReadAuthz((*view)->authz_json, order->domains.size());
      states[index].status = "invalid";
      states[index].error = "deactivated by the client";
      (void)store_.UpdateAcmeOrderAuthz(order_id, WriteAuthz(states));
      if (Pending(*order)) {
        (void)orders_.AcmeAbandon(order_id, "authorization deactivated",
                                  call.By("acme:deactivateAuthorization"));
      }
      (*view)->authz_json = WriteAuthz(states);
      Result<cas::Order> again = orders_.Describe(call.account->account_id, order_id);
      if (again) order = std::move(again);
    }
  }
  const std::vector<AuthzState> states = ReadAuthz((*view)->authz_json, order->domains.size());
  const AuthzState& st = states[index];
  const std::string& name = order->domains[index];
  const bool wildcard = cas::IsWildcard(name);
  std::string status = st.status;
  if (status == "pending" && (!Pending(*order) || call.now >= order->validation_deadline)) {
    status = call.now >= order->validation_deadline ? "expired" : "invalid";
  }
  if (st.error == "deactivated by the client") status = "deactivated";
  Json challenges = Json::array();
  const std::string token = ChallengeToken(*order, index);
  for (std::string_view type : {kHttp01, kDns01}) {
    if (wildcard && type == kHttp01) continue;  // §8.3: http-01 cannot prove a wildcard
    Json c = {{"type", type}, {"url", call.ChallengeUrl(order_id, index, type)}, {"token", token}};
    std::string cstatus = "pending";
    if (st.type == type && st.status == "valid") cstatus = "valid";
    if (st.type == type && st.status == "invalid") cstatus = "invalid";
    c["status"] = cstatus;
    if (cstatus == "valid") c["validated"] = FormatIso8601Utc(st.validated);
    if (cstatus == "invalid") {
      c["error"] = {{"type", ProblemTypeUrn(ProblemType::kIncorrectResponse)},
                    {"detail", st.error},
                    {"status", 403}};
    }
    // §7.1.4: once valid, only the challenge that validated it is listed.
    if (status == "valid" && cstatus != "valid") continue;
    challenges.push_back(std::move(c));
  }
  Json body = {{"identifier", {{"type", "dns"}, {"value", std::string(AuthzName(name))}}},
               {"status", status},
               {"expires", FormatIso8601Utc(order->validation_deadline)},
               {"challenges", challenges}};
  if (wildcard) body["wildcard"] = true;
  return call.Json(200, body);
}

rpc::Response Server::Challenge(Call& call, int64_t order_id, size_t index, std::string_view type) {
  if (type != kHttp01 && type != kDns01) {
    return call.Fail(Problem{ProblemType::kMalformed, "No such challenge.", 404});
  }
  Result<std::optional<AcmeOrder>> view = store_.FindAcmeOrder(order_id);
  if (!view) return call.Fail(FromError(view.error()));
  if (!*view || (*view)->acme_account_id != call.account->id) {
    return call.Fail(Problem{ProblemType::kUnauthorized, "No such challenge.", 404});
  }
  Result<cas::Order> order = orders_.Describe(call.account->account_id, order_id);
  if (!order || index >= order->domains.size()) {
    return call.Fail(Problem{ProblemType::kUnauthorized, "No such challenge.", 404});
  }
  const std::string& name = order->domains[index];
  if (cas::IsWildcard(name) && type == kHttp01) {
    return call.Fail(Problem{ProblemType::kMalformed, "No such challenge.", 404});
  }
  std::vector<AuthzState> states = ReadAuthz((*view)->authz_json, order->domains.size());
  AuthzState& st = states[index];
  const std::string token = ChallengeToken(*order, index);
  const std::string authz_url = call.AuthzUrl(order_id, index);
  call.Header("Link", "<" + authz_url + ">;rel=\"up\"");
  // An empty payload reads the challenge; `{}` asks for validation (§7.5.1).
  const bool respond = !call.jws.payload.empty();
  if (respond && st.status == "pending" && order->status == cas::OrderStatus::kDomainVerify &&
      call.now < order->validation_deadline) {
    const std::string key_authorization =
        token + "." + Thumbprint(Json::parse(call.account->jwk_json, nullptr, false));
    Status checked = Ok{};
    if (!settings_.auto_approve) {
      checked = type == kHttp01
                    ? checker_.Check(cas::CheckMethod::kAcmeHttp01, name, key_authorization)
                    : checker_.Check(cas::CheckMethod::kAcmeDns01, AuthzName(name),
                                     Base64UrlEncode(pki::Sha256(key_authorization)));
    }
    st.type = std::string(type);
    if (checked) {
      st.status = "valid";
      st.validated = call.now;
    } else {
      st.status = "invalid";
      st.error = checked.error().message;
    }
    if (Status s = store_.UpdateAcmeOrderAuthz(order_id, WriteAuthz(states)); !s) {
      return call.Fail(FromError(s.error()));
    }
    if (!checked) {
      // §7.1.6: a failed challenge makes the order invalid; certplan gives its unit back.
      (void)orders_.AcmeAbandon(order_id, checked.error().message, call.By("acme:abandon"));
    } else if (std::all_of(states.begin(), states.end(),
                           [](const AuthzState& a) { return a.status == "valid"; })) {
      if (Status s = orders_.AcmeAuthorized(order_id, call.By("acme:authorized"));
          !s && s.error().code != ErrorCode::kOrderStateError) {
        return call.Fail(FromError(s.error()));
      }
    }
  }
  Json c = {{"type", type}, {"url", call.ChallengeUrl(order_id, index, type)}, {"token", token}};
  std::string cstatus = "pending";
  if (st.type == type && st.status == "valid") cstatus = "valid";
  if (st.type == type && st.status == "invalid") cstatus = "invalid";
  c["status"] = cstatus;
  if (cstatus == "valid") c["validated"] = FormatIso8601Utc(st.validated);
  if (cstatus == "invalid") {
    c["error"] = {{"type", ProblemTypeUrn(ProblemType::kIncorrectResponse)},
                  {"detail", st.error},
                  {"status", 403}};
  }
  return call.Json(200, c);
}

rpc::Response Server::Finalize(Call& call, int64_t order_id) {
  Result<std::optional<AcmeOrder>> view = store_.FindAcmeOrder(order_id);
  if (!view) return call.Fail(FromError(view.error()));
  if (!*view || (*view)->acme_account_id != call.account->id) {
    return call.Fail(Problem{ProblemType::kUnauthorized, "No such order for this account.", 404});
  }
  Result<cas::Order> order = orders_.Describe(call.account->account_id, order_id);
  if (!order) return call.Fail(Problem{ProblemType::kUnauthorized, "No such order.", 404});
  if (OrderStatusOf(*order, call.now) != "ready") {
    return call.Fail(Problem{ProblemType::kOrderNotReady,
                             "The order is " + OrderStatusOf(*order, call.now) +
                                 ", not ready: every authorization must be valid first."});
  }
  Json payload = Json::parse(call.jws.payload, nullptr, false);
  if (!payload.is_object() || !payload.contains("csr") || !payload["csr"].is_string()) {
    return call.Fail(Malformed("finalize needs a csr."));
  }
  std::optional<std::string> der = Base64UrlDecode(payload["csr"].get<std::string>());
  if (!der || der->empty())
    return call.Fail(Problem{ProblemType::kBadCsr, "The csr is not base64url."});
  const std::string pem = "-----BEGIN CERTIFICATE REQUEST-----\n" + Base64Pem(*der) +
                          "-----END CERTIFICATE REQUEST-----\n";
  Result<cas::Order> issued = orders_.AcmeFinalize(order_id, pem, call.By("acme:finalize"));
  if (!issued) {
    const ErrorCode code = issued.error().code;
    rpc::Response refused =
        code == ErrorCode::kCreateCertificateRequestFailed
            ? call.Fail(Problem{ProblemType::kBadCsr, issued.error().message})
        : code == ErrorCode::kOrderStateError
            ? call.Fail(Problem{ProblemType::kOrderNotReady, issued.error().message})
            : call.Fail(FromError(issued.error()));
    RecordRefusal(call, "acme:finalize", call.account->account_id, order_id);
    return refused;
  }
  call.Header("Location", call.OrderUrl(order_id));
  const Json body = OrderJson(
      OrderStatusOf(*issued, call.now), *issued,
      [&](size_t i) { return call.AuthzUrl(order_id, i); }, call.OrderUrl(order_id),
      call.Url("cert/" + std::to_string(order_id)));
  return call.Json(200, body);
}

rpc::Response Server::Certificate(Call& call, int64_t order_id) {
  Result<std::optional<AcmeOrder>> view = store_.FindAcmeOrder(order_id);
  if (!view) return call.Fail(FromError(view.error()));
  if (!*view || (*view)->acme_account_id != call.account->id) {
    return call.Fail(Problem{ProblemType::kUnauthorized, "No such certificate.", 404});
  }
  Result<cas::Order> order = orders_.Describe(call.account->account_id, order_id);
  if (!order || order->certificate_pem.empty()) {
    return call.Fail(Problem{ProblemType::kMalformed, "No certificate has been issued.", 404});
  }
  call.response.status = 200;
  call.response.content_type = "application/pem-certificate-chain";
  std::string body = order->certificate_pem;
  if (!body.empty() && body.back() != '\n') body += '\n';
  body += order->chain_pem;
  call.response.body = std::move(body);
  return std::move(call.response);
}

rpc::Response Server::RevokeCert(Call& call) {
  Json payload = Json::parse(call.jws.payload, nullptr, false);
  if (!payload.is_object() || !payload.contains("certificate") ||
      !payload["certificate"].is_string()) {
    return call.Fail(Malformed("revokeCert needs a certificate."));
  }
  if (payload.contains("reason")) {
    const Json& r = payload["reason"];
    if (!r.is_number_integer() || r.get<int64_t>() < 0 || r.get<int64_t>() > 10 ||
        r.get<int64_t>() == 7) {
      return call.Fail(Problem{ProblemType::kBadRevocationReason,
                               "reason must be an RFC 5280 CRLReason code (0-10, not 7)."});
    }
  }
  std::optional<std::string> der = Base64UrlDecode(payload["certificate"].get<std::string>());
  if (!der) return call.Fail(Malformed("The certificate is not base64url."));
  const std::string pem =
      "-----BEGIN CERTIFICATE-----\n" + Base64Pem(*der) + "-----END CERTIFICATE-----\n";
  Result<pki::ReadChainResult> read = pki::ReadChain(pem);
  if (!read) return call.Fail(Malformed("The certificate cannot be read."));
  Result<std::optional<int64_t>> order_id = store_.AcmeOrderIdBySerial(read->facts.serial);
  if (!order_id) return call.Fail(FromError(order_id.error()));
  if (!*order_id) {
    return call.Fail(Problem{ProblemType::kMalformed, "The certificate was not issued here.", 404});
  }
  Result<cas::Order> order = orders_.Describe(0, **order_id);
  std::optional<std::string> stored =
      order ? pki::PemBody(order->certificate_pem, "CERTIFICATE") : std::nullopt;
  if (!stored || *stored != *der) {
    return call.Fail(Problem{ProblemType::kMalformed, "The certificate was not issued here.", 404});
  }
  if (call.account) {
    // §7.6: the account that ordered it, or another ACME account of the same certplan account.
    if (call.account->account_id != order->account_id) {
      return call.Fail(Unauthorized("This account may not revoke that certificate."));
    }
  } else {
    Result<std::string> jwk_spki = pki::JwkSpkiDer(call.key);
    Result<std::string> cert_spki = pki::CertificateSpkiDer(*der);
    if (!jwk_spki || !cert_spki || *jwk_spki != *cert_spki) {
      return call.Fail(Unauthorized("The JWS is not signed by the certificate's key."));
    }
  }
  if (order->status == cas::OrderStatus::kRevoked) {
    return call.Fail(Problem{ProblemType::kAlreadyRevoked, "The certificate is already revoked."});
  }
  // The CancelCertificateForPackageRequest rule: the unit comes back within 30 days of issue.
  if (Status s = orders_.CancelForPackage(order->account_id, order->id, call.By("acme:revokeCert"));
      !s) {
    rpc::Response refused = s.error().code == ErrorCode::kOrderStateError
                                ? call.Fail(Unauthorized(s.error().message))
                                : call.Fail(FromError(s.error()));
    RecordRefusal(call, "acme:revokeCert", order->account_id, order->id);
    return refused;
  }
  call.response.status = 200;
  return std::move(call.response);
}

rpc::Response Server::KeyChange(Call& call) {
  // §7.3.5: the payload is a JWS by the new key over {account, oldKey}, same url, no nonce.
  Outcome<Jws> inner = ParseJws(call.jws.payload);
  if (!inner)
    return call.Fail(Malformed("The keyChange payload is not a JWS: " + inner.problem().detail));
  if (!inner->jwk) return call.Fail(Malformed("The inner JWS needs a jwk (the new key)."));
  if (inner->url != call.jws.url) return call.Fail(Unauthorized("The inner JWS url differs."));
  if (!inner->nonce.empty() || inner->header.contains("nonce")) {
    return call.Fail(Malformed("The inner JWS must not carry a nonce."));
  }
  Outcome<pki::JwkParts> new_key = ReadJwk(*inner->jwk);
  if (!new_key) return call.Fail(new_key.problem());
  Outcome<bool> verified = Verify(*inner, *new_key);
  if (!verified) return call.Fail(verified.problem());
  Json payload = Json::parse(inner->payload, nullptr, false);
  if (!payload.is_object() || payload.value("account", "") != call.jws.kid ||
      !payload.contains("oldKey")) {
    return call.Fail(Malformed("The inner payload must name this account and its oldKey."));
  }
  if (Thumbprint(payload["oldKey"]) != call.account->thumbprint) {
    return call.Fail(Unauthorized("oldKey is not the account's key."));
  }
  const std::string thumbprint = Thumbprint(*inner->jwk);
  if (thumbprint.empty()) return call.Fail(Malformed("The new jwk lacks required members."));
  Result<std::optional<AcmeAccount>> taken = store_.FindAcmeAccountByThumbprint(thumbprint);
  if (!taken) return call.Fail(FromError(taken.error()));
  if (*taken) {
    call.Header("Location", call.AccountUrl((*taken)->id));
    return call.Fail(Problem{ProblemType::kMalformed, "The new key belongs to an account.", 409});
  }
  AcmeAccount updated = *call.account;
  updated.thumbprint = thumbprint;
  updated.jwk_json = PublicJwk(*inner->jwk).dump();
  if (Status s = store_.UpdateAcmeAccount(updated); !s) {
    if (s.error().code == ErrorCode::kParamRepeat) {
      return call.Fail(Problem{ProblemType::kMalformed, "The new key belongs to an account.", 409});
    }
    return call.Fail(FromError(s.error()));
  }
  call.account = std::move(updated);
  call.Header("Location", call.AccountUrl(call.account->id));
  return call.Json(200, AccountJson(*call.account, call.AccountUrl(call.account->id) + "/orders"));
}

void Server::RecordRefusal(const Call& call, std::string_view action, int64_t account_id,
                           int64_t order_id) {
  if (!settings_.audit) return;
  // The result is the problem's type without its URN prefix ("unauthorized", "badCSR" …).
  std::string_view type = call.problem_type;
  if (const size_t colon = type.rfind(':'); colon != std::string_view::npos) {
    type.remove_prefix(colon + 1);
  }
  Status recorded = settings_.audit->RecordRefusal(
      call.By(action), account_id, order_id ? "OrderId" : "",
      order_id ? std::to_string(order_id) : "", type.empty() ? "serverInternal" : type);
  if (!recorded) {
    log::Line(log::Level::kWarn, "audit record of a refusal not written")
        .Str("request_id", call.request_id)
        .Str("detail", recorded.error().detail)
        .Write();
  }
}

}  // namespace certplan::acme
