#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pki/authority.h"
#include "pki/crl.h"

namespace certplan::pki {

// Where the CA's certificates and keys come from. Empty paths: generate at first start into
// `dir` (ECDSA P-256 root and issuing intermediate, keys 0600) and reuse them afterwards.
struct CaFiles {
  std::string dir;
  std::string root_cert_file;  // operator-supplied (all three or none)
  std::string issuing_cert_file;
  std::string issuing_key_file;
};

// Where relying parties find the revocation status of the leaves the CA issues (absolute URIs,
// IA5 text). An empty one is left out of the certificates.
struct RevocationUrls {
  std::string crl;         // cRLDistributionPoints (RFC 5280 §4.2.1.13)
  std::string ocsp;        // authorityInfoAccess id-ad-ocsp (§4.2.2.1)
  std::string ca_issuers;  // authorityInfoAccess id-ad-caIssuers: the issuing certificate
};

// certplan's own CA: a root and an issuing intermediate, signing leaves for orders, and the
// CRLs and OCSP responder certificates of the issuing CA.
class BuiltinCa final : public Authority {
 public:
  static Result<std::unique_ptr<BuiltinCa>> Open(const CaFiles& files, int64_t now,
                                                 RevocationUrls urls = {});
  ~BuiltinCa() override;

  Result<CsrFacts> InspectCsr(const std::string& csr_pem) const override;
  Result<CsrFacts> InspectCsrNamesInSan(const std::string& csr_pem) const override;
  Result<GeneratedKey> GenerateKey() const override;
  // With request.revocation_pointers, the leaf carries the RevocationUrls given to Open().
  Result<IssuedCertificate> Issue(const IssueRequest& request) const override;
  const std::string& root_pem() const override { return root_pem_; }

  // The issuing certificate: PEM, DER (what the caIssuers URL serves) and its KeyId (the issuer
  // revocation records name).
  const std::string& issuing_pem() const { return issuing_pem_; }
  const std::string& issuing_der() const { return issuing_der_; }
  const std::string& issuer_key_id() const { return issuer_key_id_; }
  const RevocationUrls& revocation_urls() const { return urls_; }

  // A CRL of the issuing CA, signed with its key (BuildCrl): DER.
  Result<std::string> SignCrl(const CrlContent& content) const;
  // A delegated OCSP responder certificate (RFC 6960 §4.2.2.2) for `subject_public_key` (DER
  // SubjectPublicKeyInfo), issued by the issuing CA: CN "certplan OCSP Responder",
  // id-kp-OCSPSigning, id-pkix-ocsp-nocheck, digitalSignature. PEM; kInternal on failure.
  Result<std::string> IssueOcspResponderCertificate(std::string_view subject_public_key,
                                                    int64_t not_before, int64_t not_after) const;

 private:
  struct Keys;
  BuiltinCa(std::unique_ptr<Keys> keys, RevocationUrls urls);
  std::unique_ptr<Keys> keys_;
  RevocationUrls urls_;
  std::string root_pem_;
  std::string issuing_pem_;
  std::string issuing_der_;
  std::string issuer_key_id_;
  std::vector<ChainElement> issuing_chain_;  // the chain after a leaf, as the repository shows it
  bool issuing_chain_read_ = false;          // false: leaves' facts are read from their PEM
};

}  // namespace certplan::pki
