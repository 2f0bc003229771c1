#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pki/certificate_signer.h"
#include "pki/crl.h"
#include "pki/openssl_handles.h"

namespace certplan::pki {

// Everything that differs between the root, the issuing intermediate and a leaf.
struct CertificateSpec {
  std::string common_name;              // optional CN= (≤ 64 characters)
  std::string organization;             // optional O= (≤ 64 characters)
  std::vector<std::string> dns_names;   // subjectAltName (leaf)
  std::string_view subject_public_key;  // SubjectPublicKeyInfo (DER), certified as it is
  X509* issuer = nullptr;               // nullptr: self-signed
  const CertificateSigner* signer = nullptr;
  int64_t not_before = 0;
  int64_t not_after = 0;
  bool is_ca = false;
  int path_length = -1;                   // CA only; -1: unlimited
  std::vector<std::string> ip_addresses;  // subjectAltName iPAddress (leaf), after dns_names
  // Leaves: where relying parties learn the certificate's revocation status — the CRL
  // distribution point (RFC 5280 §4.2.1.13) and the authority information access OCSP and
  // caIssuers locations (§4.2.2.1), each a URI. An empty one leaves its part out.
  std::string crl_url;
  std::string ocsp_url;
  std::string ca_issuers_url;
  // A delegated OCSP responder (RFC 6960 §4.2.2.2): EKU id-kp-OCSPSigning instead of
  // serverAuth, id-pkix-ocsp-nocheck (§4.2.2.2.1), no subjectAltName.
  bool ocsp_signing = false;
};

// Builds and signs an X.509 v3 certificate with a positive 128-bit serial (0x01, notBefore's
// 40 low bits of seconds, 80 random bits: ordered by time, unpredictable), SKI, AKI
// (when an issuer is given), basicConstraints, keyUsage and — for leaves — serverAuth EKU, the
// SANs and the revocation pointers given (or, for an OCSP responder, its EKU and nocheck).
// Extensions are built as structures, not through the config-string API.
Result<X509Ptr> BuildCertificate(const CertificateSpec& spec);

// Upper-case hex of the certificate's serial number.
std::string SerialHex(X509* cert);

// How revocation records name the CA that issued a certificate: lower-case hex of the SHA-1 of
// `cert`'s subjectPublicKey bits — RFC 5280 §4.2.1.2's method 1 and the issuerKeyHash of an
// RFC 6960 CertID made with SHA-1. Empty on an OpenSSL failure.
std::string KeyId(X509* cert);

// A v2 CRL (RFC 5280 §5) issued by `issuer`: its subject as the CRL issuer, thisUpdate,
// nextUpdate, the entries in serial order (reasonCode when given), cRLNumber and the authority
// key identifier (the issuer's subject key identifier, else its KeyId), signed by `signer` (the
// issuer's key) with SHA-256. Returns the DER. kInvalidParameter for a serial that is not hex;
// kInternal on an OpenSSL failure.
Result<std::string> BuildCrl(X509* issuer, const CertificateSigner& signer,
                             const CrlContent& content);

}  // namespace certplan::pki
