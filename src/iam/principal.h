#pragma once

#include <cstdint>
#include <string>

namespace certplan::iam {

// Who is calling, as established by a verified signature.
struct Principal {
  int64_t account_id = 0;
  std::string user_name;  // empty: the account's root identity
  std::string access_key_id;

  bool is_root() const { return user_name.empty(); }
};

}  // namespace certplan::iam
