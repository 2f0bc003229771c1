#include "iam/identities.h"

#include <cstring>

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

}  // namespace

Result<NewAccount> Identities::CreateAccount(std::string_view name) {
  if (!ValidName(name)) {
    return InvalidParameter("Name", "1-64 characters of letters, digits, '-', '_' or '.'.");
  }
  Result<store::Account> account = store_.CreateAccount(NewAccountId(), name, clock_.NowSeconds());
  if (!account) return account.error();
  Result<IssuedKey> key = CreateKey(account->id);
  if (!key) return key.error();
  return NewAccount{std::move(*account), std::move(*key)};
}

Result<IssuedKey> Identities::CreateKey(int64_t account_id) {
  Result<std::optional<store::Account>> account = store_.FindAccount(account_id);
  if (!account) return account.error();
  if (!*account) return InvalidParameter("AccountId", "no such account.");
  // The shapes Alibaba uses: "LTAI" + 20 characters, a 30-character secret.
  IssuedKey issued{"LTAI" + pki::RandomString(20, kAlnum), pki::RandomString(30, kAlnum)};
  store::AccessKey key;
  key.id = issued.access_key_id;
  key.account_id = account_id;
  key.sealed_secret = box_.Seal(issued.access_key_secret, key.id);
  key.enabled = true;
  key.created_at = clock_.NowSeconds();
  Status stored = store_.InsertAccessKey(key);
  if (!stored) return stored.error();
  return issued;
}

Result<std::vector<KeyInfo>> Identities::ListKeys(int64_t account_id) {
  Result<std::vector<store::AccessKey>> keys = store_.ListAccessKeys(account_id);
  if (!keys) return keys.error();
  std::vector<KeyInfo> out;
  for (const store::AccessKey& k : *keys) {
    out.push_back(KeyInfo{k.id, k.account_id, k.user_name, k.enabled, k.created_at});
  }
  return out;
}

Status Identities::SetKeyEnabled(std::string_view access_key_id, bool enabled) {
  Result<bool> found = store_.SetAccessKeyEnabled(access_key_id, enabled);
  if (!found) return found.error();
  if (!*found) return InvalidParameter("AccessKeyId", "no such AccessKey.");
  return Ok{};
}

Result<std::string> Identities::RevealSecret(const store::AccessKey& key) const {
  return box_.Open(key.sealed_secret, key.id);
}

}  // namespace certplan::iam
