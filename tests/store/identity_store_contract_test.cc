// The contract of iam::IdentityStore: accounts, AccessKeys, RAM users, policies and their
// attachments. Runs over SQLite and PostgreSQL (tests/store/store_backends.h).
#include "store/store_backends.h"
#include "testing/audit_for_test.h"

namespace certplan::store {
namespace {

using IdentityStoreContract = StoreBackendTest;

TEST_P(IdentityStoreContract, AccountNamesAreUnique) {
  Result<iam::Account> dup = identities_->CreateAccount(3003, "a", 1, testing::TestRecord());
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kInvalidParameter);
  EXPECT_EQ((*identities_->FindAccountByName("b"))->id, 2002);
  EXPECT_FALSE(*identities_->FindAccount(9));
}

TEST_P(IdentityStoreContract, AccessKeysKeepBinarySecretsAndToggle) {
  iam::AccessKey key{"LTAIx", 1001, "", std::string("\x00\xff\x10", 3), true, 5};
  ASSERT_TRUE(identities_->InsertAccessKey(key, nullptr));
  EXPECT_EQ((*identities_->FindAccessKey("LTAIx"))->sealed_secret, key.sealed_secret);
  EXPECT_TRUE((*identities_->FindAccessKey("LTAIx"))->enabled);
  EXPECT_FALSE(*identities_->FindAccessKey("LTAInone"));
  EXPECT_TRUE(*identities_->SetAccessKeyEnabled("LTAIx", false, testing::TestRecord()));
  EXPECT_FALSE((*identities_->FindAccessKey("LTAIx"))->enabled);
  EXPECT_FALSE(*identities_->SetAccessKeyEnabled("LTAInone", false, testing::TestRecord()));
  EXPECT_EQ(identities_->ListAccessKeys(1001)->size(), 1u);
}

TEST_P(IdentityStoreContract, UsersPoliciesAndAttachments) {
  ASSERT_TRUE(identities_->CreateUser(iam::User{1001, "ci", 1}, testing::TestRecord()));
  Status dup = identities_->CreateUser(iam::User{1001, "ci", 1}, testing::TestRecord());
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kInvalidParameter);
  ASSERT_TRUE(identities_->CreatePolicy(iam::PolicyRecord{1001, "p", "{\"Version\":\"1\"}", 1},
                                        testing::TestRecord()));
  ASSERT_TRUE(identities_->AttachPolicy(1001, "ci", "p", false, testing::TestRecord()));
  ASSERT_TRUE(identities_->AttachPolicy(1001, "ci", "AliyunYundunCertFullAccess", true,
                                        testing::TestRecord()));
  Status missing = identities_->AttachPolicy(1001, "ci", "nope", false, testing::TestRecord());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kInvalidParameter);
  auto attached = *identities_->AttachedPolicies(1001, "ci");
  ASSERT_EQ(attached.size(), 2u);
  EXPECT_EQ(attached[0].first, "AliyunYundunCertFullAccess");
  EXPECT_EQ(attached[0].second, "");
  EXPECT_EQ(attached[1].second, "{\"Version\":\"1\"}");
  EXPECT_TRUE(*identities_->DetachPolicy(1001, "ci", "p", testing::TestRecord()));
  EXPECT_FALSE(*identities_->DetachPolicy(1001, "ci", "p", testing::TestRecord()));
  ASSERT_TRUE(
      identities_->InsertAccessKey(iam::AccessKey{"LTAIci", 1001, "ci", "s", true, 1}, nullptr));
  ASSERT_TRUE(identities_->DeleteUser(1001, "ci", testing::TestRecord()));
  EXPECT_FALSE(*identities_->FindAccessKey("LTAIci"));
  EXPECT_FALSE(*identities_->UserExists(1001, "ci"));
  EXPECT_TRUE(identities_->AttachedPolicies(1001, "ci")->empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, IdentityStoreContract, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace certplan::store
