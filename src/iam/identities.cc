#include "iam/identities.h"

#include <cstring>

#include "iam/policy.h"
#include "iam/system_policies.h"
#include "pki/random.h"

namespace certplan::iam {
namespace {

constexpr std::string_view kAlnum =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

// Account ids look like Alibaba's (16 decimal digits) and stay below 2^53 so every JSON client
// reads them exactly.
int64_t NewAccountId() {
  uint64_t r = 0;
  const std::string bytes = pki::RandomBytes(sizeof r);
  std::memcpy(&r, bytes.data(), sizeof r);
  constexpr uint64_t kLow = 1'000'000'000'000'000ULL, kSpan = 8'000'000'000'000'000ULL;
  return static_cast<int64_t>(kLow + r % kSpan);
}

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// A policy attachment as the audit trail names it.
std::string AttachmentName(std::string_view user, std::string_view policy) {
  return std::string(user) + ":" + std::string(policy);
}

}  // namespace

Result<NewAccount> Identities::CreateAccount(std::string_view name, const audit::Actor& by) {
  if (!ValidName(name)) {
    return InvalidParameter("Name", "1-64 characters of letters, digits, '-', '_' or '.'.");
  }
  const int64_t id = NewAccountId(), now = clock_.NowSeconds();
  Result<Account> account =
      store_.CreateAccount(id, name, now, audit::Succeeded(by, now, id, "AccountId"));
  if (!account) return account.error();
  Result<IssuedKey> key = MintKey(account->id, "", nullptr);
  if (!key) return key.error();
  return NewAccount{std::move(*account), std::move(*key)};
}

Result<IssuedKey> Identities::CreateKey(int64_t account_id, std::string_view user,
                                        const audit::Actor& by) {
  Result<std::optional<Account>> account = store_.FindAccount(account_id);
  if (!account) return account.error();
  if (!*account) return InvalidParameter("AccountId", "no such account.");
  if (!user.empty()) {
    Result<bool> exists = store_.UserExists(account_id, user);
    if (!exists) return exists.error();
    if (!*exists) return InvalidParameter("User", "no such user.");
  }
  const audit::Record record = audit::Succeeded(by, clock_.NowSeconds(), account_id, "AccessKeyId");
  return MintKey(account_id, user, &record);
}

Result<IssuedKey> Identities::MintKey(int64_t account_id, std::string_view user,
                                      const audit::Record* audit) {
  // The shapes Alibaba uses: "LTAI" + 20 characters, a 30-character secret.
  IssuedKey issued{"LTAI" + pki::RandomString(20, kAlnum), pki::RandomString(30, kAlnum)};
  AccessKey key;
  key.id = issued.access_key_id;
  key.account_id = account_id;
  key.user_name = std::string(user);
  key.sealed_secret = box_.Seal(issued.access_key_secret, key.id);
  key.enabled = true;
  key.created_at = clock_.NowSeconds();
  std::optional<audit::Record> record;
  if (audit) {
    record = *audit;
    record->object_id = key.id;
  }
  Status stored = store_.InsertAccessKey(key, record ? &*record : nullptr);
  if (!stored) return stored.error();
  return issued;
}

Result<std::vector<KeyInfo>> Identities::ListKeys(int64_t account_id) {
  Result<std::vector<AccessKey>> keys = store_.ListAccessKeys(account_id);
  if (!keys) return keys.error();
  std::vector<KeyInfo> out;
  for (const AccessKey& k : *keys) {
    out.push_back(KeyInfo{k.id, k.account_id, k.user_name, k.enabled, k.created_at});
  }
  return out;
}

Status Identities::SetKeyEnabled(std::string_view access_key_id, bool enabled,
                                 const audit::Actor& by) {
  // The record names the key's account, so the account's trail shows who turned its key off.
  Result<std::optional<AccessKey>> key = store_.FindAccessKey(access_key_id);
  if (!key) return key.error();
  if (!*key) return InvalidParameter("AccessKeyId", "no such AccessKey.");
  Result<bool> found =
      store_.SetAccessKeyEnabled(access_key_id, enabled,
                                 audit::Succeeded(by, clock_.NowSeconds(), (*key)->account_id,
                                                  "AccessKeyId", std::string(access_key_id)));
  if (!found) return found.error();
  if (!*found) return InvalidParameter("AccessKeyId", "no such AccessKey.");
  return Ok{};
}

Status Identities::CreateUser(int64_t account_id, std::string_view name, const audit::Actor& by) {
  if (!ValidName(name))
    return InvalidParameter("User", "1-64 characters of letters, digits, '-', '_' or '.'.");
  Result<std::optional<Account>> account = store_.FindAccount(account_id);
  if (!account) return account.error();
  if (!*account) return InvalidParameter("AccountId", "no such account.");
  const int64_t now = clock_.NowSeconds();
  return store_.CreateUser(User{account_id, std::string(name), now},
                           audit::Succeeded(by, now, account_id, "User", std::string(name)));
}

Result<std::vector<User>> Identities::ListUsers(int64_t account_id) {
  return store_.ListUsers(account_id);
}

Status Identities::DeleteUser(int64_t account_id, std::string_view name, const audit::Actor& by) {
  return store_.DeleteUser(
      account_id, name,
      audit::Succeeded(by, clock_.NowSeconds(), account_id, "User", std::string(name)));
}

Status Identities::CreatePolicy(int64_t account_id, std::string_view name,
                                std::string_view document, const audit::Actor& by) {
  if (!ValidName(name))
    return InvalidParameter("PolicyName", "1-64 characters of letters, digits, '-', '_' or '.'.");
  if (!SystemPolicyDocument(name).empty()) {
    return InvalidParameter("PolicyName", "the name of a built-in policy.");
  }
  // A malformed policy is refused here, with the reason, never discovered at request time.
  Result<Policy> parsed = Policy::Parse(document);
  if (!parsed) return parsed.error();
  Result<std::optional<Account>> account = store_.FindAccount(account_id);
  if (!account) return account.error();
  if (!*account) return InvalidParameter("AccountId", "no such account.");
  const int64_t now = clock_.NowSeconds();
  return store_.CreatePolicy(
      PolicyRecord{account_id, std::string(name), std::string(document), now},
      audit::Succeeded(by, now, account_id, "PolicyName", std::string(name)));
}

Result<std::vector<PolicyRecord>> Identities::ListPolicies(int64_t account_id) {
  return store_.ListPolicies(account_id);
}

Status Identities::AttachPolicy(int64_t account_id, std::string_view user, std::string_view policy,
                                const audit::Actor& by) {
  Result<bool> exists = store_.UserExists(account_id, user);
  if (!exists) return exists.error();
  if (!*exists) return InvalidParameter("User", "no such user.");
  return store_.AttachPolicy(account_id, user, policy, !SystemPolicyDocument(policy).empty(),
                             audit::Succeeded(by, clock_.NowSeconds(), account_id,
                                              "PolicyAttachment", AttachmentName(user, policy)));
}

Status Identities::DetachPolicy(int64_t account_id, std::string_view user, std::string_view policy,
                                const audit::Actor& by) {
  Result<bool> detached =
      store_.DetachPolicy(account_id, user, policy,
                          audit::Succeeded(by, clock_.NowSeconds(), account_id, "PolicyAttachment",
                                           AttachmentName(user, policy)));
  if (!detached) return detached.error();
  if (!*detached) return InvalidParameter("PolicyName", "the policy is not attached to this user.");
  return Ok{};
}

Result<std::string> Identities::RevealSecret(const AccessKey& key) const {
  return box_.Open(key.sealed_secret, key.id);
}

}  // namespace certplan::iam
