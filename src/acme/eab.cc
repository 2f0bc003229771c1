#include "acme/eab.h"

#include "acme/base64url.h"
#include "cas/domain_names.h"
#include "cas/products.h"
#include "pki/random.h"

namespace certplan::acme {

Result<NewEabKey> EabKeys::Create(int64_t account_id, std::string_view product_code,
                                  bool single_use, std::string_view names) {
  if (!cas::FindProduct(product_code)) {
    return InvalidParameter("product",
                            "unknown ProductCode \"" + std::string(product_code) + "\".");
  }
  NewEabKey made;
  EabKey& key = made.key;
  if (!names.empty()) {
    Result<std::vector<std::string>> patterns = cas::ParseDomainList(names, "names", 100);
    if (!patterns) return patterns.error();
    key.names = std::move(*patterns);
  }
  key.key_id = "eab-" + pki::RandomString(24, "0123456789abcdefghijklmnopqrstuvwxyz");
  // A key whose text starts with '-' reads as an option to certbot and lego
  // (`--eab-hmac-key -x…`): draw again (1 in 64), so every key can be pasted as it is.
  std::string hmac = pki::RandomBytes(32);
  while (Base64UrlEncode(hmac).front() == '-') hmac = pki::RandomBytes(32);
  made.hmac_key = Base64UrlEncode(hmac);
  key.account_id = account_id;
  key.product_code = std::string(product_code);
  key.single_use = single_use;
  key.sealed_hmac_key = box_.Seal(hmac, EabKeyContext(key.key_id));
  key.created_at = clock_.NowSeconds();
  if (Status s = store_.InsertEabKey(key); !s) return s.error();
  return made;
}

Result<std::vector<EabKeyUsage>> EabKeys::List(int64_t account_id) {
  return store_.ListEabKeys(account_id);
}

Status EabKeys::Revoke(std::string_view key_id) {
  Result<bool> revoked = store_.RevokeEabKey(key_id);
  if (!revoked) return revoked.error();
  if (!*revoked) {
    return Error(ErrorCode::kNotFound, "No EAB key \"" + std::string(key_id) + "\".");
  }
  return Ok{};
}

Result<std::string> EabKeys::HmacKeyOf(const EabKey& key) const {
  return box_.Open(key.sealed_hmac_key, EabKeyContext(key.key_id));
}

bool NameAllowed(const std::vector<std::string>& patterns, std::string_view name) {
  if (patterns.empty()) return true;
  for (const std::string& p : patterns) {
    if (p == name) return true;
    if (cas::IsWildcard(p)) {
      const std::string_view base = std::string_view(p).substr(1);  // ".example.com"
      if (name.size() > base.size() && name.substr(name.size() - base.size()) == base) {
        const std::string_view label = name.substr(0, name.size() - base.size());
        if (label.find('.') == std::string_view::npos && label != "*") return true;
      }
    }
  }
  return false;
}

}  // namespace certplan::acme
