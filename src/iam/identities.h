#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/audit.h"
#include "core/clock.h"
#include "core/result.h"
#include "iam/identity_records.h"
#include "iam/identity_store.h"
#include "pki/secret_box.h"

namespace certplan::iam {

struct IssuedKey {
  std::string access_key_id;
  std::string access_key_secret;  // shown once, at creation; stored only sealed
};

struct NewAccount {
  Account account;
  IssuedKey root_key;
};

struct KeyInfo {
  std::string access_key_id;
  int64_t account_id = 0;
  std::string user_name;
  bool enabled = true;
  int64_t created_at = 0;
};

// Accounts and their AccessKeys: creation, listing, disabling. Secrets are generated here from
// the CSPRNG and sealed under the master key before they reach the store. Thread-safe.
// Every change names its caller (`by`: the admin CLI, an operator token …); on success its audit
// record is stored in the transaction of the change, a refusal writes nothing (the caller
// records it). Objects: AccountId, AccessKeyId, User, PolicyName, PolicyAttachment
// ("user:policy").
class Identities {
 public:
  Identities(IdentityStore& store, const pki::SecretBox& box, const Clock& clock)
      : store_(store), box_(box), clock_(clock) {}

  // A new account with one root AccessKey. kInvalidParameter for a bad or taken name.
  // One record (AccountId) covers the account and its root key.
  Result<NewAccount> CreateAccount(std::string_view name, const audit::Actor& by);
  // A key for the account's root identity (empty `user`) or one of its RAM users.
  // kInvalidParameter when the account or user does not exist.
  Result<IssuedKey> CreateKey(int64_t account_id, std::string_view user, const audit::Actor& by);
  Result<std::vector<KeyInfo>> ListKeys(int64_t account_id);
  // kInvalidParameter when no such key exists.
  Status SetKeyEnabled(std::string_view access_key_id, bool enabled, const audit::Actor& by);
  // RAM users and policies (issue #4). kInvalidParameter for bad or taken names, unknown
  // accounts, users or policies, and malformed policy documents (with the reason).
  Status CreateUser(int64_t account_id, std::string_view name, const audit::Actor& by);
  Result<std::vector<User>> ListUsers(int64_t account_id);
  Status DeleteUser(int64_t account_id, std::string_view name, const audit::Actor& by);
  Status CreatePolicy(int64_t account_id, std::string_view name, std::string_view document,
                      const audit::Actor& by);
  Result<std::vector<PolicyRecord>> ListPolicies(int64_t account_id);
  Status AttachPolicy(int64_t account_id, std::string_view user, std::string_view policy,
                      const audit::Actor& by);
  Status DetachPolicy(int64_t account_id, std::string_view user, std::string_view policy,
                      const audit::Actor& by);

  // The plaintext secret of a stored key (for `serve --dev`, which prints the demo key).
  Result<std::string> RevealSecret(const AccessKey& key) const;

 private:
  IdentityStore& store_;
  const pki::SecretBox& box_;
  // A key for an existing account (and user), stored with `audit` (null: recorded elsewhere).
  Result<IssuedKey> MintKey(int64_t account_id, std::string_view user, const audit::Record* audit);

  const Clock& clock_;
};

}  // namespace certplan::iam
