#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace certplan {

// Lower-case hex of raw bytes.
std::string HexEncode(std::string_view bytes);
// The bytes of a hex string (either case); nullopt for an odd length or a non-hex digit.
std::optional<std::string> HexDecode(std::string_view hex);

}  // namespace certplan
