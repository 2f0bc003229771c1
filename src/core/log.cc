#include "core/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "core/utf8.h"

namespace certplan::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
    case Level::kLifecycle: return "info";
  }
  return "info";
}

std::string Timestamp() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const std::time_t t = system_clock::to_time_t(now);
  const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace

void SetLevel(Level level) { g_level.store(static_cast<int>(level)); }
bool Enabled(Level level) { return static_cast<int>(level) >= g_level.load(); }

void AppendJsonEscaped(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      // Client bytes reach log lines (a Credential, an Action): a line must stay UTF-8, so
      // what is not well-formed becomes U+FFFD.
      utf8::Append(out, utf8::Next(text, i));
      continue;
    }
    ++i;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
}

Line::Line(Level level, std::string_view msg) : level_(level), enabled_(Enabled(level)) {
  if (!enabled_) return;  // a disabled line costs one atomic load, nothing else
  buf_.reserve(256);
  buf_ += "{\"ts\":\"";
  buf_ += Timestamp();
  buf_ += "\",\"level\":\"";
  buf_ += LevelName(level);
  buf_ += "\",\"msg\":\"";
  AppendJsonEscaped(buf_, msg);
  buf_ += '"';
}

void Line::Key(std::string_view key) {
  buf_ += ",\"";
  AppendJsonEscaped(buf_, key);
  buf_ += "\":";
}

Line& Line::Str(std::string_view key, std::string_view value) {
  if (!enabled_) return *this;
  Key(key);
  buf_ += '"';
  AppendJsonEscaped(buf_, value);
  buf_ += '"';
  return *this;
}

Line& Line::Int(std::string_view key, int64_t value) {
  if (!enabled_) return *this;
  Key(key);
  buf_ += std::to_string(value);
  return *this;
}

void Line::Write() {
  if (!enabled_) return;
  buf_ += "}\n";
  // One write(2) per line keeps lines whole when several threads log at once.
  const char* p = buf_.data();
  size_t left = buf_.size();
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace certplan::log
