#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace certplan::audit {

// Who makes a state-changing call. The audit trail records it with the change, in the same
// transaction (DESIGN.md "The operator surface"), so every module that changes state (cas, iam)
// and every front that calls them (the CAS API, the admin CLI, later ACME and the operator API)
// speaks this one type; it lives in core because iam and cas may not include each other.
enum class PrincipalType {
  kRoot,      // an account's root AccessKey
  kRamUser,   // a RAM user's AccessKey
  kOperator,  // an operator API token
  kCli,       // the admin CLI on the data directory
  kAcme,      // an ACME account
  kWorker,    // the background order worker (not a call: issuance and failure)
};

std::string_view PrincipalTypeName(PrincipalType type);  // "root", "ram_user", …
// The inverse; kCli for a name it does not know (rows are written by PrincipalTypeName only).
PrincipalType ParsePrincipalTypeName(std::string_view name);

// The caller of one state-changing call, as the front that received it knows it.
struct Actor {
  PrincipalType type = PrincipalType::kCli;
  std::string principal;      // "root", the RAM user's name, the token id, "cli", "worker"
  std::string access_key_id;  // empty when the front has none
  std::string source_ip;      // empty for the CLI and the worker
  std::string request_id;     // the front's RequestId; empty for the CLI and the worker
  std::string action;         // wire Action ("CreateCertificateRequest") or "admin plan grant"
};

// The result of a call that changed what it was asked to change.
inline constexpr std::string_view kResultOk = "OK";

// One line of the audit trail: append-only, written in the transaction of the change it
// describes (a refusal, which changes nothing, is written on its own).
struct Record {
  int64_t id = 0;    // assigned by the store, increasing in insertion order
  int64_t time = 0;  // epoch seconds
  int64_t account_id = 0;
  Actor actor;
  // What the call acted on, by its wire name ("OrderId", "CertId", "PlanId", "AccountId",
  // "AccessKeyId", "User", "PolicyName") and value; both empty when nothing is named. The store
  // fills object_id when it assigns the id (a new order, plan, upload).
  std::string object_type;
  std::string object_id;
  std::string result = std::string(kResultOk);  // the wire Code of a refusal
};

// The record of a successful call by `actor` on `account_id` at `now`.
inline Record Succeeded(const Actor& actor, int64_t now, int64_t account_id,
                        std::string_view object_type, std::string object_id = {}) {
  Record r;
  r.time = now;
  r.account_id = account_id;
  r.actor = actor;
  r.object_type = std::string(object_type);
  r.object_id = std::move(object_id);
  return r;
}

// The actor of the background order worker's own transitions.
inline Actor WorkerActor(std::string_view action) {
  return Actor{PrincipalType::kWorker, "worker", "", "", "", std::string(action)};
}

}  // namespace certplan::audit
