// OpenSSL 3.0 builds an EC group from scratch every time a public key is decoded — a third of the
// cost of verifying a CSR. The EC_KEY interface (deprecated in 3.0, still maintained through the
// 3.x series) lets one group per curve serve every key, so this file alone opts into it.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "pki/ecdsa_verify.h"

#include <memory>

#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "pki/openssl_handles.h"

namespace certplan::pki {
namespace {

using GroupPtr = std::unique_ptr<EC_GROUP, FreeWith<&EC_GROUP_free>>;
using EcKeyPtr = std::unique_ptr<EC_KEY, FreeWith<&EC_KEY_free>>;

// The groups, built once; read-only afterwards, so shared by all threads.
const EC_GROUP* Group(int curve_nid) {
  static const GroupPtr p256(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
  static const GroupPtr p384(EC_GROUP_new_by_curve_name(NID_secp384r1));
  if (curve_nid == NID_X9_62_prime256v1) return p256.get();
  if (curve_nid == NID_secp384r1) return p384.get();
  return nullptr;
}

// Digests fetched once (a legacy EVP_sha256() is fetched again on every use).
const EVP_MD* Digest(int digest_nid) {
  static const MdPtr sha1(EVP_MD_fetch(nullptr, "SHA1", nullptr));
  static const MdPtr sha256(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  static const MdPtr sha384(EVP_MD_fetch(nullptr, "SHA384", nullptr));
  static const MdPtr sha512(EVP_MD_fetch(nullptr, "SHA512", nullptr));
  switch (digest_nid) {
    case NID_sha1: return sha1.get();
    case NID_sha256: return sha256.get();
    case NID_sha384: return sha384.get();
    case NID_sha512: return sha512.get();
    default: return nullptr;
  }
}

}  // namespace

EcdsaOutcome EcdsaVerify(int curve_nid, std::string_view point, int digest_nid,
                         std::string_view message, std::string_view signature) {
  const EC_GROUP* group = Group(curve_nid);
  const EVP_MD* md = Digest(digest_nid);
  if (!group || !md) return EcdsaOutcome::kBadKey;
  EcKeyPtr key(EC_KEY_new());
  // EC_POINT_oct2point (under EC_KEY_oct2key) refuses coordinates outside the field and points
  // off the curve; the point at infinity has no uncompressed encoding of this length.
  const bool key_ok =
      key && EC_KEY_set_group(key.get(), group) == 1 &&
      EC_KEY_oct2key(key.get(), reinterpret_cast<const unsigned char*>(point.data()), point.size(),
                     nullptr) == 1;
  if (!key_ok) {
    ERR_clear_error();
    return EcdsaOutcome::kBadKey;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  const bool ok =
      EVP_Digest(message.data(), message.size(), digest, &digest_len, md, nullptr) == 1 &&
      ECDSA_verify(0, digest, static_cast<int>(digest_len),
                   reinterpret_cast<const unsigned char*>(signature.data()),
                   static_cast<int>(signature.size()), key.get()) == 1;
  ERR_clear_error();
  return ok ? EcdsaOutcome::kVerified : EcdsaOutcome::kBadSignature;
}

bool EcdsaVerifies(int curve_nid, std::string_view point, int digest_nid, std::string_view message,
                   std::string_view signature) {
  return EcdsaVerify(curve_nid, point, digest_nid, message, signature) == EcdsaOutcome::kVerified;
}

}  // namespace certplan::pki
