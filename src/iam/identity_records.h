#pragma once

#include <cstdint>
#include <string>

namespace certplan::iam {

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

}  // namespace certplan::iam
