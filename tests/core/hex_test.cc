#include "core/hex.h"

#include <gtest/gtest.h>

namespace certplan {
namespace {

TEST(Hex, RoundTripsBytes) {
  const std::string bytes("\x00\x01\xab\xff", 4);
  EXPECT_EQ(HexEncode(bytes), "0001abff");
  EXPECT_EQ(HexDecode("0001ABff"), bytes);
  EXPECT_EQ(HexDecode(""), "");
}

TEST(Hex, RejectsMalformed) {
  EXPECT_FALSE(HexDecode("abc"));
  EXPECT_FALSE(HexDecode("zz"));
}

}  // namespace
}  // namespace certplan
