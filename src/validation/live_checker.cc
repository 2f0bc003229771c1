#include "validation/live_checker.h"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>

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
  if (method == cas::CheckMethod::kFile) {
    Result<std::string> body = FetchFileAuth(domain, settings_.addresses);
    if (!body) return NotYet("file validation of " + name + ": " + body.error().message);
    if (Trim(*body) != token) {
      return NotYet("file validation of " + name + ": fileauth.txt does not hold the token");
    }
    return Ok{};
  }
  // Appended rather than "_dnsauth." + name: g++ 12 -O3 warns falsely on that form (PR105651).
  std::string dnsauth = "_dnsauth.";
  dnsauth += name;
  for (const std::string& where : {dnsauth, name}) {
    Result<std::vector<std::string>> txt = LookupTxt(settings_.dns, where);
    if (!txt) return NotYet("DNS validation of " + name + ": " + txt.error().message);
    if (std::find(txt->begin(), txt->end(), token) != txt->end()) return Ok{};
  }
  return NotYet("DNS validation of " + name + ": no TXT record at _dnsauth." + name +
                " holds the token");
}

}  // namespace certplan::validation
