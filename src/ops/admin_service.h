#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cas/counter_audit_store.h"
#include "cas/plan.h"
#include "cas/plans.h"
#include "core/clock.h"
#include "core/result.h"
#include "iam/identities.h"
#include "iam/identity_store.h"
#include "ops/audit_trail.h"
#include "ops/operator_store.h"

namespace certplan::ops {

// Who asks for an operator action: the CLI on the data directory, or a holder of an operator
// token over the operator API. Every service call takes one; the audit trail records it with
// each change (principal type cli or operator, the token id as principal).
struct Actor {
  enum class Kind { kCli, kOperatorToken };
  Kind kind = Kind::kCli;
  std::string token_id;  // kOperatorToken: the token's public id
  // The operator API's request: where it came from and the RequestId it is answered with.
  std::string source_ip;
  std::string request_id;

  static Actor Cli() { return Actor{}; }
  static Actor Token(std::string id) { return Actor{Kind::kOperatorToken, std::move(id)}; }
};

// A plan grant as a billing system asks for it. With an idempotency key, a retry with the same
// key and the same request returns the first grant and grants nothing.
struct GrantRequest {
  int64_t account_id = 0;
  std::string product_code;
  int64_t count = 0;
  std::optional<int64_t> expires_at;
  std::string idempotency_key;  // empty: none
};

struct GrantOutcome {
  cas::Plan plan;
  bool replayed = false;  // the key was seen before: `plan` is the first grant's
};

// A token as `token create` shows it, the only time the token itself is seen.
struct NewOperatorTokenInfo {
  OperatorTokenRecord record;
  std::string token;
};

// Everything an operator does — accounts, AccessKeys, RAM users, policies, plans, the counter
// recount and operator tokens — in one place, called by both `certplan admin` and the operator
// API, so the two cannot drift apart. Errors are those of the domain services (iam::Identities,
// cas::Plans) plus the ones named below. Thread-safe (the services and stores are).
//
// Audit: every call that changes state is recorded in the transaction of its change, as action
// "admin <object> <verb>" ("admin plan grant"); one refused for an account that exists (bad
// parameters, a name taken …) is recorded on its own with the wire Code. Reads are not recorded.
class AdminService {
 public:
  AdminService(iam::Identities& identities, iam::IdentityStore& identity_store, cas::Plans& plans,
               cas::CounterAuditStore& counters, OperatorStore& operators, AuditTrail& audit,
               const Clock& clock)
      : identities_(identities),
        identity_store_(identity_store),
        plans_(plans),
        counters_(counters),
        operators_(operators),
        audit_(audit),
        clock_(clock) {}

  // kAccountNotFound when no account has this id (the operator API resolves each account in a
  // path with it; the CLI keeps the domain's kInvalidParameter "no such account").
  Status RequireAccount(int64_t account_id);

  Result<iam::NewAccount> CreateAccount(const Actor& who, std::string_view name);
  Result<iam::IssuedKey> CreateKey(const Actor& who, int64_t account_id, std::string_view user);
  Result<std::vector<iam::KeyInfo>> ListKeys(const Actor& who, int64_t account_id);
  Status SetKeyEnabled(const Actor& who, std::string_view access_key_id, bool enabled);
  Status CreateUser(const Actor& who, int64_t account_id, std::string_view name);
  Result<std::vector<iam::User>> ListUsers(const Actor& who, int64_t account_id);
  Status DeleteUser(const Actor& who, int64_t account_id, std::string_view name);
  Status CreatePolicy(const Actor& who, int64_t account_id, std::string_view name,
                      std::string_view document);
  Result<std::vector<iam::PolicyRecord>> ListPolicies(const Actor& who, int64_t account_id);
  Status AttachPolicy(const Actor& who, int64_t account_id, std::string_view user,
                      std::string_view policy);
  Status DetachPolicy(const Actor& who, int64_t account_id, std::string_view user,
                      std::string_view policy);

  // Grants a plan (cas::Plans::Grant's checks). With an idempotency key (1-128 of A-Z a-z 0-9
  // . _ : -, else kInvalidParameter): a key seen before with the same request answers the
  // first grant (replayed), with another request kIdempotentParameterMismatch; either way no
  // second plan. Keys are global (not per token) and kept for good.
  Result<GrantOutcome> GrantPlan(const Actor& who, const GrantRequest& request);
  Result<std::vector<cas::Plan>> ListPlans(const Actor& who, int64_t account_id);

  // `certplan fsck`'s recount: the packages whose stored counters drifted.
  Result<std::vector<cas::CounterDrift>> AuditCounters(const Actor& who);

  // Operator tokens. Names: 1-64 of A-Z a-z 0-9 . _ - and unique among tokens not revoked
  // (kInvalidParameter). Revoking an unknown id: kNotFound; a revoked one again: no change.
  Result<NewOperatorTokenInfo> CreateOperatorToken(const Actor& who, std::string_view name);
  Result<std::vector<OperatorTokenRecord>> ListOperatorTokens(const Actor& who);
  Result<OperatorTokenRecord> RevokeOperatorToken(const Actor& who, std::string_view id);

  // The actor a presented token stands for. kInvalidOperatorToken when `token` is empty,
  // malformed, unknown or revoked (one message for the last three). Records the use (at most
  // once a minute per token, so reads stay reads).
  Result<Actor> AuthenticateOperator(std::string_view token);

 private:
  Result<GrantOutcome> GrantPlanOnce(const Actor& who, const GrantRequest& request);
  Result<GrantOutcome> Replay(const PlanGrantRecord& record, std::string_view request_hash);
  // `who` as the audit trail records it, doing `action`.
  static audit::Actor By(const Actor& who, std::string_view action);
  // Records `status`'s refusal of `action` on `account_id` when it is a refusal of the request
  // (not a storage failure) and the account exists; returns `status` unchanged.
  Status Refused(const Actor& who, std::string_view action, int64_t account_id,
                 std::string_view object_type, std::string_view object_id, Status status);

  iam::Identities& identities_;
  iam::IdentityStore& identity_store_;
  cas::Plans& plans_;
  cas::CounterAuditStore& counters_;
  OperatorStore& operators_;
  AuditTrail& audit_;
  const Clock& clock_;
};

}  // namespace certplan::ops
