#include "pki/secret_box.h"

#include <sys/stat.h>

#include <fstream>

#include <gtest/gtest.h>

#include "testing/temp_dir.h"

namespace certplan::pki {
namespace {

std::unique_ptr<SecretBox> Box(char fill = 'k') {
  return std::move(*SecretBox::Create(std::string(32, fill)));
}

TEST(SecretBox, SealsAndOpens) {
  auto box = Box();
  const std::string sealed = box->Seal("the secret", "LTAIkey");
  EXPECT_EQ(sealed.find("the secret"), std::string::npos);
  Result<std::string> opened = box->Open(sealed, "LTAIkey");
  ASSERT_TRUE(opened);
  EXPECT_EQ(*opened, "the secret");
  EXPECT_NE(box->Seal("the secret", "LTAIkey"), sealed);  // fresh nonce each time
}

TEST(SecretBox, RefusesOtherContextKeyOrTampering) {
  auto box = Box();
  std::string sealed = box->Seal("the secret", "LTAIkey");
  EXPECT_FALSE(box->Open(sealed, "LTAIother"));
  EXPECT_FALSE(Box('x')->Open(sealed, "LTAIkey"));
  sealed[sealed.size() / 2] ^= 1;
  Result<std::string> tampered = box->Open(sealed, "LTAIkey");
  ASSERT_FALSE(tampered);
  EXPECT_EQ(tampered.error().code, ErrorCode::kInternal);
  EXPECT_FALSE(box->Open("short", "LTAIkey"));
}

TEST(SecretBox, KeyMustBe32Bytes) {
  Result<std::unique_ptr<SecretBox>> bad = SecretBox::Create("short");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidParameter);
}

TEST(MasterKey, CreatedOnceWithMode0600AndReloaded) {
  testing::TempDir dir;
  const std::string file = dir.File("master.key");
  Result<std::string> first = LoadOrCreateMasterKey("", file);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->size(), 32u);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  Result<std::string> again = LoadOrCreateMasterKey("", file);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *first);
}

TEST(MasterKey, RefusesAFileOthersCanRead) {
  testing::TempDir dir;
  const std::string file = dir.File("master.key");
  ASSERT_TRUE(LoadOrCreateMasterKey("", file));
  ::chmod(file.c_str(), 0644);
  Result<std::string> key = LoadOrCreateMasterKey("", file);
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code, ErrorCode::kInvalidParameter);
}

TEST(MasterKey, EnvironmentValueWinsAndIsValidated) {
  testing::TempDir dir;
  Result<std::string> key = LoadOrCreateMasterKey(std::string(64, 'a'), dir.File("unused"));
  ASSERT_TRUE(key);
  EXPECT_EQ(*key, std::string(32, '\xaa'));
  for (std::string bad : {std::string(63, 'a'), std::string(64, 'g'), std::string("zz")}) {
    Result<std::string> r = LoadOrCreateMasterKey(bad, dir.File("unused"));
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
  }
}

}  // namespace
}  // namespace certplan::pki
