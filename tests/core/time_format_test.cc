#include "core/time_format.h"

#include <gtest/gtest.h>

namespace certplan {
namespace {

TEST(Iso8601, ParsesTheSdkForm) {
  EXPECT_EQ(ParseIso8601Utc("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseIso8601Utc("2026-01-15T08:30:00Z"), 1768465800);
  EXPECT_EQ(ParseIso8601Utc("2024-02-29T23:59:59Z"), 1709251199);
}

TEST(Iso8601, RejectsEverythingElse) {
  for (const char* bad : {"2026-01-15T08:30:00.000Z", "2026-01-15T08:30:00", "2026-01-15 08:30:00Z",
                          "2026-13-01T00:00:00Z", "2025-02-29T00:00:00Z", "2026-01-15T24:00:00Z",
                          "2026-01-15T08:30:00+08:00", "", "garbage"}) {
    EXPECT_FALSE(ParseIso8601Utc(bad)) << bad;
  }
}

TEST(Rfc3339, AcceptsOffsetsAndFractions) {
  EXPECT_EQ(ParseRfc3339("2026-01-15T16:30:00+08:00"), 1768465800);
  EXPECT_EQ(ParseRfc3339("2026-01-15T08:30:00.5Z"), 1768465800);
  EXPECT_FALSE(ParseRfc3339("2026-01-15T08:30:00+8"));
}

TEST(Iso8601, FormatsRoundTrip) { EXPECT_EQ(FormatIso8601Utc(1768465800), "2026-01-15T08:30:00Z"); }

}  // namespace
}  // namespace certplan
