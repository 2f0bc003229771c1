#include "validation/authorization_domain.h"

#include <gtest/gtest.h>

namespace certplan::validation {
namespace {

using Names = std::vector<std::string>;

TEST(AuthorizationDomainNames, PrunesLabelsDownToTheRegistrableDomain) {
  EXPECT_EQ(AuthorizationDomainNames("www.sub.example.com"),
            (Names{"www.sub.example.com", "sub.example.com", "example.com"}));
  EXPECT_EQ(AuthorizationDomainNames("example.com"), (Names{"example.com"}));
}

TEST(AuthorizationDomainNames, AWildcardIsItsBaseName) {
  EXPECT_EQ(AuthorizationDomainNames("*.shop.example.com"),
            (Names{"shop.example.com", "example.com"}));
}

TEST(AuthorizationDomainNames, StopsBeforeMultiLabelAndPrivateSuffixes) {
  EXPECT_EQ(AuthorizationDomainNames("www.example.co.uk"),
            (Names{"www.example.co.uk", "example.co.uk"}));
  // github.io is in the list's private section: a user's site never authorizes its parent.
  EXPECT_EQ(AuthorizationDomainNames("a.user.github.io"),
            (Names{"a.user.github.io", "user.github.io"}));
}

TEST(AuthorizationDomainNames, UnknownTopLevelLabelsCountAsSuffixes) {
  // The list's "*" rule: the test domains of the e2e suite behave like any real TLD.
  EXPECT_EQ(AuthorizationDomainNames("www.sub.example.test"),
            (Names{"www.sub.example.test", "sub.example.test", "example.test"}));
}

TEST(AuthorizationDomainNames, APublicSuffixHasNone) {
  EXPECT_TRUE(AuthorizationDomainNames("com").empty());
  EXPECT_TRUE(AuthorizationDomainNames("co.uk").empty());
  EXPECT_TRUE(AuthorizationDomainNames("*.com").empty());
}

}  // namespace
}  // namespace certplan::validation
