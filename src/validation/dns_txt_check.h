#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace certplan::validation {

// Where DNS questions go: the system resolver (empty host), or one server, e.g. a dnsmasq on
// 127.0.0.1:5353 in tests.
struct DnsServer {
  std::string host;  // IPv4 literal
  uint16_t port = 53;
};

// The TXT strings at `name` (each record's character-strings concatenated). An empty list when
// the name has no TXT records; kServiceUnavailable when the server does not answer.
Result<std::vector<std::string>> LookupTxt(const DnsServer& server, std::string_view name);

}  // namespace certplan::validation
