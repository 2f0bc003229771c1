#pragma once

#include <cstddef>
#include <string_view>

namespace certplan::utf8 {

// The replacement for a byte sequence that is not well-formed UTF-8.
inline constexpr char32_t kReplacement = 0xFFFD;

// Decodes the code point at `pos` of `text` (pos < text.size()) and advances `pos` past it.
// A byte that does not start a well-formed sequence (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF, no truncation) yields kReplacement and advances by one
// byte, the way the WHATWG decoder resynchronises; so any byte string decodes to valid text.
char32_t Next(std::string_view text, size_t& pos);

// Appends `cp` (a Unicode scalar value) to `out` as UTF-8.
template <typename String>
void Append(String& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace certplan::utf8
