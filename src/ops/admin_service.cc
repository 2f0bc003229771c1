#include "ops/admin_service.h"

#include "auth/crypto.h"
#include "ops/operator_tokens.h"
#include "rpc/errors.h"

namespace certplan::ops {
namespace {

constexpr int64_t kTouchIntervalSeconds = 60;

bool Spelled(std::string_view text, size_t max, std::string_view extra) {
  if (text.empty() || text.size() > max) return false;
  for (char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    extra.find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// What makes two grant requests "the same": every field the caller chose.
std::string GrantFingerprint(const GrantRequest& r) {
  std::string text = "account=" + std::to_string(r.account_id) + "\nproduct=" + r.product_code +
                     "\ncount=" + std::to_string(r.count) +
                     "\nexpires=" + (r.expires_at ? std::to_string(*r.expires_at) : "-");
  return auth::HexDigest(auth::Digest::kSha256, text);
}

Error BadToken() {
  return Error(ErrorCode::kInvalidOperatorToken,
               "The operator token is not valid (unknown, revoked or malformed).");
}

}  // namespace

Status AdminService::RequireAccount(int64_t account_id) {
  Result<std::optional<iam::Account>> account = identity_store_.FindAccount(account_id);
  if (!account) return account.error();
  if (!*account) {
    return Error(ErrorCode::kAccountNotFound,
                 "The specified account " + std::to_string(account_id) + " does not exist.");
  }
  return Ok{};
}

audit::Actor AdminService::By(const Actor& who, std::string_view action) {
  audit::Actor a;
  if (who.kind == Actor::Kind::kOperatorToken) {
    a.type = audit::PrincipalType::kOperator;
    a.principal = who.token_id;
  } else {
    a.type = audit::PrincipalType::kCli;
    a.principal = "cli";
  }
  a.source_ip = who.source_ip;
  a.request_id = who.request_id;
  a.action = std::string(action);
  return a;
}

Status AdminService::Refused(const Actor& who, std::string_view action, int64_t account_id,
                             std::string_view object_type, std::string_view object_id,
                             Status status) {
  if (status || status.error().code == ErrorCode::kInternal || account_id == 0) return status;
  Result<std::optional<iam::Account>> account = identity_store_.FindAccount(account_id);
  if (!account || !*account) return status;  // nobody's trail to write to
  // A refusal changed nothing; failing to record it does not change the answer either.
  (void)audit_.RecordRefusal(By(who, action), account_id, object_type, object_id,
                             rpc::ToWire(status.error().code).code);
  return status;
}

namespace {

// The Status of a Result, for Refused.
template <typename T>
Status StatusOf(const Result<T>& r) {
  if (r) return Ok{};
  return r.error();
}

}  // namespace

Result<iam::NewAccount> AdminService::CreateAccount(const Actor& who, std::string_view name) {
  return identities_.CreateAccount(name, By(who, "admin account create"));
}

Result<iam::IssuedKey> AdminService::CreateKey(const Actor& who, int64_t account_id,
                                               std::string_view user) {
  Result<iam::IssuedKey> key = identities_.CreateKey(account_id, user, By(who, "admin key create"));
  if (!key) {
    (void)Refused(who, "admin key create", account_id, user.empty() ? "" : "User", user,
                  StatusOf(key));
  }
  return key;
}

Result<std::vector<iam::KeyInfo>> AdminService::ListKeys([[maybe_unused]] const Actor& who,
                                                         int64_t account_id) {
  return identities_.ListKeys(account_id);
}

Status AdminService::SetKeyEnabled(const Actor& who, std::string_view access_key_id, bool enabled) {
  const std::string action = enabled ? "admin key enable" : "admin key disable";
  Status s = identities_.SetKeyEnabled(access_key_id, enabled, By(who, action));
  if (!s) {
    // The key names its account; an unknown key has no account whose trail could hold this.
    Result<std::optional<iam::AccessKey>> key = identity_store_.FindAccessKey(access_key_id);
    if (key && *key)
      return Refused(who, action, (*key)->account_id, "AccessKeyId", access_key_id, s);
  }
  return s;
}

Status AdminService::CreateUser(const Actor& who, int64_t account_id, std::string_view name) {
  return Refused(who, "admin user create", account_id, "User", name,
                 identities_.CreateUser(account_id, name, By(who, "admin user create")));
}

Result<std::vector<iam::User>> AdminService::ListUsers([[maybe_unused]] const Actor& who,
                                                       int64_t account_id) {
  return identities_.ListUsers(account_id);
}

Status AdminService::DeleteUser(const Actor& who, int64_t account_id, std::string_view name) {
  return Refused(who, "admin user delete", account_id, "User", name,
                 identities_.DeleteUser(account_id, name, By(who, "admin user delete")));
}

Status AdminService::CreatePolicy(const Actor& who, int64_t account_id, std::string_view name,
                                  std::string_view document) {
  return Refused(
      who, "admin policy create", account_id, "PolicyName", name,
      identities_.CreatePolicy(account_id, name, document, By(who, "admin policy create")));
}

Result<std::vector<iam::PolicyRecord>> AdminService::ListPolicies([[maybe_unused]] const Actor& who,
                                                                  int64_t account_id) {
  return identities_.ListPolicies(account_id);
}

Status AdminService::AttachPolicy(const Actor& who, int64_t account_id, std::string_view user,
                                  std::string_view policy) {
  return Refused(
      who, "admin policy attach", account_id, "PolicyAttachment",
      std::string(user) + ":" + std::string(policy),
      identities_.AttachPolicy(account_id, user, policy, By(who, "admin policy attach")));
}

Status AdminService::DetachPolicy(const Actor& who, int64_t account_id, std::string_view user,
                                  std::string_view policy) {
  return Refused(
      who, "admin policy detach", account_id, "PolicyAttachment",
      std::string(user) + ":" + std::string(policy),
      identities_.DetachPolicy(account_id, user, policy, By(who, "admin policy detach")));
}

Result<GrantOutcome> AdminService::GrantPlan(const Actor& who, const GrantRequest& request) {
  Result<GrantOutcome> out = GrantPlanOnce(who, request);
  if (!out) (void)Refused(who, "admin plan grant", request.account_id, "", "", StatusOf(out));
  return out;
}

Result<GrantOutcome> AdminService::GrantPlanOnce(const Actor& who, const GrantRequest& request) {
  const audit::Actor by = By(who, "admin plan grant");
  if (request.idempotency_key.empty()) {
    Result<cas::Plan> plan = plans_.Grant(request.account_id, request.product_code, request.count,
                                          request.expires_at, by);
    if (!plan) return plan.error();
    return GrantOutcome{std::move(*plan), false};
  }
  if (!Spelled(request.idempotency_key, 128, "._:-")) {
    return InvalidParameter("IdempotencyKey",
                            "1-128 characters of letters, digits, '.', '_', ':' or '-'.");
  }
  const std::string fingerprint = GrantFingerprint(request);
  // A retry is answered from the record before the checks run again: a retry that comes after
  // the requested expiry has passed still gets the first answer, not a refusal.
  Result<std::optional<PlanGrantRecord>> seen = operators_.FindPlanGrant(request.idempotency_key);
  if (!seen) return seen.error();
  if (*seen) return Replay(**seen, fingerprint);
  Result<cas::Plan> plan =
      plans_.Prepare(request.account_id, request.product_code, request.count, request.expires_at);
  if (!plan) return plan.error();
  // Two first attempts racing with one key: the store lets one grant; the other gets its record.
  Result<PlanGrantOnce> once =
      operators_.GrantPlanOnce(*plan, request.idempotency_key, fingerprint,
                               audit::Succeeded(by, plan->granted_at, plan->account_id, "PlanId"));
  if (!once) return once.error();
  plans_.NoteGranted(request.account_id);
  if (once->granted) return GrantOutcome{std::move(once->record.plan), false};
  return Replay(once->record, fingerprint);
}

Result<GrantOutcome> AdminService::Replay(const PlanGrantRecord& record,
                                          std::string_view request_hash) {
  if (!auth::ConstantTimeEquals(record.request_hash, request_hash)) {
    return Error(ErrorCode::kIdempotentParameterMismatch,
                 "The idempotency key \"" + record.idempotency_key +
                     "\" was used for a different grant (account, ProductCode, Count or "
                     "Expires differ); nothing was granted. Use a new key for a new grant.");
  }
  return GrantOutcome{record.plan, true};
}

Result<std::vector<cas::Plan>> AdminService::ListPlans([[maybe_unused]] const Actor& who,
                                                       int64_t account_id) {
  return plans_.List(account_id);
}

Result<std::vector<cas::CounterDrift>> AdminService::AuditCounters(
    [[maybe_unused]] const Actor& who) {
  return counters_.AuditCounters();
}

Result<NewOperatorTokenInfo> AdminService::CreateOperatorToken(const Actor& who,
                                                               std::string_view name) {
  if (!Spelled(name, 64, "._-")) {
    return InvalidParameter("Name", "1-64 characters of letters, digits, '-', '_' or '.'.");
  }
  TokenParts parts = NewOperatorToken();
  OperatorTokenRecord record;
  record.id = parts.id;
  record.name = std::string(name);
  record.token_hash = HashOperatorToken(parts.token);
  record.created_at = clock_.NowSeconds();
  // Tokens belong to no account: their records are account 0's.
  const audit::Record audit = audit::Succeeded(By(who, "admin operator token create"),
                                               record.created_at, 0, "TokenId", record.id);
  if (Status s = operators_.InsertOperatorToken(record, audit); !s) return s.error();
  return NewOperatorTokenInfo{std::move(record), std::move(parts.token)};
}

Result<std::vector<OperatorTokenRecord>> AdminService::ListOperatorTokens(
    [[maybe_unused]] const Actor& who) {
  return operators_.ListOperatorTokens();
}

Result<OperatorTokenRecord> AdminService::RevokeOperatorToken(const Actor& who,
                                                              std::string_view id) {
  const int64_t now = clock_.NowSeconds();
  Result<bool> revoked = operators_.RevokeOperatorToken(
      id, now,
      audit::Succeeded(By(who, "admin operator token revoke"), now, 0, "TokenId", std::string(id)));
  if (!revoked) return revoked.error();
  if (!*revoked) return Error(ErrorCode::kNotFound, "No operator token has this id.");
  Result<std::optional<OperatorTokenRecord>> record = operators_.FindOperatorToken(id);
  if (!record) return record.error();
  if (!*record) return Error(ErrorCode::kNotFound, "No operator token has this id.");
  return std::move(**record);
}

Result<Actor> AdminService::AuthenticateOperator(std::string_view token) {
  if (token.empty()) {
    return Error(ErrorCode::kInvalidOperatorToken,
                 "An operator token is required: send Authorization: Bearer <token>.");
  }
  std::optional<std::string> id = OperatorTokenId(token);
  if (!id) return BadToken();
  Result<std::optional<OperatorTokenRecord>> record = operators_.FindOperatorToken(*id);
  if (!record) return record.error();
  if (!*record || !OperatorTokenMatches(token, (*record)->token_hash) || (*record)->revoked_at) {
    return BadToken();
  }
  const int64_t now = clock_.NowSeconds();
  const std::optional<int64_t> last = (*record)->last_used_at;
  if (!last || now - *last >= kTouchIntervalSeconds) {
    if (Status s = operators_.TouchOperatorToken(*id, now); !s) return s.error();
  }
  return Actor::Token(std::move(*id));
}

}  // namespace certplan::ops
