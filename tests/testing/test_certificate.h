#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "pki/authority.h"
#include "pki/openssl_handles.h"

namespace certplan::testing {

// A real self-signed P-256 certificate (PEM) whose CN and only SAN is `name`, valid over
// [not_before, not_after] (epoch seconds): what a fake pki::Authority hands out, so everything
// that reads an issued certificate (the repository entry) reads a real one.
inline std::string SelfSignedPem(const std::string& name, int64_t not_before, int64_t not_after) {
  static const pki::PkeyPtr key(EVP_EC_gen("P-256"));
  pki::X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(not_before));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(not_after));
  X509_set_pubkey(cert.get(), key.get());
  const std::string san = "DNS:" + name;
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str());
  X509_add_ext(cert.get(), ext, -1);
  X509_EXTENSION_free(ext);
  X509_sign(cert.get(), key.get(), EVP_sha256());
  return pki::CertificatePem(cert.get());
}

// A pki::Authority for tests of what drives issuance (orders, the worker): it issues a real
// self-signed certificate for the first name (remembered, IssuedFor) or refuses with `refuse`,
// and counts the keys it was asked to make (their PEM is not real).
class StampingCa : public pki::Authority {
 public:
  // Any CSR is accepted and read as naming `csr_cn` (empty by default).
  Result<pki::CsrFacts> InspectCsr(const std::string&) const override {
    return pki::CsrFacts{csr_cn, {}};
  }
  Result<pki::CsrFacts> InspectCsrNamesInSan(const std::string&) const override {
    return pki::CsrFacts{csr_cn, {}};
  }
  Result<pki::GeneratedKey> GenerateKey() const override {
    ++keys_made;
    return pki::GeneratedKey{"private", "public"};
  }
  Result<pki::IssuedCertificate> Issue(const pki::IssueRequest& r) const override {
    if (!refuse.empty()) return Error(ErrorCode::kInternal, "the CA refused", refuse);
    std::string pem = SelfSignedPem(r.domains.front(), r.not_before, r.not_after);
    std::scoped_lock lock(issued_mu_);
    issued_[r.domains.front()] = pem;
    return pki::IssuedCertificate{pem, "", "AB", r.not_before, r.not_after};
  }
  const std::string& root_pem() const override { return root_; }
  // The PEM issued for `name` (first name of its order), or empty.
  std::string IssuedFor(const std::string& name) const {
    std::scoped_lock lock(issued_mu_);
    auto it = issued_.find(name);
    return it == issued_.end() ? std::string() : it->second;
  }

  mutable int keys_made = 0;
  std::string csr_cn;
  std::string refuse;  // non-empty: Issue fails with this detail

 private:
  mutable std::mutex issued_mu_;
  mutable std::map<std::string, std::string> issued_;  // guarded by issued_mu_
  std::string root_ = "root";
};

}  // namespace certplan::testing
