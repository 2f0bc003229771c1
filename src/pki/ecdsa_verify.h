#pragma once

#include <string_view>

namespace certplan::pki {

// Verifies an ECDSA signature (DER Ecdsa-Sig-Value) by a public key given as its curve (NID) and
// encoded point, over `message` hashed with `digest_nid`. Only P-256 and P-384 are known; false
// for anything else or any malformed input.
bool EcdsaVerifies(int curve_nid, std::string_view point, int digest_nid, std::string_view message,
                   std::string_view signature);

}  // namespace certplan::pki
