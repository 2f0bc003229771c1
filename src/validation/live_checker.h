#pragma once

#include "cas/domain_checker.h"
#include "validation/dns_txt_check.h"
#include "validation/http_file_check.h"

namespace certplan::validation {

struct CheckerSettings {
  DnsServer dns;               // validation.dns_server
  AddressOverrides addresses;  // validation.addresses
};

// Real checks (spec §4.3): DNS — a TXT record equal to the token at `_dnsauth.<adn>` or at
// `<adn>`, for any Authorization Domain Name of the name (authorization_domain.h); FILE — the body
// of fileauth.txt, trimmed, equal to the token.
class LiveChecker final : public cas::DomainChecker {
 public:
  explicit LiveChecker(CheckerSettings settings);
  Status Check(cas::CheckMethod method, std::string_view domain, std::string_view token) override;

 private:
  CheckerSettings settings_;
};

}  // namespace certplan::validation
