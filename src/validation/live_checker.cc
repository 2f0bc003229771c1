#include "validation/live_checker.h"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>
#include <optional>

#include "validation/authorization_domain.h"

namespace certplan::validation {
namespace {

std::string_view Trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// Not (yet) validated: the message becomes the order's failure reason.
Error NotYet(std::string why) { return Error(ErrorCode::kServiceUnavailable, std::move(why)); }

}  // namespace

LiveChecker::LiveChecker(CheckerSettings settings) : settings_(std::move(settings)) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

Status LiveChecker::Check(cas::CheckMethod method, std::string_view domain,
                          std::string_view token) {
  const std::string name(domain);
  if (method == cas::CheckMethod::kAcmeHttp01) {
    const std::string_view challenge = token.substr(0, token.find('.'));
    const std::string path = std::string(cas::kAcmeChallengePath) + std::string(challenge);
    Result<std::string> body = FetchHttpPath(domain, path, settings_.addresses);
    if (!body) return NotYet("http-01 validation of " + name + ": " + body.error().message);
    if (Trim(*body) != token) {
      return NotYet("http-01 validation of " + name + ": the body is not the key authorization");
    }
    return Ok{};
  }
  if (method == cas::CheckMethod::kAcmeDns01) {
    const std::string where = "_acme-challenge." + name;
    Result<std::vector<std::string>> txt = LookupTxt(settings_.dns, where);
    if (!txt) return NotYet("dns-01 validation of " + name + ": " + txt.error().message);
    if (std::find(txt->begin(), txt->end(), token) == txt->end()) {
      return NotYet("dns-01 validation of " + name + ": no TXT record at " + where +
                    " holds the expected digest");
    }
    return Ok{};
  }
  if (method == cas::CheckMethod::kFile) {
    Result<std::string> body = FetchFileAuth(domain, settings_.addresses);
    if (!body) return NotYet("file validation of " + name + ": " + body.error().message);
    if (Trim(*body) != token) {
      return NotYet("file validation of " + name + ": fileauth.txt does not hold the token");
    }
    return Ok{};
  }
  // The token may stand at _dnsauth.<adn> or at <adn> for any Authorization Domain Name: a DNS
  // panel publishes `_dnsauth` relative to its zone, which may be a parent of the ordered name.
  const std::vector<std::string> adns = AuthorizationDomainNames(name);
  if (adns.empty()) return NotYet("DNS validation of " + name + ": the name is a public suffix");
  // Every candidate is asked: a server that fails for one name (no such zone there) must not
  // hide the token published at another. The first failure is reported if none holds it.
  std::optional<Error> failure;
  for (const std::string& adn : adns) {
    std::string dnsauth = "_dnsauth.";  // appended: g++ 12 -O3 warns falsely on + (PR105651)
    dnsauth += adn;
    for (const std::string& where : {dnsauth, adn}) {
      Result<std::vector<std::string>> txt = LookupTxt(settings_.dns, where);
      if (!txt) {
        if (!failure) failure = txt.error();
        continue;
      }
      if (std::find(txt->begin(), txt->end(), token) != txt->end()) return Ok{};
    }
  }
  if (failure) return NotYet("DNS validation of " + name + ": " + failure->message);
  return NotYet("DNS validation of " + name + ": no TXT record at _dnsauth." + adns.front() +
                (adns.size() > 1 ? " or _dnsauth." + adns.back() : std::string()) +
                " (or a name between) holds the token");
}

}  // namespace certplan::validation
