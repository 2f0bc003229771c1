#pragma once

#include <cstdint>
#include <string>

namespace certplan::cas {

// Why a certificate was revoked: RFC 5280 §5.3.1's CRLReason codes (7 is unused there).
// CancelCertificateForPackageRequest carries no reason (kUnspecified); ACME's revokeCert does.
enum class RevocationReason : int {
  kUnspecified = 0,
  kKeyCompromise = 1,
  kCaCompromise = 2,
  kAffiliationChanged = 3,
  kSuperseded = 4,
  kCessationOfOperation = 5,
  kCertificateHold = 6,
  kRemoveFromCrl = 8,
  kPrivilegeWithdrawn = 9,
  kAaCompromise = 10,
};

// The revocation record of an issued certificate: what a CRL entry and an OCSP answer say.
// Written in the transaction of the order's revocation and never removed, so a revoked
// certificate stays revoked after its repository entry is deleted.
struct Revocation {
  int64_t order_id = 0;
  // The issuing CA, as pki::KeyId names it; empty for records made before issuers were recorded
  // (they belong to the data directory's own CA).
  std::string issuer_key_id;
  std::string serial_hex;  // as Order::serial_hex (upper-case hex)
  int64_t revoked_at = 0;  // epoch seconds
  RevocationReason reason = RevocationReason::kUnspecified;
  int64_t not_after = 0;  // the certificate's; a CRL drops the entry once it has passed
};

}  // namespace certplan::cas
