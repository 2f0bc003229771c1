#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "pki/authority.h"

namespace certplan::pki {

// A PKCS#10 CertificationRequest cut into its parts, each a view of the DER it came from.
struct CsrParts {
  std::string_view signed_info;          // CertificationRequestInfo, the bytes signed
  std::string_view subject;              // Name
  std::string_view public_key;           // SubjectPublicKeyInfo
  std::string_view attributes;           // contents of the [0] attributes set (may be empty)
  std::string_view signature_algorithm;  // AlgorithmIdentifier
  std::string_view signature;            // signature BIT STRING contents, unused-bits byte first
};

// Splits a DER request; nullopt when it is not one (version 0, definite lengths, nothing after).
// Nothing is decoded or verified here.
std::optional<CsrParts> SplitCsr(std::string_view der);

// Parses and checks a PEM PKCS#10 request (spec §3.4): signed with SHA-256/384/512 (MD5, SHA-1
// and other weak digests are refused), valid self-signature, RSA ≥ 2048 or ECDSA P-256/P-384,
// a CN (unless `require_cn` is false). kCreateCertificateRequestFailed naming the first problem
// found.
Result<CsrFacts> CheckCsr(const std::string& csr_pem, bool require_cn = true);

}  // namespace certplan::pki
