#pragma once

#include <cstdint>
#include <string>

#include "core/result.h"
#include "pki/builtin_ca.h"
#include "pki/secret_box.h"

namespace certplan::pki {

// A delegated responder certificate carries id-pkix-ocsp-nocheck, so it cannot be revoked: it
// lives for a month and is replaced ten days before it ends.
inline constexpr int64_t kOcspResponderValidity = 30 * 86400;
inline constexpr int64_t kOcspResponderRenewBefore = 10 * 86400;

// The responder certificate and key in use.
struct OcspResponderCredentials {
  std::string cert_pem;
  std::string key_pem;    // PKCS#8; on disk only sealed
  int64_t not_after = 0;  // epoch seconds
  bool issued = false;    // made by this call
};

// Makes sure `dir` holds an OCSP responder certificate issued by `ca`'s issuing CA
// (BuiltinCa::IssueOcspResponderCertificate) that is valid for more than
// kOcspResponderRenewBefore after `now`, with its ECDSA P-256 key sealed under the master key
// (DIR/ocsp-responder.pem, DIR/ocsp-responder.key.sealed, mode 0600); otherwise issues a new
// key and certificate and replaces both files by rename. A file that is unreadable, a key that
// no longer opens (another master key) or a certificate of another issuer is replaced likewise.
// kInternal when a file cannot be written.
Result<OcspResponderCredentials> EnsureOcspResponderCertificate(const BuiltinCa& ca,
                                                                const SecretBox& box,
                                                                const std::string& dir,
                                                                int64_t now);

}  // namespace certplan::pki
