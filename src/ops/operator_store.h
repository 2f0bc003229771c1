#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cas/plan.h"
#include "core/audit.h"
#include "core/result.h"

namespace certplan::ops {

// An operator token as kept at rest: its SHA-256, never the token itself.
struct OperatorTokenRecord {
  std::string id;  // public: part of the token, shown by `token list`
  std::string name;
  std::string token_hash;  // lower-case hex SHA-256 of the whole token
  int64_t created_at = 0;
  std::optional<int64_t> last_used_at;
  std::optional<int64_t> revoked_at;  // set once; a revoked token never authenticates again
};

// A plan granted under an idempotency key, with the fingerprint of the request that made it.
struct PlanGrantRecord {
  std::string idempotency_key;
  std::string request_hash;
  cas::Plan plan;
};

// What GrantPlanOnce did: granted `record.plan` now, or found the key already recorded.
struct PlanGrantOnce {
  PlanGrantRecord record;
  bool granted = false;
};

// Operator tokens and idempotent plan grants as the operator service needs them from storage
// (a port: store/ implements it, cli/ wires it). Each method is one transaction; implementations
// are thread-safe and return kInternal (detail: the database's text) or kServiceUnavailable
// (database unreachable) on storage failures. A write is acknowledged only once its commit is
// durable.
class OperatorStore {
 public:
  virtual ~OperatorStore() = default;

  // Every write below stores `audit` (ops/audit_log.h) in the transaction of its change, and
  // only when something changed.
  // kInvalidParameter when the id is taken or a token that is not revoked has the name.
  virtual Status InsertOperatorToken(const OperatorTokenRecord& token,
                                     const audit::Record& audit) = 0;
  virtual Result<std::optional<OperatorTokenRecord>> FindOperatorToken(std::string_view id) = 0;
  // Every token, revoked ones included, oldest first.
  virtual Result<std::vector<OperatorTokenRecord>> ListOperatorTokens() = 0;
  // Sets last_used_at (no-op for an unknown id).
  virtual Status TouchOperatorToken(std::string_view id, int64_t now) = 0;
  // Revokes the token (a revoked one keeps its first revoked_at); false when no such token.
  virtual Result<bool> RevokeOperatorToken(std::string_view id, int64_t now,
                                           const audit::Record& audit) = 0;

  // The grant recorded under `key`, if any.
  virtual Result<std::optional<PlanGrantRecord>> FindPlanGrant(std::string_view key) = 0;
  // In one transaction: when `key` is not recorded yet, stores `plan` (id assigned), its usage
  // row and the key with `request_hash`; otherwise stores nothing and returns what the key
  // recorded. Concurrent calls with one key grant at most one plan. `audit` names the new plan.
  virtual Result<PlanGrantOnce> GrantPlanOnce(const cas::Plan& plan, std::string_view key,
                                              std::string_view request_hash,
                                              const audit::Record& audit) = 0;
};

}  // namespace certplan::ops
