#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "pki/openssl_handles.h"

namespace certplan::pki {

// The key algorithm of a certificate, as the repository names it (spec/cas-repository.md §7.4
// `Algorithm`): RSA, ECC (P-256/P-384) or SM2.
enum class KeyAlgorithm { kRsa, kEcc, kSm2 };
std::string_view KeyAlgorithmName(KeyAlgorithm algorithm);  // "RSA" | "ECC" | "SM2"

// One certificate of a chain as `CertChain[]` shows it (§7.4). Times are epoch seconds.
struct ChainElement {
  std::string common_name;
  std::string issuer_common_name;
  int64_t not_before = 0;
  int64_t not_after = 0;
};

// What the repository shows of a certificate, read from the certificate itself, never from the
// caller (§7.1, §7.4). Strings are UTF-8; times are epoch seconds.
struct CertificateFacts {
  std::string common_name;                        // subject CN; empty when absent
  std::vector<std::string> sans;                  // DNS subjectAltNames, in certificate order
  std::string issuer;                             // issuer O, else issuer CN
  std::string org_name, province, city, country;  // subject O, ST, L, C; empty when absent
  int64_t not_before = 0;
  int64_t not_after = 0;
  std::string fingerprint;  // SHA-1 of the leaf DER, upper-case hex (40)
  std::string sha256;       // SHA-256 of the leaf DER, upper-case hex (64)
  std::string serial;       // DER INTEGER content octets, lower-case hex (even length)
  KeyAlgorithm algorithm = KeyAlgorithm::kRsa;
  int key_bits = 0;                 // 2048/3072/4096 for RSA, 256/384 for EC and SM2
  std::vector<ChainElement> chain;  // one per certificate, leaf first
};

// A PEM chain (leaf first) read into facts, and the chain re-encoded as canonical PEM (§7.8:
// 64-character lines, `\n`, trailing newline). Only CERTIFICATE blocks and whitespace between
// them are allowed, at most 10 of them, and DNS subjectAltNames must be printable ASCII without
// commas. kCertificateFormatError when the text is not such a chain;
// kCertificateAlgorithmNotSupported when the leaf's key is not RSA, EC P-256/P-384 or SM2.
struct ReadChainResult {
  CertificateFacts facts;
  std::string chain_pem;
};
Result<ReadChainResult> ReadChain(std::string_view pem);

// The facts of a certificate this process built and holds (pki::BuildCertificate), without
// parsing it back: its key's algorithm and size are read from `spki_der` (the
// SubjectPublicKeyInfo it certifies) instead of a decoded key — OpenSSL 3.0 decodes a parsed
// certificate's key through its decoder framework, which costs more than the signature did.
// `issuers` are the chain's elements after the leaf (ChainElementsOf each issuer). Equal to
// ReadChain's facts of the leaf's PEM followed by the issuers'.
Result<CertificateFacts> FactsOfBuilt(X509* leaf, std::string_view spki_der,
                                      const std::vector<ChainElement>& issuers);
// `cert`'s element of a chain (CN, issuer CN, validity); nullopt when a date cannot be read.
std::optional<ChainElement> ChainElementOf(X509* cert);

// An upload checked as spec/cas-repository.md §7.3 orders the checks (after the caller checked
// Name): the chain parses (kCertificateFormatError) → the key parses, unencrypted PKCS#1, SEC1
// or PKCS#8 (kPrivateKeyFormatError) → the key matches the leaf (kCertificateKeyMismatch) →
// algorithm: RSA ≥ 2048, EC P-256/P-384, SM2 where OpenSSL reads it
// (kCertificateAlgorithmNotSupported) → each certificate is signed by the next
// (kCertificateChainNotMatch) → the leaf has not expired at `now` (epoch seconds;
// kCertificateExpired). On success: the facts, the canonical chain PEM and the key as PKCS#8 PEM
// (to be sealed before it is stored).
struct CheckedUpload {
  CertificateFacts facts;
  std::string chain_pem;
  std::string key_pem;
};
Result<CheckedUpload> CheckUpload(std::string_view cert_pem, std::string_view key_pem, int64_t now);

}  // namespace certplan::pki
