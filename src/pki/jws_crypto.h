#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace certplan::pki {

// A JSON Web Key's public parts (RFC 7517/7518/8037), each member already base64url-decoded
// (raw big-endian bytes), as the ACME front reads them from a JWS header.
struct JwkParts {
  std::string kty;   // "RSA", "EC" or "OKP"
  std::string crv;   // "P-256", "P-384" (EC) or "Ed25519" (OKP)
  std::string n, e;  // RSA
  std::string x, y;  // EC (x, y) and OKP (x)
};

// The algorithms a JWS may use (RFC 7518 §3.1, RFC 8037 §3.1).
enum class JwsAlgorithm { kRs256, kEs256, kEs384, kEdDsa };

// Checks that `key` is a key certplan accepts for `alg`: RSA of at least 2048 bits with RS256,
// EC P-256 with ES256, EC P-384 with ES384, Ed25519 with EdDSA, and that its parts are well
// formed (the point is on the curve). kInvalidParameter naming the problem.
Status CheckJwk(const JwkParts& key, JwsAlgorithm alg);

// Verifies a JWS signature over `signing_input` (the ASCII `protected.payload`). For ES256/ES384
// the signature is the fixed-length r‖s of RFC 7518 §3.4 (64 / 96 bytes); a DER
// Ecdsa-Sig-Value is refused. false when the signature does not verify; kInvalidParameter when
// the key is not acceptable (as CheckJwk).
Result<bool> VerifyJws(const JwkParts& key, JwsAlgorithm alg, std::string_view signing_input,
                       std::string_view signature);

// The DER SubjectPublicKeyInfo of the key; kInvalidParameter as CheckJwk (any algorithm).
Result<std::string> JwkSpkiDer(const JwkParts& key);
// The DER SubjectPublicKeyInfo of a DER certificate's key; kInvalidParameter when it is not a
// certificate.
Result<std::string> CertificateSpkiDer(std::string_view certificate_der);

// Raw SHA-256 of `data` and raw HMAC-SHA256(key, data).
std::string Sha256(std::string_view data);
std::string HmacSha256(std::string_view key, std::string_view data);

}  // namespace certplan::pki
