#include "api/action_table.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace certplan::api {
namespace {

// The README's Action table is the docs' copy of this table: every served Action must appear
// there with its RAM action and access level, and nothing else may.
TEST(ActionTable, ReadmeListsEveryServedAction) {
  std::ifstream in(std::string(CERTPLAN_SOURCE_DIR) + "/README.md");
  ASSERT_TRUE(in);
  std::stringstream text;
  text << in.rdbuf();
  const std::string readme = text.str();
  for (const Action& a : Actions()) {
    const std::string row = "| " + std::string(a.name) + " | `" + std::string(a.ram_action) +
                            "` | " + std::string(AccessLevelName(a.access_level)) + " |";
    EXPECT_NE(readme.find(row), std::string::npos) << "README lacks: " << row;
    EXPECT_EQ(a.ram_action, "yundun-cert:" + std::string(a.name));
  }
  size_t rows = 0;
  for (size_t pos = readme.find("| `yundun-cert:"); pos != std::string::npos;
       pos = readme.find("| `yundun-cert:", pos + 1)) {
    ++rows;
  }
  EXPECT_EQ(rows, Actions().size()) << "README documents an Action that is not served";
}

TEST(ActionTable, NamesAreUnique) {
  for (const Action& a : Actions()) EXPECT_EQ(FindAction(a.name), &a);
  EXPECT_EQ(FindAction("describePackageState"), nullptr);
}

}  // namespace
}  // namespace certplan::api
