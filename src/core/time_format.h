#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace certplan {

// Parses exactly `YYYY-MM-DDThh:mm:ssZ` (the only form the SDKs send; spec §1.3) into seconds
// since the epoch. Anything else, including fractions and offsets, is nullopt.
std::optional<int64_t> ParseIso8601Utc(std::string_view text);

// Parses RFC 3339 with a `Z` or `±hh:mm` offset and optional fraction (operator input).
std::optional<int64_t> ParseRfc3339(std::string_view text);

// Formats seconds since the epoch as `YYYY-MM-DDThh:mm:ssZ`.
std::string FormatIso8601Utc(int64_t seconds);

}  // namespace certplan
