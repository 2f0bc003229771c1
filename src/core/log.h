#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace certplan::log {

// kLifecycle marks the few lines harnesses and operators wait for (listening, stopped): written
// whatever the level set, named "info" in the line.
enum class Level { kDebug, kInfo, kWarn, kError, kLifecycle };

// Sets the lowest level written (default kInfo). Thread-safe.
void SetLevel(Level level);
bool Enabled(Level level);

// One JSON object per line on stderr, valid JSON in UTF-8 whatever bytes the values hold:
//   log::Line(log::Level::kInfo, "listening").Str("address", a).Write();
// Write() is atomic with respect to other lines. Never put a secret, a private key, a signature
// or an Authorization header into a line.
class Line {
 public:
  Line(Level level, std::string_view msg);
  Line& Str(std::string_view key, std::string_view value);
  Line& Int(std::string_view key, int64_t value);
  void Write();

 private:
  void Key(std::string_view key);
  Level level_;
  bool enabled_;
  std::string buf_;
};

// Appends `text` to `out` as the body of a JSON string (quotes not included). Any bytes give
// valid JSON and valid UTF-8: control characters are escaped, and bytes that are not
// well-formed UTF-8 become U+FFFD.
void AppendJsonEscaped(std::string& out, std::string_view text);

inline void Info(std::string_view msg) { Line(Level::kInfo, msg).Write(); }
inline void Warn(std::string_view msg) { Line(Level::kWarn, msg).Write(); }
inline void Error(std::string_view msg) { Line(Level::kError, msg).Write(); }

}  // namespace certplan::log
