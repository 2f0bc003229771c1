#include "acme/jws.h"

#include <vector>

#include "acme/base64url.h"

namespace certplan::acme {
namespace {

using Json = nlohmann::json;

Problem Malformed(std::string detail) {
  return Problem{ProblemType::kMalformed, std::move(detail)};
}

std::optional<std::string> StringMember(const Json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::optional<std::string> DecodedMember(const Json& jwk, const char* name) {
  std::optional<std::string> text = StringMember(jwk, name);
  if (!text) return std::nullopt;
  return Base64UrlDecode(*text);
}

}  // namespace

Outcome<Jws> ParseJws(std::string_view body) {
  Json outer = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!outer.is_object()) return Malformed("The request body is not a JSON object.");
  if (outer.contains("signatures")) {
    return Malformed("Only the flattened JWS serialization with one signature is accepted.");
  }
  if (outer.contains("header")) return Malformed("A JWS must not have an unprotected header.");
  Jws jws;
  std::optional<std::string> prot = StringMember(outer, "protected");
  std::optional<std::string> payload = StringMember(outer, "payload");
  std::optional<std::string> sig = StringMember(outer, "signature");
  if (!prot || !payload || !sig) {
    return Malformed("The JWS needs protected, payload and signature strings.");
  }
  std::optional<std::string> header_text = Base64UrlDecode(*prot);
  std::optional<std::string> payload_text = Base64UrlDecode(*payload);
  std::optional<std::string> signature = Base64UrlDecode(*sig);
  if (!header_text || !payload_text || !signature) {
    return Malformed("The JWS parts must be base64url without padding.");
  }
  jws.header = Json::parse(*header_text, nullptr, false);
  if (!jws.header.is_object()) return Malformed("The protected header is not a JSON object.");
  jws.protected_b64 = std::move(*prot);
  jws.payload_b64 = std::move(*payload);
  jws.signature = std::move(*signature);
  jws.payload = std::move(*payload_text);
  std::optional<std::string> alg = StringMember(jws.header, "alg");
  if (!alg) return Malformed("The protected header has no alg.");
  jws.alg = *alg;
  bool known = false;
  for (const char* a : kAlgorithms) known = known || jws.alg == a;
  if (!known) {
    return Problem{ProblemType::kBadSignatureAlgorithm,
                   "The JWS algorithm \"" + jws.alg +
                       "\" is not supported (RS256, ES256, ES384, "
                       "EdDSA)."};
  }
  const bool has_jwk = jws.header.contains("jwk");
  const bool has_kid = jws.header.contains("kid");
  if (has_jwk == has_kid) {
    return Malformed("The protected header must have exactly one of jwk and kid.");
  }
  if (has_jwk) {
    if (!jws.header["jwk"].is_object()) return Malformed("The jwk is not a JSON object.");
    jws.jwk = jws.header["jwk"];
  } else {
    std::optional<std::string> kid = StringMember(jws.header, "kid");
    if (!kid || kid->empty()) return Malformed("The kid is not a string.");
    jws.kid = std::move(*kid);
  }
  std::optional<std::string> url = StringMember(jws.header, "url");
  if (!url) return Problem{ProblemType::kUnauthorized, "The protected header has no url."};
  jws.url = std::move(*url);
  if (jws.header.contains("nonce")) {
    std::optional<std::string> nonce = StringMember(jws.header, "nonce");
    if (!nonce) return Problem{ProblemType::kBadNonce, "The nonce is not a string."};
    jws.nonce = std::move(*nonce);
  }
  return jws;
}

pki::JwsAlgorithm AlgorithmOf(const Jws& jws) {
  if (jws.alg == "ES256") return pki::JwsAlgorithm::kEs256;
  if (jws.alg == "ES384") return pki::JwsAlgorithm::kEs384;
  if (jws.alg == "EdDSA") return pki::JwsAlgorithm::kEdDsa;
  return pki::JwsAlgorithm::kRs256;
}

Outcome<pki::JwkParts> ReadJwk(const Json& jwk) {
  if (!jwk.is_object()) return Malformed("The JWK is not a JSON object.");
  pki::JwkParts parts;
  std::optional<std::string> kty = StringMember(jwk, "kty");
  if (!kty) return Malformed("The JWK has no kty.");
  parts.kty = *kty;
  auto need = [&](const char* name, std::string& out) -> bool {
    std::optional<std::string> v = DecodedMember(jwk, name);
    if (!v) return false;
    out = std::move(*v);
    return true;
  };
  if (parts.kty == "RSA") {
    if (!need("n", parts.n) || !need("e", parts.e)) return Malformed("The RSA JWK needs n and e.");
  } else if (parts.kty == "EC" || parts.kty == "OKP") {
    std::optional<std::string> crv = StringMember(jwk, "crv");
    if (!crv) return Malformed("The JWK has no crv.");
    parts.crv = *crv;
    if (!need("x", parts.x)) return Malformed("The JWK needs x.");
    if (parts.kty == "EC" && !need("y", parts.y)) return Malformed("The EC JWK needs y.");
  } else {
    return Problem{ProblemType::kBadPublicKey, "The JWK's kty must be RSA, EC or OKP."};
  }
  return parts;
}

Outcome<bool> Verify(const Jws& jws, const pki::JwkParts& key) {
  const pki::JwsAlgorithm alg = AlgorithmOf(jws);
  const bool fits = (alg == pki::JwsAlgorithm::kRs256 && key.kty == "RSA") ||
                    (alg == pki::JwsAlgorithm::kEs256 && key.kty == "EC" && key.crv == "P-256") ||
                    (alg == pki::JwsAlgorithm::kEs384 && key.kty == "EC" && key.crv == "P-384") ||
                    (alg == pki::JwsAlgorithm::kEdDsa && key.kty == "OKP");
  if (!fits) {
    return Problem{ProblemType::kBadSignatureAlgorithm,
                   "The JWS algorithm " + jws.alg + " does not fit the account key."};
  }
  Result<bool> ok = pki::VerifyJws(key, alg, jws.SigningInput(), jws.signature);
  if (!ok) {
    if (ok.error().code == ErrorCode::kInvalidParameter) {
      return Problem{ProblemType::kBadPublicKey, ok.error().message};
    }
    return FromError(ok.error());
  }
  if (!*ok) return Malformed("The JWS signature is invalid.");
  return true;
}

Json PublicJwk(const Json& jwk) {
  Json out = Json::object();
  const std::string kty = jwk.value("kty", "");
  std::vector<const char*> members = {"crv", "x", "y"};
  if (kty == "RSA") members = {"e", "n"};
  if (kty == "OKP") members = {"crv", "x"};
  out["kty"] = kty;
  for (const char* m : members) {
    if (jwk.contains(m) && jwk[m].is_string()) out[m] = jwk[m];
  }
  return out;
}

std::string Thumbprint(const Json& jwk) {
  // nlohmann::json keeps object members sorted, and the members are base64url strings: dump()
  // is the RFC 7638 canonical form (lexicographic, no whitespace).
  Json pub = PublicJwk(jwk);
  const std::string kty = pub.value("kty", "");
  const size_t want = kty == "RSA" ? 3 : kty == "EC" ? 4 : kty == "OKP" ? 3 : 0;
  if (want == 0 || pub.size() != want) return "";
  return Base64UrlEncode(pki::Sha256(pub.dump()));
}

}  // namespace certplan::acme
