#include "core/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/utf8.h"
#include "testing/temp_dir.h"

namespace certplan::log {
namespace {

// Bytes a client controls (issue #12: an Authorization Credential with ff fe and a quote).
const std::string kHostile = std::string("AK\xff\xfe\"}\\\n\r\t\x01\x7f", 12) +
                             std::string("\0x", 2) + "\xc0\xaf" + "\xed\xa0\x80" +
                             "\xf4\x90\x80\x80" + "\xe4\xb8" + "\xe4\xb8\xad";

// Returns what `write` put on stderr.
template <typename Fn>
std::string CaptureStderr(Fn write) {
  testing::TempDir dir;
  const int saved = ::dup(STDERR_FILENO);
  const int fd = ::open(dir.File("err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ::dup2(fd, STDERR_FILENO);
  ::close(fd);
  write();
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  std::ifstream in(dir.File("err"));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(JsonEscaping, HostileBytesGiveValidJsonAndUtf8) {
  std::string out = "\"";
  AppendJsonEscaped(out, kHostile);
  out += "\"";
  // nlohmann rejects invalid UTF-8 and raw control characters.
  const nlohmann::json parsed = nlohmann::json::parse(out);
  const std::string r = "\xef\xbf\xbd";  // U+FFFD
  EXPECT_EQ(parsed.get<std::string>(), "AK" + r + r + "\"}\\\n\r\t\x01\x7f" +
                                           std::string("\0x", 2) + r + r + r + r + r + r + r + r +
                                           r + r + r + "\xe4\xb8\xad");
  EXPECT_EQ(out.find('\x01'), std::string::npos);  // escaped as \u0001
  EXPECT_NE(out.find("\\u0001"), std::string::npos);
  EXPECT_NE(out.find("\\u0000"), std::string::npos);
}

TEST(JsonEscaping, WellFormedTextIsKept) {
  const std::string text =
      "plain ascii, \xc3\xa9t\xc3\xa9, \xe4\xb8\xad\xe6\x96\x87, \xf0\x9f\x94\x92";
  std::string out;
  AppendJsonEscaped(out, text);
  EXPECT_EQ(out, text);
}

TEST(LogLine, EveryLineIsJsonWhateverTheValues) {
  const std::string text = CaptureStderr([] {
    Line(Level::kWarn, kHostile).Str(kHostile, kHostile).Int("n", 7).Write();
    Line(Level::kInfo, "request").Str("access_key_id", "\xff\xfe\"").Write();
  });
  std::istringstream lines(text);
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    const nlohmann::json j = nlohmann::json::parse(line);
    EXPECT_TRUE(j.contains("ts"));
    if (count == 1) {
      EXPECT_EQ(j["access_key_id"], "\xef\xbf\xbd\xef\xbf\xbd\"");
    }
  }
  EXPECT_EQ(count, 2);
}

TEST(Utf8, DecodesAndReplaces) {
  const std::string text = "a\xc3\xa9\xff\xf0\x9f\x94\x92\xe4";
  size_t pos = 0;
  EXPECT_EQ(utf8::Next(text, pos), U'a');
  EXPECT_EQ(utf8::Next(text, pos), U'\u00e9');
  EXPECT_EQ(utf8::Next(text, pos), utf8::kReplacement);
  EXPECT_EQ(utf8::Next(text, pos), U'\U0001F512');
  EXPECT_EQ(utf8::Next(text, pos), utf8::kReplacement);
  EXPECT_EQ(pos, text.size());
}

}  // namespace
}  // namespace certplan::log
