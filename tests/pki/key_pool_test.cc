#include "pki/key_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

namespace certplan::pki {
namespace {

// An authority whose keys are numbered, so the test can tell pooled keys from fresh ones.
class NumberedKeys : public Authority {
 public:
  Result<CsrFacts> InspectCsr(const std::string&) const override { return CsrFacts{}; }
  Result<CsrFacts> InspectCsrNamesInSan(const std::string&) const override { return CsrFacts{}; }
  Result<GeneratedKey> GenerateKey() const override {
    const int n = ++made_;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return GeneratedKey{"private-" + std::to_string(n), "public-" + std::to_string(n)};
  }
  Result<IssuedCertificate> Issue(const IssueRequest&) const override {
    return IssuedCertificate{};
  }
  const std::string& root_pem() const override { return root_; }
  mutable std::atomic<int> made_{0};
  std::string root_ = "root";
};

TEST(KeyPool, FillsToItsBoundAndNoFurther) {
  NumberedKeys inner;
  KeyPool pool(inner, 3);
  pool.WaitUntilFull();
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(pool.ready(), 3u);
  EXPECT_EQ(inner.made_.load(), 3);
}

TEST(KeyPool, ServesPooledKeysOldestFirstAndRefills) {
  NumberedKeys inner;
  KeyPool pool(inner, 2);
  pool.WaitUntilFull();
  EXPECT_EQ(pool.GenerateKey()->private_key_pem, "private-1");
  EXPECT_EQ(pool.GenerateKey()->public_key_pem, "public-2");
  pool.WaitUntilFull();
  EXPECT_EQ(pool.ready(), 2u);
  EXPECT_EQ(inner.made_.load(), 4);
}

TEST(KeyPool, AnEmptyPoolMakesTheKeyForTheCallerAndKeysAreNeverShared) {
  NumberedKeys inner;
  KeyPool pool(inner, 1);
  std::vector<std::string> seen;
  for (int i = 0; i < 20; ++i) seen.push_back(pool.GenerateKey()->private_key_pem);
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(std::unique(seen.begin(), seen.end()), seen.end());  // each key handed out once
}

TEST(KeyPool, ForwardsEverythingElse) {
  NumberedKeys inner;
  KeyPool pool(inner, 1);
  EXPECT_EQ(&pool.root_pem(), &inner.root_);
  EXPECT_TRUE(pool.Issue(IssueRequest{}));
  EXPECT_TRUE(pool.InspectCsr(""));
}

}  // namespace
}  // namespace certplan::pki
