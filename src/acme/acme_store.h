#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace certplan::acme {

// An External Account Binding key (RFC 8555 §7.3.4) bound to a certplan account and one
// ProductCode. The HMAC key is stored sealed (pki::SecretBox, context EabKeyContext(key_id)).
struct EabKey {
  std::string key_id;
  int64_t account_id = 0;
  std::string product_code;
  std::string sealed_hmac_key;
  bool single_use = false;         // binds one ACME account at most
  std::vector<std::string> names;  // allowed name patterns; empty: any name
  bool revoked = false;
  int64_t created_at = 0;
};

inline std::string EabKeyContext(std::string_view key_id) {
  return "acme-eab:" + std::string(key_id);
}

// An ACME account: a client key bound through an EAB key to (account, ProductCode).
struct AcmeAccount {
  int64_t id = 0;
  std::string thumbprint;  // RFC 7638 JWK thumbprint (base64url), unique
  std::string jwk_json;    // the public JWK as the client sent it
  std::string eab_key_id;
  int64_t account_id = 0;
  std::string product_code;
  bool deactivated = false;
  std::string contact_json = "[]";
  int64_t created_at = 0;
};

// The ACME view of a certplan order (the order itself is cas's): which ACME account owns it,
// its names as a canonical key (sorted, comma-joined) and each authorization's state.
struct AcmeOrder {
  int64_t order_id = 0;  // the cas order's id
  int64_t acme_account_id = 0;
  std::string identifiers_key;
  std::string authz_json = "[]";  // one object per name, in the order's name order
  int64_t created_at = 0;
};

// What `eab list` shows of one key: the key (never its HMAC) and each ACME account it bound with
// the orders they placed, the units those orders hold now and how many were issued.
struct BoundAccount {
  int64_t acme_account_id = 0;
  bool deactivated = false;
  int64_t orders = 0;
  int64_t units_held = 0;
  int64_t issued = 0;
};
struct EabKeyUsage {
  EabKey key;
  std::vector<BoundAccount> accounts;
};

// ACME accounts one EAB key binds over its life unless configured
// (limits.acme_accounts_per_eab_key).
inline constexpr int64_t kDefaultMaxAccountsPerEabKey = 1000;

// How a store refuses an account past the key's limit (CreateAcmeAccount's max_accounts).
inline Error AccountsPerKeyRefused(int64_t max_accounts) {
  return Error(ErrorCode::kOrderStateError,
               "The External Account Binding key has bound " + std::to_string(max_accounts) +
                   " ACME accounts, its limit (limits.acme_accounts_per_eab_key); ask the operator "
                   "for another key.");
}

// The storage the ACME front needs (a port: store/sqlite and store/postgres implement it, cli/
// wires it). Each method is one transaction; thread-safe; kInternal or kServiceUnavailable on
// storage failures.
class AcmeStore {
 public:
  virtual ~AcmeStore() = default;

  // The value stored under `name`, storing `candidate` first when there is none (first writer
  // wins, so every node of one database reads the same value).
  virtual Result<std::string> AcmeSharedSecret(std::string_view name,
                                               std::string_view candidate) = 0;

  // kParamRepeat when the key id exists.
  virtual Status InsertEabKey(const EabKey& key) = 0;
  virtual Result<std::optional<EabKey>> FindEabKey(std::string_view key_id) = 0;
  // The account's keys, oldest first, with the accounts each bound.
  virtual Result<std::vector<EabKeyUsage>> ListEabKeys(int64_t account_id) = 0;
  // false when there is no such key.
  virtual Result<bool> RevokeEabKey(std::string_view key_id) = 0;

  // Stores a new account (id assigned) bound through `account.eab_key_id`, atomically checking
  // that the key is not revoked, that a single-use key has bound no account yet and that the
  // key has bound fewer than `max_accounts` (≥ 1; deactivated accounts count): kOrderStateError
  // otherwise, and nothing is stored. When an account with the same thumbprint exists, returns
  // it instead (nothing stored, whatever the count).
  virtual Result<AcmeAccount> CreateAcmeAccount(AcmeAccount account, int64_t max_accounts) = 0;
  virtual Result<std::optional<AcmeAccount>> FindAcmeAccount(int64_t id) = 0;
  virtual Result<std::optional<AcmeAccount>> FindAcmeAccountByThumbprint(std::string_view tp) = 0;
  // Stores contact, status, key (jwk_json, thumbprint). kParamRepeat when the thumbprint
  // belongs to another account (keyChange to a key in use).
  virtual Status UpdateAcmeAccount(const AcmeAccount& account) = 0;

  virtual Status InsertAcmeOrder(const AcmeOrder& order) = 0;
  virtual Result<std::optional<AcmeOrder>> FindAcmeOrder(int64_t order_id) = 0;
  virtual Status UpdateAcmeOrderAuthz(int64_t order_id, std::string_view authz_json) = 0;
  // The account's orders for exactly these names, newest first (at most `limit`).
  virtual Result<std::vector<int64_t>> AcmeOrdersWithNames(int64_t acme_account_id,
                                                           std::string_view identifiers_key,
                                                           int limit) = 0;
  // The account's orders, newest first (at most `limit`).
  virtual Result<std::vector<int64_t>> AcmeAccountOrders(int64_t acme_account_id, int limit) = 0;
  // The ACME order whose issued certificate has this serial (certificate facts' lower-case hex),
  // if any.
  virtual Result<std::optional<int64_t>> AcmeOrderIdBySerial(std::string_view serial) = 0;
};

}  // namespace certplan::acme
