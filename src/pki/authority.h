#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace certplan::pki {

// What a CSR asks for, once its signature and key are known to be acceptable.
struct CsrFacts {
  std::string common_name;
  std::vector<std::string> dns_names;  // subjectAltName dNSName entries, as written
};

struct GeneratedKey {
  std::string private_key_pem;  // PKCS#8
  std::string public_key_pem;   // SubjectPublicKeyInfo
};

struct IssueRequest {
  std::string csr_pem;               // the key comes from here …
  std::string public_key_pem;        // … or from here when certplan made the key
  std::vector<std::string> domains;  // SANs; domains[0] is the subject CN
  std::string organization;          // O= for OV products; empty for DV
  int64_t not_before = 0;
  int64_t not_after = 0;
};

struct IssuedCertificate {
  std::string certificate_pem;  // leaf
  std::string chain_pem;        // intermediates, leaf's issuer first (no root)
  std::string serial_hex;
  int64_t not_before = 0;
  int64_t not_after = 0;
};

// The certificate authority as the domain sees it. Implementations are thread-safe.
class Authority {
 public:
  virtual ~Authority() = default;
  // kCreateCertificateRequestFailed naming the problem: not PEM PKCS#10, bad self-signature,
  // RSA < 2048 or a curve other than P-256/P-384, no CN.
  virtual Result<CsrFacts> InspectCsr(const std::string& csr_pem) const = 0;
  // A fresh RSA-2048 key. Slow (tens to hundreds of ms): call it off the request threads.
  virtual Result<GeneratedKey> GenerateKey() const = 0;
  // Signs a leaf certificate: SANs, serverAuth EKU, random 128-bit serial, AKI/SKI.
  virtual Result<IssuedCertificate> Issue(const IssueRequest& request) const = 0;
  // The root certificate (PEM) that verifies every chain this authority issues.
  virtual const std::string& root_pem() const = 0;
};

}  // namespace certplan::pki
