#include "pki/jws_crypto.h"

#include <optional>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>

#include "pki/ecdsa_verify.h"
#include "pki/openssl_handles.h"
#include "pki/public_key.h"

namespace certplan::pki {
namespace {

using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, FreeWith<&OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, FreeWith<&OSSL_PARAM_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, FreeWith<&EVP_PKEY_CTX_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, FreeWith<&ECDSA_SIG_free>>;

constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 8192;  // bounds the work one request can ask for

Error BadKey(std::string why) { return Error(ErrorCode::kInvalidParameter, std::move(why)); }

BignumPtr Bn(std::string_view bytes) {
  return BignumPtr(
      BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), nullptr));
}

PkeyPtr FromData(const char* type, OSSL_PARAM* params) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
    return nullptr;
  }
  return PkeyPtr(key);
}

Result<PkeyPtr> RsaKey(const JwkParts& jwk) {
  if (jwk.n.empty() || jwk.e.empty()) return BadKey("an RSA JWK needs n and e.");
  if (jwk.n.front() == '\0' || jwk.e.front() == '\0') {
    return BadKey("RSA JWK members must not carry leading zero octets.");
  }
  const int bits = static_cast<int>(jwk.n.size()) * 8;
  if (bits < kMinRsaBits) return BadKey("RSA keys must have at least 2048 bits.");
  if (bits > kMaxRsaBits) return BadKey("RSA keys may have at most 8192 bits.");
  BignumPtr n = Bn(jwk.n), e = Bn(jwk.e);
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!n || !e || !bld || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get())) {
    return OpenSslError("RSA JWK");
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyPtr key = params ? FromData("RSA", params.get()) : nullptr;
  if (!key) return BadKey("the RSA JWK is not a valid key.");
  if (EVP_PKEY_get_bits(key.get()) < kMinRsaBits) {
    return BadKey("RSA keys must have at least 2048 bits.");
  }
  return key;
}

Result<PkeyPtr> EcKey(const JwkParts& jwk) {
  size_t size;
  const char* group;
  if (jwk.crv == "P-256") {
    size = 32, group = "prime256v1";
  } else if (jwk.crv == "P-384") {
    size = 48, group = "secp384r1";
  } else {
    return BadKey("EC keys must use P-256 or P-384.");
  }
  if (jwk.x.size() != size || jwk.y.size() != size) {
    return BadKey("EC JWK coordinates must have the full length of the curve.");
  }
  std::string point = "\x04" + jwk.x + jwk.y;
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                        point.size())) {
    return OpenSslError("EC JWK");
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyPtr key = params ? FromData("EC", params.get()) : nullptr;
  if (!key) return BadKey("the EC JWK is not a point on its curve.");
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    return BadKey("the EC JWK is not a point on its curve.");
  }
  return key;
}

Result<PkeyPtr> OkpKey(const JwkParts& jwk) {
  if (jwk.crv != "Ed25519") return BadKey("OKP keys must use Ed25519.");
  if (jwk.x.size() != 32) return BadKey("an Ed25519 JWK's x has 32 bytes.");
  PkeyPtr key(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(jwk.x.data()), 32));
  if (!key) return BadKey("the Ed25519 JWK is not a valid key.");
  return key;
}

Result<PkeyPtr> AnyKey(const JwkParts& jwk) {
  if (jwk.kty == "RSA") return RsaKey(jwk);
  if (jwk.kty == "EC") return EcKey(jwk);
  if (jwk.kty == "OKP") return OkpKey(jwk);
  return BadKey("the JWK's kty must be RSA, EC or OKP.");
}

Result<PkeyPtr> KeyFor(const JwkParts& jwk, JwsAlgorithm alg) {
  switch (alg) {
    case JwsAlgorithm::kRs256:
      if (jwk.kty != "RSA") return BadKey("RS256 needs an RSA key.");
      return RsaKey(jwk);
    case JwsAlgorithm::kEs256:
      if (jwk.kty != "EC" || jwk.crv != "P-256") return BadKey("ES256 needs a P-256 key.");
      return EcKey(jwk);
    case JwsAlgorithm::kEs384:
      if (jwk.kty != "EC" || jwk.crv != "P-384") return BadKey("ES384 needs a P-384 key.");
      return EcKey(jwk);
    case JwsAlgorithm::kEdDsa:
      if (jwk.kty != "OKP") return BadKey("EdDSA needs an OKP (Ed25519) key.");
      return OkpKey(jwk);
  }
  return BadKey("unknown algorithm.");
}

