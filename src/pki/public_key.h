#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "pki/openssl_handles.h"

namespace certplan::pki {

// A SubjectPublicKeyInfo (DER) turned into a key, through a decoder context kept per thread:
// building OpenSSL 3.0's decoder chain costs five times the decode itself. nullptr when the bytes
// are not a key OpenSSL knows.
PkeyPtr DecodePublicKey(std::string_view spki_der);

// What a SubjectPublicKeyInfo says without decoding the key: its algorithm (NID_rsaEncryption,
// NID_X9_62_id_ecPublicKey, …), for EC keys the named curve (NID_X9_62_prime256v1, …; NID_undef
// otherwise), and the key bits (for EC, the encoded point). nullopt when it is not one.
struct PublicKeyInfo {
  int algorithm = 0;
  int curve = 0;
  std::string_view key_bits;  // a view of the DER it was read from
};
std::optional<PublicKeyInfo> ReadPublicKeyInfo(std::string_view spki_der);

// Puts the SubjectPublicKeyInfo into `cert` as it is: algorithm and key bits are copied, not
// decoded and re-encoded. false when `spki_der` is malformed.
bool SetCertificatePublicKey(X509* cert, std::string_view spki_der);

// The DER SubjectPublicKeyInfo of a key we hold (slow path: CA set-up, generated keys).
std::string PublicKeyDer(EVP_PKEY* key);

}  // namespace certplan::pki
