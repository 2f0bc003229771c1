#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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
};

}  // namespace certplan::store