// r‖s (RFC 7518 §3.4) as the DER Ecdsa-Sig-Value OpenSSL verifies; nullopt when the length is
// not exactly twice the curve's size (a DER signature never is for these curves' sizes).
std::optional<std::string> RawToDer(std::string_view raw, size_t half) {
  if (raw.size() != 2 * half) return std::nullopt;
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BignumPtr r = Bn(raw.substr(0, half)), s = Bn(raw.substr(half));
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return std::nullopt;
  (void)r.release(), (void)s.release();  // owned by sig now
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return std::nullopt;
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

// ES256/ES384 through pki/ecdsa_verify (one EC group per curve shared by every key): building
// an EVP_PKEY from the JWK and checking it cost more than the verification itself. The key is
// refused as EcKey refuses it.
Result<bool> VerifyEcJws(const JwkParts& jwk, JwsAlgorithm alg, std::string_view signing_input,
                         std::string_view signature) {
  const bool p256 = alg == JwsAlgorithm::kEs256;
  if (jwk.kty != "EC" || jwk.crv != (p256 ? "P-256" : "P-384")) {
    return BadKey(p256 ? "ES256 needs a P-256 key." : "ES384 needs a P-384 key.");
  }
  const size_t size = p256 ? 32 : 48;
  if (jwk.x.size() != size || jwk.y.size() != size) {
    return BadKey("EC JWK coordinates must have the full length of the curve.");
  }
  const std::optional<std::string> der = RawToDer(signature, size);
  const std::string point = "\x04" + jwk.x + jwk.y;
  const EcdsaOutcome outcome =
      EcdsaVerify(p256 ? NID_X9_62_prime256v1 : NID_secp384r1, point,
                  p256 ? NID_sha256 : NID_sha384, signing_input, der ? *der : std::string());
  ERR_clear_error();
  if (outcome == EcdsaOutcome::kBadKey) return BadKey("the EC JWK is not a point on its curve.");
  return der.has_value() && outcome == EcdsaOutcome::kVerified;
}

}  // namespace

Status CheckJwk(const JwkParts& key, JwsAlgorithm alg) {
  ERR_clear_error();
  Result<PkeyPtr> k = KeyFor(key, alg);
  ERR_clear_error();
  if (!k) return k.error();
  return Ok{};
}

Result<bool> VerifyJws(const JwkParts& jwk, JwsAlgorithm alg, std::string_view signing_input,
                       std::string_view signature) {
  ERR_clear_error();
  if (alg == JwsAlgorithm::kEs256 || alg == JwsAlgorithm::kEs384) {
    return VerifyEcJws(jwk, alg, signing_input, signature);
  }
  Result<PkeyPtr> key = KeyFor(jwk, alg);
  if (!key) {
    ERR_clear_error();
    return key.error();
  }
  std::string sig(signature);
  const EVP_MD* md = nullptr;
  switch (alg) {
    case JwsAlgorithm::kRs256: md = EVP_sha256(); break;
    case JwsAlgorithm::kEs256:
    case JwsAlgorithm::kEs384: {
      md = alg == JwsAlgorithm::kEs256 ? EVP_sha256() : EVP_sha384();
      std::optional<std::string> der = RawToDer(signature, alg == JwsAlgorithm::kEs256 ? 32 : 48);
      if (!der) return false;
      sig = std::move(*der);
      break;
    }
    case JwsAlgorithm::kEdDsa: md = nullptr; break;
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key->get()) != 1) {
    return OpenSslError("EVP_DigestVerifyInit");
  }
  const int rc = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
      reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size());
  ERR_clear_error();
  return rc == 1;
}

Result<std::string> JwkSpkiDer(const JwkParts& jwk) {
  ERR_clear_error();
  Result<PkeyPtr> key = AnyKey(jwk);
  ERR_clear_error();
  if (!key) return key.error();
  return PublicKeyDer(key->get());
}

Result<std::string> CertificateSpkiDer(std::string_view certificate_der) {
  ERR_clear_error();
  const auto* p = reinterpret_cast<const unsigned char*>(certificate_der.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(certificate_der.size())));
  if (!cert) {
    ERR_clear_error();
    return BadKey("not a DER certificate.");
  }
  unsigned char* der = nullptr;
  const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert.get()), &der);
  if (len <= 0) return OpenSslError("i2d_X509_PUBKEY");
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

std::string Sha256(std::string_view data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return std::string(reinterpret_cast<char*>(out), sizeof out);
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

}  // namespace certplan::pki
