#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cas/order.h"
#include "core/result.h"

namespace certplan::store {

struct Account {
  int64_t id = 0;
  std::string name;
  int64_t created_at = 0;
};

// An AccessKey as kept at rest: the secret only ever sealed (pki::SecretBox).
struct AccessKey {
  std::string id;
  int64_t account_id = 0;
  std::string user_name;  // empty for the account's root key
  std::string sealed_secret;
  bool enabled = true;
  int64_t created_at = 0;
};

// A grant of `count` certificates of one ProductCode, as a billing system makes after a
// purchase. In force while expires_at is absent or in the future.
struct Plan {
  int64_t id = 0;
  int64_t account_id = 0;
  std::string product_code;
  int64_t count = 0;
  int64_t granted_at = 0;
  std::optional<int64_t> expires_at;
};

// TotalCount, UsedCount, IssuedCount of one (account, ProductCode) (spec §3.3).
struct PackageCounters {
  int64_t total = 0;
  int64_t used = 0;
  int64_t issued = 0;
};

// A RAM user under an account; signs with its own AccessKeys, rights from attached policies.
struct User {
  int64_t account_id = 0;
  std::string name;
  int64_t created_at = 0;
};

// A custom policy document, stored as given (validated before it is stored).
struct PolicyRecord {
  int64_t account_id = 0;
  std::string name;
  std::string document;
  int64_t created_at = 0;
};

// An (account, ProductCode) whose stored counters disagree with a recount of its orders.
struct CounterDrift {
  int64_t account_id = 0;
  std::string product_code;
  PackageCounters stored;
  PackageCounters recounted;  // total unused
};

// One step of a batch of order transitions: the transition and the state the stored order must
// still be in for it to apply.
struct PendingTransition {
  cas::Transition transition;
  cas::OrderStatus expected = cas::OrderStatus::kDomainVerify;
};

// The repository every module reads and writes through. Each method is one transaction;
// implementations are thread-safe and return kInternal (detail: the database's text) or
// kServiceUnavailable (database unreachable) on storage failures. A write is acknowledged
// (returns) only once its commit is durable.
class Store {
 public:
  virtual ~Store() = default;

  // kInvalidParameter when the name is taken.
  virtual Result<Account> CreateAccount(int64_t id, std::string_view name, int64_t now) = 0;
  virtual Result<std::optional<Account>> FindAccount(int64_t id) = 0;
  virtual Result<std::optional<Account>> FindAccountByName(std::string_view name) = 0;

  virtual Status InsertAccessKey(const AccessKey& key) = 0;
  virtual Result<std::optional<AccessKey>> FindAccessKey(std::string_view id) = 0;
  virtual Result<std::vector<AccessKey>> ListAccessKeys(int64_t account_id) = 0;
  // False when no such key exists.
  virtual Result<bool> SetAccessKeyEnabled(std::string_view id, bool enabled) = 0;

  // Stores the plan (id assigned) and returns it.
  virtual Result<Plan> GrantPlan(const Plan& plan) = 0;
  virtual Result<std::vector<Plan>> ListPlans(int64_t account_id) = 0;
  // Counters at time `now`: zeros for a code the account never held. Costs the same however
  // many orders exist (counters are rows, not recounts).
  virtual Result<PackageCounters> GetPackageCounters(int64_t account_id,
                                                     std::string_view product_code,
                                                     int64_t now) = 0;

  // Orders. CreateOrder takes one unit of the order's package and stores the order in one
  // transaction, assigning its id (unique, below 2^53): kNotFoundPackage when no plan is in
  // force at `now`, kNotRemainCount when UsedCount = TotalCount; nothing changes then.
  virtual Result<cas::Order> CreateOrder(cas::Order order, int64_t now) = 0;
  // The order if it exists, is not deleted and belongs to `account_id` (0: any account).
  virtual Result<std::optional<cas::Order>> FindOrder(int64_t account_id, int64_t order_id) = 0;
  // Stores `t.order` and applies `t.delta` to its package counters, atomically, provided the
  // stored order is still in `expected`; kOrderStateError when it moved meanwhile.
  virtual Status ApplyTransition(const cas::Transition& t, cas::OrderStatus expected) = 0;
  // Applies each as ApplyTransition would, all in one transaction with one durable commit (the
  // background worker's batches): the outcome of each, in order. A step whose order moved
  // meanwhile gets kOrderStateError and the others still apply; a storage failure fails all.
  virtual std::vector<Status> ApplyTransitions(const std::vector<PendingTransition>& batch) = 0;
  // Pending orders (domain_verify, process) whose next check is due at `now`, oldest first.
  virtual Result<std::vector<cas::Order>> DueOrders(int64_t now, int limit) = 0;
  // The account's orders that are not deleted, newest first, optionally only those with
  // `keyword` in a domain or the order id.
  virtual Result<std::vector<cas::Order>> ListOrders(int64_t account_id,
                                                     std::string_view keyword) = 0;
  // RAM users and policies. Names are unique per account; kInvalidParameter when taken or
  // missing. Deleting a user removes its AccessKeys and attachments in the same transaction.
  virtual Status CreateUser(const User& user) = 0;
  virtual Result<std::vector<User>> ListUsers(int64_t account_id) = 0;
  virtual Result<bool> UserExists(int64_t account_id, std::string_view name) = 0;
  virtual Status DeleteUser(int64_t account_id, std::string_view name) = 0;
  virtual Status CreatePolicy(const PolicyRecord& policy) = 0;
  virtual Result<std::vector<PolicyRecord>> ListPolicies(int64_t account_id) = 0;
  // Attaches a custom policy (stored) or a system policy (`system` true, name only).
  virtual Status AttachPolicy(int64_t account_id, std::string_view user, std::string_view policy,
                              bool system) = 0;
  // False when it was not attached.
  virtual Result<bool> DetachPolicy(int64_t account_id, std::string_view user,
                                    std::string_view policy) = 0;
  // The user's attached policies: (name, document); a system policy has an empty document.
  virtual Result<std::vector<std::pair<std::string, std::string>>> AttachedPolicies(
      int64_t account_id, std::string_view user) = 0;

  // Recounts every package's UsedCount/IssuedCount from its orders; the drifted ones.
  virtual Result<std::vector<CounterDrift>> AuditCounters() = 0;
};

}  // namespace certplan::store
