#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pki/certificate_signer.h"
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
};

// Builds and signs an X.509 v3 certificate with a random positive 128-bit serial, SKI, AKI
// (when an issuer is given), basicConstraints, keyUsage and — for leaves — serverAuth EKU and
// the SANs. Extensions are built as structures, not through the config-string API.
Result<X509Ptr> BuildCertificate(const CertificateSpec& spec);

// Upper-case hex of the certificate's serial number.
std::string SerialHex(X509* cert);

}  // namespace certplan::pki
