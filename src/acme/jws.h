#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "acme/problem.h"
#include "pki/jws_crypto.h"

namespace certplan::acme {

// A flattened JWS (RFC 7515 §7.2.2) as RFC 8555 §6.2 allows it: one signature, everything in
// the protected header, nothing unprotected.
struct Jws {
  std::string protected_b64;
  std::string payload_b64;
  std::string signature;  // raw bytes
  nlohmann::json header;  // the decoded protected header
  std::string payload;    // decoded; empty for POST-as-GET
  std::string alg;        // as sent
  std::string kid;        // empty when the header has a jwk
  std::optional<nlohmann::json> jwk;
  std::string nonce;
  std::string url;

  std::string SigningInput() const { return protected_b64 + "." + payload_b64; }
};

// Parses a request body: malformed for anything but a flattened JWS whose protected header is a
// JSON object with `url` and exactly one of `jwk` and `kid`; badSignatureAlgorithm for an `alg`
// other than RS256, ES256, ES384, EdDSA (or for `none` and MACs).
Outcome<Jws> ParseJws(std::string_view body);
// The algorithm of a parsed JWS (ParseJws accepted it).
pki::JwsAlgorithm AlgorithmOf(const Jws& jws);
// The public parts of a JWK object: malformed when members are missing or not base64url.
Outcome<pki::JwkParts> ReadJwk(const nlohmann::json& jwk);
// Verifies the JWS with `key`: badPublicKey when the key is unacceptable for its alg (RSA
// < 2048, wrong curve), badSignatureAlgorithm when alg and key type disagree, malformed when
// the signature does not verify (ES256/ES384 must be r‖s, not DER).
Outcome<bool> Verify(const Jws& jws, const pki::JwkParts& key);
// RFC 7638 thumbprint (SHA-256, base64url) of a JWK object; empty when members are missing.
std::string Thumbprint(const nlohmann::json& jwk);
// The JWK's required public members only (what is stored and compared).
nlohmann::json PublicJwk(const nlohmann::json& jwk);

// The algorithms the directory lists (badSignatureAlgorithm's `algorithms`).
inline constexpr const char* kAlgorithms[] = {"RS256", "ES256", "ES384", "EdDSA"};

}  // namespace certplan::acme
