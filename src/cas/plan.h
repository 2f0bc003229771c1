#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace certplan::cas {

// A grant of `count` certificates of one ProductCode, as a billing system makes after a
// purchase. In force while expires_at is absent or in the future.
struct Plan {
  int64_t id = 0;
  int64_t account_id = 0;
  std::string product_code;
  int64_t count = 0;
  int64_t granted_at = 0;
  std::optional<int64_t> expires_at;
};

// TotalCount, UsedCount, IssuedCount of one (account, ProductCode) (spec §3.3).
struct PackageCounters {
  int64_t total = 0;
  int64_t used = 0;
  int64_t issued = 0;
};

}  // namespace certplan::cas
