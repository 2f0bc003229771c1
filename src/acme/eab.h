#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "acme/acme_store.h"
#include "core/clock.h"
#include "core/result.h"
#include "pki/secret_box.h"

namespace certplan::acme {

// A key just made: the HMAC key in the clear is shown once, never stored unsealed.
struct NewEabKey {
  EabKey key;
  std::string hmac_key;  // base64url, no padding (32 random bytes)
};

// External Account Binding keys (RFC 8555 §7.3.4) bound to (account, ProductCode): made,
// listed and revoked by the operator (`certplan admin acme eab …`). Thread-safe.
class EabKeys {
 public:
  EabKeys(AcmeStore& store, const pki::SecretBox& box, const Clock& clock)
      : store_(store), box_(box), clock_(clock) {}

  // kInvalidParameter for an unknown ProductCode or a bad name pattern (`names`: comma-
  // separated host names or `*.` wildcards; empty: any name). The caller checks the account.
  Result<NewEabKey> Create(int64_t account_id, std::string_view product_code, bool single_use,
                           std::string_view names);
  Result<std::vector<EabKeyUsage>> List(int64_t account_id);
  // kNotFound for an unknown key id.
  Status Revoke(std::string_view key_id);
  // The HMAC key of a stored key (raw bytes).
  Result<std::string> HmacKeyOf(const EabKey& key) const;

 private:
  AcmeStore& store_;
  const pki::SecretBox& box_;
  const Clock& clock_;
};

// Whether `name` (lower-case) fits one of the key's patterns: a pattern `host.example.com`
// allows exactly that name; `*.example.com` allows `*.example.com` and any name one label below
// example.com. No patterns: every name.
bool NameAllowed(const std::vector<std::string>& patterns, std::string_view name);

}  // namespace certplan::acme
