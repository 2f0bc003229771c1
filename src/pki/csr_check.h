#pragma once

#include <string>

#include "pki/authority.h"

namespace certplan::pki {

// Parses and checks a PEM PKCS#10 request (spec §3.4): valid self-signature, RSA ≥ 2048 or
// ECDSA P-256/P-384, a CN. kCreateCertificateRequestFailed naming the first problem found.
Result<CsrFacts> CheckCsr(const std::string& csr_pem);

}  // namespace certplan::pki
