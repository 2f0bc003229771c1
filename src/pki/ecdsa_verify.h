#pragma once

#include <string_view>

namespace certplan::pki {

// Verifies an ECDSA signature (DER Ecdsa-Sig-Value) by a public key given as its curve (NID) and
// encoded point, over `message` hashed with `digest_nid`. Only P-256 and P-384 are known; false
// for anything else or any malformed input.
bool EcdsaVerifies(int curve_nid, std::string_view point, int digest_nid, std::string_view message,
                   std::string_view signature);

// As EcdsaVerifies, telling a key that is no point of the curve (or an unknown curve or digest)
// apart from a signature that does not verify. The point is checked as a full public key check
// would for these curves: on the curve, coordinates below the field prime, not the point at
// infinity (their cofactor is 1, so every such point has the group's order).
enum class EcdsaOutcome { kVerified, kBadSignature, kBadKey };
EcdsaOutcome EcdsaVerify(int curve_nid, std::string_view point, int digest_nid,
                         std::string_view message, std::string_view signature);

}  // namespace certplan::pki
