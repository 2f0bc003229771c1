#pragma once

#include <memory>
#include <string>

#include "pki/authority.h"

namespace certplan::pki {

// Where the CA's certificates and keys come from. Empty paths: generate at first start into
// `dir` (ECDSA P-256 root and issuing intermediate, keys 0600) and reuse them afterwards.
struct CaFiles {
  std::string dir;
  std::string root_cert_file;  // operator-supplied (all three or none)
  std::string issuing_cert_file;
  std::string issuing_key_file;
};

// certplan's own CA: a root and an issuing intermediate, signing leaves for orders.
class BuiltinCa final : public Authority {
 public:
  static Result<std::unique_ptr<BuiltinCa>> Open(const CaFiles& files, int64_t now);
  ~BuiltinCa() override;

  Result<CsrFacts> InspectCsr(const std::string& csr_pem) const override;
  Result<CsrFacts> InspectCsrNamesInSan(const std::string& csr_pem) const override;
  Result<GeneratedKey> GenerateKey() const override;
  Result<IssuedCertificate> Issue(const IssueRequest& request) const override;
  const std::string& root_pem() const override { return root_pem_; }

 private:
  struct Keys;
  explicit BuiltinCa(std::unique_ptr<Keys> keys);
  std::unique_ptr<Keys> keys_;
  std::string root_pem_;
  std::string issuing_pem_;
};

}  // namespace certplan::pki
