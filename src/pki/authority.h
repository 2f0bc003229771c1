#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "pki/certificate_chain.h"

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

// X.509's upper bound on a CN and an O (RFC 5280 ub-common-name, ub-organization-name), in
// characters.
inline constexpr size_t kMaxSubjectCharacters = 64;

// The subject CN of a certificate for `names`: the first name of at most 64 characters, or
// empty (no CN: every name is in the SAN only) when none fits. Every name, long or not, is in
// the SAN. One rule for every operation and key source, so a valid name never makes the CA
// refuse.
std::string CommonNameFor(const std::vector<std::string>& names);
// The subject O for a CompanyName: its first 64 characters (code points; never cut inside a
// UTF-8 sequence). Longer names are truncated, not refused.
std::string OrganizationFor(std::string_view company_name);

struct IssueRequest {
  std::string csr_pem;               // the key comes from here …
  std::string public_key_pem;        // … or from here when certplan made the key
  std::vector<std::string> domains;  // SANs, in order; the CN is CommonNameFor(domains)
  std::string organization;          // CompanyName for OV products (O = OrganizationFor it)
  int64_t not_before = 0;
  int64_t not_after = 0;
  // iPAddress SANs after the domains (the server's own HTTPS certificate; orders carry none).
  std::vector<std::string> ip_addresses;
  // The CRL distribution point and OCSP/caIssuers locations, when the CA publishes them (an
  // order's certificate); false for a certificate the revocation records never hold (the
  // server's own).
  bool revocation_pointers = true;
};

struct IssuedCertificate {
  std::string certificate_pem;  // leaf
  std::string chain_pem;        // intermediates, leaf's issuer first (no root)
  std::string serial_hex;
  int64_t not_before = 0;
  int64_t not_after = 0;
  // What the repository shows of the leaf and chain (ReadChain's facts of certificate_pem +
  // chain_pem), when the authority read them off the certificate it built; empty: the caller
  // reads them from the PEM.
  std::optional<CertificateFacts> facts;
};

// The certificate authority as the domain sees it. Implementations are thread-safe.
class Authority {
 public:
  virtual ~Authority() = default;
  // kCreateCertificateRequestFailed naming the problem: not PEM PKCS#10, bad self-signature,
  // RSA < 2048 or a curve other than P-256/P-384, no CN.
  virtual Result<CsrFacts> InspectCsr(const std::string& csr_pem) const = 0;
  // The same checks with the CN optional (ACME finalize: certbot sends no CN, the names are in
  // the SAN; issue #12's one CA rule places them). Pure, like every method here: a wrapper
  // (key pool, metrics) that forgot to forward it would silently require a CN again.
  virtual Result<CsrFacts> InspectCsrNamesInSan(const std::string& csr_pem) const = 0;
  // A fresh RSA-2048 key. Slow (tens to hundreds of ms): call it off the request threads.
  virtual Result<GeneratedKey> GenerateKey() const = 0;
  // Signs a leaf certificate: SANs, serverAuth EKU, random 128-bit serial, AKI/SKI; CN and O
  // by CommonNameFor / OrganizationFor (a subject left empty makes the SAN critical); the
  // revocation pointers when asked for and the authority publishes them.
  virtual Result<IssuedCertificate> Issue(const IssueRequest& request) const = 0;
  // The root certificate (PEM) that verifies every chain this authority issues.
  virtual const std::string& root_pem() const = 0;
};

}  // namespace certplan::pki
