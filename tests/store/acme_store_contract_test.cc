// The contract of acme::AcmeStore: EAB keys, ACME accounts bound through them (single use and
// revocation checked atomically), the ACME view of orders, shared secrets.
// Runs over SQLite and PostgreSQL (tests/store/store_backends.h).
#include <atomic>
#include <thread>
#include <vector>

#include "store/store_backends.h"

namespace certplan::store {
namespace {

using AcmeStoreContract = StoreBackendTest;

constexpr int64_t kMax = acme::kDefaultMaxAccountsPerEabKey;

acme::EabKey Key(const std::string& id, bool single_use = false) {
  acme::EabKey k;
  k.key_id = id;
  k.account_id = 1001;
  k.product_code = "digicert-free-1-free";
  k.sealed_hmac_key = std::string("\x00\x01sealed\xff", 9);
  k.single_use = single_use;
  k.names = {"*.example.com", "host.example.org"};
  k.created_at = 10;
  return k;
}

acme::AcmeAccount Account(const std::string& thumbprint, const std::string& key_id) {
  acme::AcmeAccount a;
  a.thumbprint = thumbprint;
  a.jwk_json = R"({"kty":"EC"})";
  a.eab_key_id = key_id;
  a.account_id = 1001;
  a.product_code = "digicert-free-1-free";
  a.created_at = 20;
  return a;
}

TEST_P(AcmeStoreContract, EabKeysRoundTripAndRevoke) {
  ASSERT_TRUE(acme_->InsertEabKey(Key("k1")));
  Status dup = acme_->InsertEabKey(Key("k1"));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kParamRepeat);
  Result<std::optional<acme::EabKey>> found = acme_->FindEabKey("k1");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->sealed_hmac_key, Key("k1").sealed_hmac_key);
  EXPECT_EQ((*found)->names, Key("k1").names);
  EXPECT_FALSE((*found)->revoked);
  EXPECT_FALSE(*acme_->FindEabKey("nope"));
  EXPECT_TRUE(*acme_->RevokeEabKey("k1"));
  EXPECT_FALSE(*acme_->RevokeEabKey("nope"));
  EXPECT_TRUE((*acme_->FindEabKey("k1"))->revoked);
}

TEST_P(AcmeStoreContract, AccountsBindThroughLiveKeysOnly) {
  ASSERT_TRUE(acme_->InsertEabKey(Key("multi")));
  ASSERT_TRUE(acme_->InsertEabKey(Key("once", /*single_use=*/true)));
  Result<acme::AcmeAccount> a = acme_->CreateAcmeAccount(Account("tp-a", "multi"), kMax);
  ASSERT_TRUE(a);
  EXPECT_GT(a->id, 0);
  Result<acme::AcmeAccount> b = acme_->CreateAcmeAccount(Account("tp-b", "multi"), kMax);
  ASSERT_TRUE(b);
  EXPECT_NE(a->id, b->id);
  // The same key again: the existing account, nothing stored.
  Result<acme::AcmeAccount> again = acme_->CreateAcmeAccount(Account("tp-a", "multi"), kMax);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->id, a->id);
  ASSERT_TRUE(acme_->CreateAcmeAccount(Account("tp-c", "once"), kMax));
  Result<acme::AcmeAccount> second = acme_->CreateAcmeAccount(Account("tp-d", "once"), kMax);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kOrderStateError);
  ASSERT_TRUE(*acme_->RevokeEabKey("multi"));
  Result<acme::AcmeAccount> revoked = acme_->CreateAcmeAccount(Account("tp-e", "multi"), kMax);
  ASSERT_FALSE(revoked);
  EXPECT_EQ(revoked.error().code, ErrorCode::kOrderStateError);
  EXPECT_FALSE(*acme_->FindAcmeAccountByThumbprint("tp-e"));
  Result<std::vector<acme::EabKeyUsage>> list = acme_->ListEabKeys(1001);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ(
      (*list)[0].key.key_id == "multi" ? (*list)[0].accounts.size() : (*list)[1].accounts.size(),
      2u);
}

