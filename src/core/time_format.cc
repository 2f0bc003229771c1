#include "core/time_format.h"

#include <cstdio>
#include <ctime>

namespace certplan {
namespace {

bool Digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

// Days from 1970-01-01 to the given civil date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool ValidDate(int y, int mo, int d, int h, int mi, int s) {
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1]) return false;
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo == 2 && d == 29 && !leap) return false;
  return h <= 23 && mi <= 59 && s <= 59;
}

// Parses the common `YYYY-MM-DDThh:mm:ss` prefix; returns seconds or nullopt.
std::optional<int64_t> ParsePrefix(std::string_view t) {
  int y, mo, d, h, mi, s;
  if (t.size() < 19 || !Digits(t, 0, 4, y) || t[4] != '-' || !Digits(t, 5, 2, mo) || t[7] != '-' ||
      !Digits(t, 8, 2, d) || t[10] != 'T' || !Digits(t, 11, 2, h) || t[13] != ':' ||
      !Digits(t, 14, 2, mi) || t[16] != ':' || !Digits(t, 17, 2, s)) {
    return std::nullopt;
  }
  if (!ValidDate(y, mo, d, h, mi, s)) return std::nullopt;
  return DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

}  // namespace

std::optional<int64_t> ParseIso8601Utc(std::string_view text) {
  if (text.size() != 20 || text[19] != 'Z') return std::nullopt;
  return ParsePrefix(text);
}

std::optional<int64_t> ParseRfc3339(std::string_view text) {
  std::optional<int64_t> base = ParsePrefix(text);
  if (!base) return std::nullopt;
  size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    if (pos == start) return std::nullopt;
  }
  std::string_view zone = text.substr(pos);
  if (zone == "Z" || zone == "z") return base;
  int oh, om;
  if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || !Digits(zone, 1, 2, oh) ||
      zone[3] != ':' || !Digits(zone, 4, 2, om) || oh > 23 || om > 59) {
    return std::nullopt;
  }
  const int64_t offset = oh * 3600 + om * 60;
  return zone[0] == '+' ? *base - offset : *base + offset;
}

std::string FormatIso8601Utc(int64_t seconds) {
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

}  // namespace certplan
