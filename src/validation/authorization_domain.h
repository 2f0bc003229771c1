#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace certplan::validation {

// The Authorization Domain Names of `name` (CA/Browser Forum Baseline Requirements §3.2.2.4.7,
// spec/cas-repository.md §7.10.2): the name itself (a leading "*." removed) and each parent
// formed by pruning labels from the left, most specific first, stopping before the first one
// that is a public suffix (ICANN or private section of the Public Suffix List, as Debian's
// libpsl ships it; a label the list does not know counts as a suffix, by the list's "*" rule).
// "www.sub.example.com" → {"www.sub.example.com", "sub.example.com", "example.com"}. Empty when
// the name is itself a public suffix. Thread-safe.
std::vector<std::string> AuthorizationDomainNames(std::string_view name);

}  // namespace certplan::validation
