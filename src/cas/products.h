#pragma once

#include <span>
#include <string_view>

namespace certplan::cas {

inline constexpr std::string_view kDefaultProductCode = "digicert-free-1-free";

enum class ValidationLevel { kDv, kOv };

// One certificate specification of spec §3.2.
struct Product {
  std::string_view code;
  std::string_view brand;
  ValidationLevel level;
  bool wildcard;      // names are `*.example.com`; otherwise plain host names
  bool free;          // listed as CertType FREE
  int validity_days;  // of an issued certificate
};

// The 15 ProductCodes, in the seed's order.
std::span<const Product> Catalog();
// The product for `code` (exact, case-sensitive), or nullptr.
const Product* FindProduct(std::string_view code);

}  // namespace certplan::cas
