#include "cas/products.h"

#include <array>

namespace certplan::cas {
namespace {

using enum ValidationLevel;

// spec/cas-api.md §3.2. Validity: 3 months and 1 year for the free codes (confirmed); 365 days
// for the rest (certplan's rule). cfca-ev-w-advanced is OV, as the docs say.
constexpr std::array<Product, 15> kCatalog = {{
    {"digicert-free-1-free", "DigiCert", kDv, false, true, 90},
    {"symantec-free-1-free", "DigiCert", kDv, false, true, 365},
    {"symantec-dv-1-starter", "DigiCert", kDv, true, false, 365},
    {"symantec-ov-1-personal", "DigiCert", kOv, false, false, 365},
    {"symantec-ov-w-personal", "DigiCert", kOv, true, false, 365},
    {"geotrust-dv-1-starter", "GeoTrust", kDv, false, false, 365},
    {"geotrust-dv-w-starter", "GeoTrust", kDv, true, false, 365},
    {"geotrust-ov-1-personal", "GeoTrust", kOv, false, false, 365},
    {"geotrust-ov-w-personal", "GeoTrust", kOv, true, false, 365},
    {"globalsign-dv-1-personal", "GlobalSign", kDv, false, false, 365},
    {"globalsign-dv-w-advanced", "GlobalSign", kDv, true, false, 365},
    {"globalsign-ov-1-personal", "GlobalSign", kOv, false, false, 365},
    {"globalsign-ov-w-advanced", "GlobalSign", kOv, true, false, 365},
    {"cfca-ov-1-personal", "CFCA", kOv, false, false, 365},
    {"cfca-ev-w-advanced", "CFCA", kOv, true, false, 365},
}};

}  // namespace

std::span<const Product> Catalog() { return kCatalog; }

const Product* FindProduct(std::string_view code) {
  for (const Product& p : kCatalog) {
    if (p.code == code) return &p;
  }
  return nullptr;
}

}  // namespace certplan::cas
