#include "auth/authenticator.h"

#include <gtest/gtest.h>

#include "auth/canonical_request.h"
#include "auth/crypto.h"
#include "core/time_format.h"
#include "iam/identities.h"
#include "rpc/percent.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/audit_for_test.h"
#include "testing/temp_dir.h"

namespace certplan::auth {
namespace {

constexpr int64_t kNow = 1'768'465'800;  // 2026-01-15T08:30:00Z

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(*store::sqlite::SqliteStore::Open(dir_.File("db")));
    box_ = std::move(*pki::SecretBox::Create(std::string(32, 'm')));
    identities_ = std::make_unique<iam::Identities>(*store_, *box_, clock_);
    Result<iam::NewAccount> acct = identities_->CreateAccount("team", testing::TestActor());
    ASSERT_TRUE(acct);
    account_id_ = acct->account.id;
    key_ = acct->root_key;
    auth_ = std::make_unique<Authenticator>(*store_, *box_, replay_, clock_, AuthOptions{900});
  }

  // A V1 GET request signed with `secret`.
  rpc::Request SignedV1(std::string nonce, std::string timestamp, std::string secret = "",
                        std::string extra = "") {
    if (secret.empty()) secret = key_.access_key_secret;
    std::map<std::string, std::string> p = {{"AccessKeyId", key_.access_key_id},
                                            {"Action", "DescribePackageState"},
                                            {"Format", "JSON"},
                                            {"SignatureMethod", "HMAC-SHA1"},
                                            {"SignatureNonce", nonce},
                                            {"SignatureVersion", "1.0"},
                                            {"Timestamp", timestamp},
                                            {"Version", "2020-04-07"}};
    if (!extra.empty()) p[extra] = "token";
    ParamPairs pairs(p.begin(), p.end());
    const std::string canon = CanonicalizedQueryV1(pairs);
    const std::string sig = Base64HmacSha1(secret + "&", StringToSignV1("GET", canon));
    rpc::Request req;
    req.method = "GET";
    req.path = "/";
    req.query = canon + "&Signature=" + rpc::PercentEncode(sig);
    return req;
  }

  Result<iam::Principal> Run(const rpc::Request& req) {
    Result<rpc::Params> params = rpc::Params::Decode(req.query, "");
    EXPECT_TRUE(params);
    Result<SignedRequest> claim = ParseSignedRequest(req, *params);
    if (!claim) return claim.error();
    return auth_->Authenticate(*claim, req, *params);
  }

  static void ExpectCode(const Result<iam::Principal>& r, ErrorCode code) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, code) << r.error().message;
  }

  testing::TempDir dir_;
  FakeClock clock_{kNow};
  std::unique_ptr<store::sqlite::SqliteStore> store_;
  std::unique_ptr<pki::SecretBox> box_;
  std::unique_ptr<iam::Identities> identities_;
  MemoryReplayGuard replay_{10000};
  std::unique_ptr<Authenticator> auth_;
  int64_t account_id_ = 0;
  iam::IssuedKey key_;
};

TEST_F(AuthenticatorTest, ValidRequestYieldsTheKeysPrincipal) {
  Result<iam::Principal> p = Run(SignedV1("n1", FormatIso8601Utc(kNow)));
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->account_id, account_id_);
  EXPECT_TRUE(p->is_root());
  EXPECT_EQ(p->access_key_id, key_.access_key_id);
}

TEST_F(AuthenticatorTest, UnknownKey) {
  rpc::Request req = SignedV1("n1", FormatIso8601Utc(kNow));
  req.query.replace(req.query.find(key_.access_key_id), key_.access_key_id.size(), "LTAIunknown");
  ExpectCode(Run(req), ErrorCode::kAccessKeyNotFound);
}

TEST_F(AuthenticatorTest, DisabledKey) {
  ASSERT_TRUE(identities_->SetKeyEnabled(key_.access_key_id, false, testing::TestActor()));
  ExpectCode(Run(SignedV1("n1", FormatIso8601Utc(kNow))), ErrorCode::kAccessKeyInactive);
}

TEST_F(AuthenticatorTest, KeyCacheBoundsHowLateADisabledKeyIsAccepted) {
  ASSERT_TRUE(Run(SignedV1("n1", FormatIso8601Utc(kNow))));
  ASSERT_TRUE(identities_->SetKeyEnabled(key_.access_key_id, false, testing::TestActor()));
  // Within the cache's lifetime the key is still known as enabled …
  EXPECT_TRUE(Run(SignedV1("n2", FormatIso8601Utc(kNow))));
  // … and with no cache the change is seen at once.
  Authenticator uncached(*store_, *box_, replay_, clock_, AuthOptions{900, 0});
  rpc::Request req = SignedV1("n3", FormatIso8601Utc(kNow));
  Result<rpc::Params> params = rpc::Params::Decode(req.query, "");
  Result<SignedRequest> claim = ParseSignedRequest(req, *params);
  ExpectCode(uncached.Authenticate(*claim, req, *params), ErrorCode::kAccessKeyInactive);
}

TEST_F(AuthenticatorTest, WrongSecret) {
  ExpectCode(Run(SignedV1("n1", FormatIso8601Utc(kNow), "wrong")),
             ErrorCode::kSignatureDoesNotMatch);
}

TEST_F(AuthenticatorTest, SecurityTokenIsRefused) {
  ExpectCode(Run(SignedV1("n1", FormatIso8601Utc(kNow), "", "SecurityToken")),
             ErrorCode::kSecurityTokenMalformed);
}

TEST_F(AuthenticatorTest, TimestampFormatAndWindow) {
  ExpectCode(Run(SignedV1("n1", "2026-01-15T08:30:00.000Z")), ErrorCode::kInvalidTimestampFormat);
  ExpectCode(Run(SignedV1("n2", FormatIso8601Utc(kNow - 901))), ErrorCode::kTimestampExpired);
  ExpectCode(Run(SignedV1("n3", FormatIso8601Utc(kNow + 901))), ErrorCode::kTimestampExpired);
  EXPECT_TRUE(Run(SignedV1("n4", FormatIso8601Utc(kNow - 900))));
  EXPECT_TRUE(Run(SignedV1("n5", FormatIso8601Utc(kNow + 900))));
}

TEST_F(AuthenticatorTest, ReplayIsRefusedUntilTheTimestampExpires) {
  const rpc::Request req = SignedV1("n1", FormatIso8601Utc(kNow));
  ASSERT_TRUE(Run(req));
  ExpectCode(Run(req), ErrorCode::kSignatureNonceUsed);
  clock_.Advance(901);  // now the timestamp itself is refused
  ExpectCode(Run(req), ErrorCode::kTimestampExpired);
}

TEST_F(AuthenticatorTest, ForgedRequestDoesNotBurnTheNonce) {
  ExpectCode(Run(SignedV1("n1", FormatIso8601Utc(kNow), "wrong")),
             ErrorCode::kSignatureDoesNotMatch);
  EXPECT_TRUE(Run(SignedV1("n1", FormatIso8601Utc(kNow))));
}

}  // namespace
}  // namespace certplan::auth
