#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace certplan::cas {

// Splits the comma-separated Domain parameter and checks every name: a host name of at least
// two labels (letters, digits, '-', not at a label's ends, 63 per label, 253 in all), or `*.`
// before one; non-ASCII names must come as A-labels (xn--). Lower-cases them and drops
// duplicates. kInvalidParameter naming `param` on the first bad name; at most `max_names`.
Result<std::vector<std::string>> ParseDomainList(std::string_view text, std::string_view param,
                                                 size_t max_names);

// Checks one name as above (already lower-cased or not).
Result<std::string> NormalizeDomain(std::string_view name, std::string_view param);

inline bool IsWildcard(std::string_view name) { return name.substr(0, 2) == "*."; }

// The subject CN the CA gives a certificate for `domains` (pki::CommonNameFor: the first name of
// at most 64 characters, or empty), for the fronts that show it before or without issuing.
std::string CertificateCommonName(const std::vector<std::string>& domains);

}  // namespace certplan::cas
