#pragma once

#include "cas/domain_checker.h"
#include "ops/service_metrics.h"
#include "pki/authority.h"

namespace certplan::ops {

// The live checker, counted: every check passes through to `inner` unchanged.
class ObservedChecker final : public cas::DomainChecker {
 public:
  ObservedChecker(cas::DomainChecker& inner, ServiceMetrics& metrics)
      : inner_(inner), metrics_(metrics) {}
  Status Check(cas::CheckMethod method, std::string_view domain, std::string_view token) override;

 private:
  cas::DomainChecker& inner_;
  ServiceMetrics& metrics_;
};

// The orders' authority, with each Issue() counted and timed; everything passes through to
// `inner` unchanged.
class ObservedAuthority final : public pki::Authority {
 public:
  ObservedAuthority(const pki::Authority& inner, ServiceMetrics& metrics)
      : inner_(inner), metrics_(metrics) {}
  Result<pki::CsrFacts> InspectCsr(const std::string& csr_pem) const override {
    return inner_.InspectCsr(csr_pem);
  }
  Result<pki::CsrFacts> InspectCsrNamesInSan(const std::string& csr_pem) const override {
    return inner_.InspectCsrNamesInSan(csr_pem);
  }
  Result<pki::GeneratedKey> GenerateKey() const override { return inner_.GenerateKey(); }
  Result<pki::IssuedCertificate> Issue(const pki::IssueRequest& request) const override;
  const std::string& root_pem() const override { return inner_.root_pem(); }

 private:
  const pki::Authority& inner_;
  ServiceMetrics& metrics_;
};

}  // namespace certplan::ops