TEST_P(AcmeStoreContract, AKeyBindsAtMostItsLimitOfAccounts) {
  ASSERT_TRUE(acme_->InsertEabKey(Key("capped")));
  ASSERT_TRUE(acme_->CreateAcmeAccount(Account("tp-1", "capped"), 2));
  Result<acme::AcmeAccount> second = acme_->CreateAcmeAccount(Account("tp-2", "capped"), 2);
  ASSERT_TRUE(second);
  second->deactivated = true;  // a deactivated account still counts
  ASSERT_TRUE(acme_->UpdateAcmeAccount(*second));
  Result<acme::AcmeAccount> third = acme_->CreateAcmeAccount(Account("tp-3", "capped"), 2);
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code, ErrorCode::kOrderStateError);
  EXPECT_NE(third.error().message.find("limits.acme_accounts_per_eab_key"), std::string::npos);
  EXPECT_FALSE(*acme_->FindAcmeAccountByThumbprint("tp-3"));
  // An account the key already bound is still found at the limit.
  Result<acme::AcmeAccount> again = acme_->CreateAcmeAccount(Account("tp-1", "capped"), 2);
  ASSERT_TRUE(again);
  // A higher limit lets the key bind more.
  EXPECT_TRUE(acme_->CreateAcmeAccount(Account("tp-3", "capped"), 3));
}

TEST_P(AcmeStoreContract, Issue13_SingleUseKeyBindsOnceUnderRace) {
  ASSERT_TRUE(acme_->InsertEabKey(Key("race", /*single_use=*/true)));
  std::vector<std::thread> threads;
  std::atomic<int> bound{0};
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      if (acme_->CreateAcmeAccount(Account("tp-race-" + std::to_string(i), "race"), kMax)) ++bound;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(bound.load(), 1);
}

TEST_P(AcmeStoreContract, AccountUpdatesAndKeyClash) {
  ASSERT_TRUE(acme_->InsertEabKey(Key("k")));
  Result<acme::AcmeAccount> a = acme_->CreateAcmeAccount(Account("tp-1", "k"), kMax);
  Result<acme::AcmeAccount> b = acme_->CreateAcmeAccount(Account("tp-2", "k"), kMax);
  ASSERT_TRUE(a && b);
  a->contact_json = R"(["mailto:a@example.com"])";
  a->deactivated = true;
  a->thumbprint = "tp-3";
  ASSERT_TRUE(acme_->UpdateAcmeAccount(*a));
  Result<std::optional<acme::AcmeAccount>> read = acme_->FindAcmeAccount(a->id);
  ASSERT_TRUE(read && *read);
  EXPECT_TRUE((*read)->deactivated);
  EXPECT_EQ((*read)->contact_json, a->contact_json);
  EXPECT_EQ((*acme_->FindAcmeAccountByThumbprint("tp-3"))->id, a->id);
  b->thumbprint = "tp-3";
  Status clash = acme_->UpdateAcmeAccount(*b);
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().code, ErrorCode::kParamRepeat);
}

TEST_P(AcmeStoreContract, OrdersBySameNamesAndAccount) {
  ASSERT_TRUE(acme_->InsertAcmeOrder(acme::AcmeOrder{11, 1, "a.example.com", "[]", 100}));
  ASSERT_TRUE(acme_->InsertAcmeOrder(acme::AcmeOrder{12, 1, "a.example.com", "[]", 200}));
  ASSERT_TRUE(acme_->InsertAcmeOrder(acme::AcmeOrder{13, 2, "a.example.com", "[]", 300}));
  EXPECT_EQ(*acme_->AcmeOrdersWithNames(1, "a.example.com", 5), (std::vector<int64_t>{12, 11}));
  EXPECT_EQ(*acme_->AcmeOrdersWithNames(1, "a.example.com", 1), (std::vector<int64_t>{12}));
  EXPECT_TRUE(acme_->AcmeOrdersWithNames(1, "b.example.com", 5)->empty());
  EXPECT_EQ(*acme_->AcmeAccountOrders(2, 5), (std::vector<int64_t>{13}));
  ASSERT_TRUE(acme_->UpdateAcmeOrderAuthz(11, R"([{"s":"valid"}])"));
  EXPECT_EQ((*acme_->FindAcmeOrder(11))->authz_json, R"([{"s":"valid"}])");
  EXPECT_FALSE(*acme_->FindAcmeOrder(99));
  EXPECT_FALSE(*acme_->AcmeOrderIdBySerial("00ff"));
}

TEST_P(AcmeStoreContract, SharedSecretFirstWriterWins) {
  Result<std::string> first = acme_->AcmeSharedSecret("nonce_key", std::string("one\x00\xff", 5));
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, std::string("one\x00\xff", 5));
  Result<std::string> second = acme_->AcmeSharedSecret("nonce_key", "two");
  ASSERT_TRUE(second);
  EXPECT_EQ(*second, *first);
}

INSTANTIATE_TEST_SUITE_P(Backends, AcmeStoreContract, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace certplan::store
