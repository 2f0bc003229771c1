#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace certplan::pki {

// One revoked certificate on a CRL (RFC 5280 §5.1.2.6).
struct CrlEntry {
  std::string serial_hex;  // the serial as SerialHex prints it (either case)
  int64_t revoked_at = 0;  // revocationDate, epoch seconds
  // CRLReason (§5.3.1). 0, unspecified, is left out: the section asks not to write it.
  int reason = 0;
};

// What a CRL says besides who signs it.
struct CrlContent {
  int64_t this_update = 0;  // epoch seconds
  int64_t next_update = 0;
  uint64_t number = 0;  // cRLNumber (§5.2.3): increases with every CRL of the issuer
  std::vector<CrlEntry> entries;
};

}  // namespace certplan::pki
