#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

namespace certplan::pki {

// Seals secrets for storage at rest with AES-256-GCM under the master key. A sealed value is
// `v1 | 12-byte nonce | ciphertext | 16-byte tag`; `context` (e.g. the AccessKeyId) is bound as
// associated data, so a sealed secret moved to another row no longer opens. Thread-safe.
class SecretBox {
 public:
  // `master_key` must be 32 bytes; kInvalidParameter otherwise.
  static Result<std::unique_ptr<SecretBox>> Create(std::string master_key);

  std::string Seal(std::string_view plaintext, std::string_view context) const;
  // kInternal when the value was tampered with, sealed under another key or context.
  Result<std::string> Open(std::string_view sealed, std::string_view context) const;

 private:
  explicit SecretBox(std::string key) : key_(std::move(key)) {}
  std::string key_;
};

// Loads the master key: from `env_value` when non-empty (64 hex digits), else from
// `key_file` (created with 32 random bytes, mode 0600, if missing). kInvalidParameter when a
// key is malformed or the file is readable by others.
Result<std::string> LoadOrCreateMasterKey(std::string_view env_value, const std::string& key_file);

}  // namespace certplan::pki
