#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/audit.h"
#include "core/result.h"
#include "iam/identity_records.h"

namespace certplan::iam {

// Accounts, AccessKeys, RAM users and policies as Identities, Authorizer and the
// authenticator's key lookup need them from storage (a port: store/ implements it, cli/ wires
// it). Each method is one transaction; implementations are thread-safe and return kInternal
// (detail: the database's text) or kServiceUnavailable (database unreachable) on storage
// failures. A write is acknowledged (returns) only once its commit is durable. Every write
// stores its `audit` record in its own transaction, and only when it changed something (a
// refused write leaves no record: the caller records the refusal on its own).
class IdentityStore {
 public:
  virtual ~IdentityStore() = default;

  // kInvalidParameter when the name is taken.
  virtual Result<Account> CreateAccount(int64_t id, std::string_view name, int64_t now,
                                        const audit::Record& audit) = 0;
  virtual Result<std::optional<Account>> FindAccount(int64_t id) = 0;
  virtual Result<std::optional<Account>> FindAccountByName(std::string_view name) = 0;

  // `audit` null: the key is part of a call recorded by another write (an account's root key,
  // recorded with the account).
  virtual Status InsertAccessKey(const AccessKey& key, const audit::Record* audit) = 0;
  virtual Result<std::optional<AccessKey>> FindAccessKey(std::string_view id) = 0;
  virtual Result<std::vector<AccessKey>> ListAccessKeys(int64_t account_id) = 0;
  // False when no such key exists.
  virtual Result<bool> SetAccessKeyEnabled(std::string_view id, bool enabled,
                                           const audit::Record& audit) = 0;

  // RAM users and policies. Names are unique per account; kInvalidParameter when taken or
  // missing. Deleting a user removes its AccessKeys and attachments in the same transaction.
  virtual Status CreateUser(const User& user, const audit::Record& audit) = 0;
  virtual Result<std::vector<User>> ListUsers(int64_t account_id) = 0;
  virtual Result<bool> UserExists(int64_t account_id, std::string_view name) = 0;
  virtual Status DeleteUser(int64_t account_id, std::string_view name,
                            const audit::Record& audit) = 0;
  virtual Status CreatePolicy(const PolicyRecord& policy, const audit::Record& audit) = 0;
  virtual Result<std::vector<PolicyRecord>> ListPolicies(int64_t account_id) = 0;
  // Attaches a custom policy (stored) or a system policy (`system` true, name only).
  virtual Status AttachPolicy(int64_t account_id, std::string_view user, std::string_view policy,
                              bool system, const audit::Record& audit) = 0;
  // False when it was not attached.
  virtual Result<bool> DetachPolicy(int64_t account_id, std::string_view user,
                                    std::string_view policy, const audit::Record& audit) = 0;
  // The user's attached policies: (name, document); a system policy has an empty document.
  virtual Result<std::vector<std::pair<std::string, std::string>>> AttachedPolicies(
      int64_t account_id, std::string_view user) = 0;
};

}  // namespace certplan::iam
