#pragma once

#include <string>
#include <string_view>

namespace certplan::pki {

// How revocation records name the CA that issued a certificate (pki::KeyId): lower-case hex of
// the SHA-1 of the first certificate in a PEM chain (an order's chain_pem: its issuer) — of its
// subjectPublicKey bits. Empty when the chain holds no readable certificate.
std::string FirstCertificateKeyId(std::string_view chain_pem);

}  // namespace certplan::pki
