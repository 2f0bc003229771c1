#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace certplan::rpc {

// Decodes `%XX` escapes (either case) and, for form and query data, `+` as space. Returns nullopt
// on a malformed escape (`%`, `%4`, `%GZ`).
std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space = true);

// RFC 3986 encoding as both signature schemes use it: A-Z a-z 0-9 - _ . ~ kept, every other
// byte `%XX` upper-case (space is %20, `*` is %2A).
void AppendPercentEncoded(std::string& out, std::string_view text);
std::string PercentEncode(std::string_view text);

// True when `text` is well-formed UTF-8 (no overlongs, surrogates or code points > U+10FFFF).
bool IsValidUtf8(std::string_view text);

}  // namespace certplan::rpc
