#include "cas/domain_names.h"

#include <algorithm>

#include "pki/authority.h"

namespace certplan::cas {
namespace {

bool ValidLabel(std::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
    return false;
  }
  return std::all_of(label.begin(), label.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

}  // namespace

Result<std::string> NormalizeDomain(std::string_view name, std::string_view param) {
  std::string lower(name);
  for (char& c : lower) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      return InvalidParameter(param, "internationalized names must be given as A-labels (xn--…).");
    }
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  std::string_view host = lower;
  if (IsWildcard(host)) host.remove_prefix(2);
  if (host.size() > 253 || host.empty())
    return InvalidParameter(param, "\"" + lower + "\" is not a host name.");
  size_t labels = 0, pos = 0;
  while (pos <= host.size()) {
    size_t dot = host.find('.', pos);
    if (dot == std::string_view::npos) dot = host.size();
    if (!ValidLabel(host.substr(pos, dot - pos))) {
      return InvalidParameter(param, "\"" + lower + "\" is not a valid host name.");
    }
    ++labels;
    pos = dot + 1;
  }
  if (labels < 2) return InvalidParameter(param, "\"" + lower + "\" needs at least two labels.");
  return lower;
}

Result<std::vector<std::string>> ParseDomainList(std::string_view text, std::string_view param,
                                                 size_t max_names) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(pos, comma - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    pos = comma + 1;
    if (item.empty()) return InvalidParameter(param, "an empty name in the list.");
    Result<std::string> name = NormalizeDomain(item, param);
    if (!name) return name.error();
    if (std::find(out.begin(), out.end(), *name) == out.end()) out.push_back(std::move(*name));
  }
  if (out.size() > max_names) {
    return InvalidParameter(param, "at most " + std::to_string(max_names) + " names per order.");
  }
  return out;
}

std::string CertificateCommonName(const std::vector<std::string>& domains) {
  return pki::CommonNameFor(domains);
}

}  // namespace certplan::cas
