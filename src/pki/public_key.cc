#include "pki/public_key.h"

#include <openssl/decoder.h>
#include <openssl/err.h>

#include "pki/der.h"

namespace certplan::pki {
namespace {

struct SpkiParts {
  std::string_view algorithm;  // AlgorithmIdentifier, whole
  std::string_view key_bits;   // BIT STRING contents without the unused-bits byte
};

std::optional<SpkiParts> SplitSpki(std::string_view der) {
  std::optional<DerElement> spki = ReadDer(der, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
  if (!spki || !der.empty()) return std::nullopt;
  std::string_view in = spki->contents;
  std::optional<DerElement> alg = ReadDer(in, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
  std::optional<DerElement> bits = ReadDer(in, V_ASN1_BIT_STRING, V_ASN1_UNIVERSAL);
  if (!alg || !bits || !in.empty() || bits->contents.size() < 2 || bits->contents[0] != 0) {
    return std::nullopt;
  }
  return SpkiParts{alg->whole, bits->contents.substr(1)};
}

// One decoder context per thread; it writes each key it decodes into `decoded`.
struct ThreadDecoder {
  EVP_PKEY* decoded = nullptr;
  OSSL_DECODER_CTX* ctx = OSSL_DECODER_CTX_new_for_pkey(
      &decoded, "DER", "SubjectPublicKeyInfo", nullptr, EVP_PKEY_PUBLIC_KEY, nullptr, nullptr);
  ~ThreadDecoder() { OSSL_DECODER_CTX_free(ctx); }
};

}  // namespace

PkeyPtr DecodePublicKey(std::string_view spki_der) {
  thread_local ThreadDecoder decoder;
  if (!decoder.ctx) return nullptr;
  const auto* p = reinterpret_cast<const unsigned char*>(spki_der.data());
  size_t left = spki_der.size();
  decoder.decoded = nullptr;
  const bool ok = OSSL_DECODER_from_data(decoder.ctx, &p, &left) == 1 && left == 0;
  PkeyPtr key(decoder.decoded);
  decoder.decoded = nullptr;
  ERR_clear_error();
  return ok ? std::move(key) : nullptr;
}

std::optional<PublicKeyInfo> ReadPublicKeyInfo(std::string_view spki_der) {
  std::optional<SpkiParts> parts = SplitSpki(spki_der);
  if (!parts) return std::nullopt;
  AlgorPtr alg = ParseAlgorithm(parts->algorithm);
  if (!alg) return std::nullopt;
  const ASN1_OBJECT* oid = nullptr;
  int param_type = 0;
  const void* param = nullptr;
  X509_ALGOR_get0(&oid, &param_type, &param, alg.get());
  const int curve =
      param_type == V_ASN1_OBJECT ? OBJ_obj2nid(static_cast<const ASN1_OBJECT*>(param)) : NID_undef;
  return PublicKeyInfo{OBJ_obj2nid(oid), curve, parts->key_bits};
}

bool SetCertificatePublicKey(X509* cert, std::string_view spki_der) {
  std::optional<SpkiParts> parts = SplitSpki(spki_der);
  if (!parts) return false;
  AlgorPtr alg = ParseAlgorithm(parts->algorithm);
  if (!alg) return false;
  // The certificate's algorithm becomes the request's: take its fields over, then hand them on.
  ASN1_OBJECT* oid = nullptr;
  int param_type = 0;
  void* param = nullptr;
  X509_ALGOR_get0(const_cast<const ASN1_OBJECT**>(&oid), &param_type,
                  const_cast<const void**>(&param), alg.get());
  if (param_type != V_ASN1_OBJECT && param_type != V_ASN1_NULL && param_type != V_ASN1_UNDEF) {
    return false;  // RSA and named-curve EC keys only; explicit parameters are refused
  }
  if (param_type != V_ASN1_OBJECT) param = nullptr;
  auto* bits =
      static_cast<unsigned char*>(OPENSSL_memdup(parts->key_bits.data(), parts->key_bits.size()));
  if (!bits) return false;
  alg->algorithm = nullptr;  // now ours
  if (alg->parameter && param_type == V_ASN1_OBJECT) alg->parameter->value.object = nullptr;
  if (X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(cert), oid, param_type, param, bits,
                             static_cast<int>(parts->key_bits.size())) != 1) {
    ASN1_OBJECT_free(oid);
    if (param_type == V_ASN1_OBJECT) ASN1_OBJECT_free(static_cast<ASN1_OBJECT*>(param));
    OPENSSL_free(bits);
    return false;
  }
  return true;
}

std::string PublicKeyDer(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int n = i2d_PUBKEY(key, &der);
  if (n <= 0) return {};
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

}  // namespace certplan::pki
