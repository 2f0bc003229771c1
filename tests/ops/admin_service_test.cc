// ops::AdminService over a real SQLite store: operator tokens (hashing, authentication,
// revocation) and plan grants with idempotency keys.
#include "ops/admin_service.h"

#include <gtest/gtest.h>

#include "ops/operator_tokens.h"
#include "pki/secret_box.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/temp_dir.h"

namespace certplan::ops {
namespace {

class AdminServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<store::sqlite::SqliteStore>> s =
        store::sqlite::SqliteStore::Open(dir_.File("db"));
    ASSERT_TRUE(s);
    store_ = std::move(*s);
    Result<std::unique_ptr<pki::SecretBox>> box = pki::SecretBox::Create(std::string(32, 'k'));
    ASSERT_TRUE(box);
    box_ = std::move(*box);
    identities_ = std::make_unique<iam::Identities>(*store_, *box_, clock_);
    plans_ = std::make_unique<cas::Plans>(*store_, clock_);
    audit_ = std::make_unique<AuditTrail>(*store_, clock_);
    service_ = std::make_unique<AdminService>(*identities_, *store_, *plans_, *store_, *store_,
                                              *audit_, clock_);
    Result<iam::NewAccount> account = service_->CreateAccount(Actor::Cli(), "billing-test");
    ASSERT_TRUE(account);
    account_ = account->account.id;
  }

  GrantRequest Grant(const char* key, int64_t count = 5) {
    return GrantRequest{account_, "digicert-free-1-free", count, std::nullopt, key};
  }
  size_t PlanCount() { return store_->ListPlans(account_)->size(); }

  testing::TempDir dir_;
  FakeClock clock_{1'800'000'000};
  std::unique_ptr<store::sqlite::SqliteStore> store_;
  std::unique_ptr<pki::SecretBox> box_;
  std::unique_ptr<iam::Identities> identities_;
  std::unique_ptr<cas::Plans> plans_;
  std::unique_ptr<AuditTrail> audit_;
  std::unique_ptr<AdminService> service_;
  int64_t account_ = 0;
};

TEST(OperatorTokens, HaveTheDocumentedShapeAndAreNeverRepeated) {
  TokenParts a = NewOperatorToken();
  TokenParts b = NewOperatorToken();
  EXPECT_NE(a.token, b.token);
  EXPECT_EQ(a.token.size(), 4u + 16u + 1u + 43u);
  EXPECT_TRUE(a.token.starts_with("cpo_" + a.id + "_"));
  EXPECT_EQ(OperatorTokenId(a.token), a.id);
  EXPECT_EQ(HashOperatorToken(a.token).size(), 64u);
  EXPECT_TRUE(OperatorTokenMatches(a.token, HashOperatorToken(a.token)));
  EXPECT_FALSE(OperatorTokenMatches(b.token, HashOperatorToken(a.token)));
}

TEST(OperatorTokens, MalformedTokensHaveNoId) {
  const std::string good = NewOperatorToken().token;
  for (std::string bad : {std::string(), std::string("cpo_"), good.substr(1), good + "x",
                          "xpo_" + good.substr(4), good.substr(0, 20) + "-" + good.substr(21)}) {
    EXPECT_FALSE(OperatorTokenId(bad)) << bad;
  }
  std::string upper_id = good;
  upper_id[4] = 'A';  // ids are lower-case
  EXPECT_FALSE(OperatorTokenId(upper_id));
}

TEST_F(AdminServiceTest, ATokenIsStoredOnlyAsItsHashAndAuthenticates) {
  Result<NewOperatorTokenInfo> created = service_->CreateOperatorToken(Actor::Cli(), "billing");
  ASSERT_TRUE(created);
  EXPECT_EQ(created->record.token_hash, HashOperatorToken(created->token));
  Result<std::vector<OperatorTokenRecord>> listed = service_->ListOperatorTokens(Actor::Cli());
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, created->record.id);
  EXPECT_EQ((*listed)[0].name, "billing");
  EXPECT_EQ((*listed)[0].token_hash.find(created->token), std::string::npos);
  EXPECT_FALSE((*listed)[0].last_used_at);

  Result<Actor> who = service_->AuthenticateOperator(created->token);
  ASSERT_TRUE(who);
  EXPECT_EQ(who->kind, Actor::Kind::kOperatorToken);
  EXPECT_EQ(who->token_id, created->record.id);
  EXPECT_EQ(*(*store_->FindOperatorToken(created->record.id))->last_used_at, clock_.NowSeconds());
}

TEST_F(AdminServiceTest, LastUseIsRecordedAtMostOnceAMinute) {
  Result<NewOperatorTokenInfo> created = service_->CreateOperatorToken(Actor::Cli(), "billing");
  ASSERT_TRUE(created);
  const int64_t start = clock_.NowSeconds();
  ASSERT_TRUE(service_->AuthenticateOperator(created->token));
  clock_.Advance(30);
  ASSERT_TRUE(service_->AuthenticateOperator(created->token));
  EXPECT_EQ(*(*store_->FindOperatorToken(created->record.id))->last_used_at, start);
  clock_.Advance(30);
  ASSERT_TRUE(service_->AuthenticateOperator(created->token));
  EXPECT_EQ(*(*store_->FindOperatorToken(created->record.id))->last_used_at, start + 60);
}

TEST_F(AdminServiceTest, MissingMalformedUnknownAndRevokedTokensAreRefused) {
  Result<NewOperatorTokenInfo> created = service_->CreateOperatorToken(Actor::Cli(), "billing");
  ASSERT_TRUE(created);
  std::string wrong_secret = created->token;
  wrong_secret.back() = wrong_secret.back() == 'a' ? 'b' : 'a';
  const std::string unknown = NewOperatorToken().token;
  for (const std::string& bad :
       {std::string(), std::string("not-a-token"), wrong_secret, unknown}) {
    Result<Actor> who = service_->AuthenticateOperator(bad);
    ASSERT_FALSE(who) << bad;
    EXPECT_EQ(who.error().code, ErrorCode::kInvalidOperatorToken) << bad;
  }
  Result<OperatorTokenRecord> revoked =
      service_->RevokeOperatorToken(Actor::Cli(), created->record.id);
  ASSERT_TRUE(revoked);
  EXPECT_TRUE(revoked->revoked_at);
  Result<Actor> after = service_->AuthenticateOperator(created->token);
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code, ErrorCode::kInvalidOperatorToken);
}

TEST_F(AdminServiceTest, BadTokenNamesAndUnknownRevocationsAreRefused) {
  for (const char* bad : {"", "has space", "ü"}) {
    Result<NewOperatorTokenInfo> r = service_->CreateOperatorToken(Actor::Cli(), bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
  }
  ASSERT_TRUE(service_->CreateOperatorToken(Actor::Cli(), "billing"));
  Result<NewOperatorTokenInfo> twin = service_->CreateOperatorToken(Actor::Cli(), "billing");
  ASSERT_FALSE(twin);
  EXPECT_EQ(twin.error().code, ErrorCode::kInvalidParameter);
  EXPECT_EQ(service_->ListOperatorTokens(Actor::Cli())->size(), 1u);
  Result<OperatorTokenRecord> unknown = service_->RevokeOperatorToken(Actor::Cli(), "nosuchid");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
}

TEST_F(AdminServiceTest, ARetryWithTheSameKeyAndRequestGrantsOnce) {
  Result<GrantOutcome> first = service_->GrantPlan(Actor::Token("t1"), Grant("order-1001"));
  ASSERT_TRUE(first);
  EXPECT_FALSE(first->replayed);
  Result<GrantOutcome> retry = service_->GrantPlan(Actor::Token("t1"), Grant("order-1001"));
  ASSERT_TRUE(retry);
  EXPECT_TRUE(retry->replayed);
  EXPECT_EQ(retry->plan.id, first->plan.id);
  EXPECT_EQ(retry->plan.granted_at, first->plan.granted_at);
  EXPECT_EQ(PlanCount(), 1u);
  EXPECT_EQ(plans_->Describe(account_, "digicert-free-1-free")->total, 5);
}

TEST_F(AdminServiceTest, ARetryAfterTheRequestedExpiryStillGetsTheFirstAnswer) {
  GrantRequest r = Grant("order-exp");
  r.expires_at = clock_.NowSeconds() + 100;
  ASSERT_TRUE(service_->GrantPlan(Actor::Cli(), r));
  clock_.Advance(200);
  Result<GrantOutcome> retry = service_->GrantPlan(Actor::Cli(), r);
  ASSERT_TRUE(retry);
  EXPECT_TRUE(retry->replayed);
  EXPECT_EQ(PlanCount(), 1u);
}

TEST_F(AdminServiceTest, TheSameKeyWithAnotherRequestIsAMismatchAndGrantsNothing) {
  ASSERT_TRUE(service_->GrantPlan(Actor::Cli(), Grant("order-7", 5)));
  GrantRequest other_product = Grant("order-7", 5);
  other_product.product_code = "geotrust-dv-1-starter";
  GrantRequest other_expiry = Grant("order-7", 5);
  other_expiry.expires_at = clock_.NowSeconds() + 1000;
  for (const GrantRequest& r : {Grant("order-7", 6), other_product, other_expiry}) {
    Result<GrantOutcome> clash = service_->GrantPlan(Actor::Cli(), r);
    ASSERT_FALSE(clash);
    EXPECT_EQ(clash.error().code, ErrorCode::kIdempotentParameterMismatch);
  }
  // Another account with the key: also a mismatch (keys are global).
  Result<iam::NewAccount> b = service_->CreateAccount(Actor::Cli(), "other");
  ASSERT_TRUE(b);
  GrantRequest elsewhere = Grant("order-7", 5);
  elsewhere.account_id = b->account.id;
  Result<GrantOutcome> clash = service_->GrantPlan(Actor::Cli(), elsewhere);
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().code, ErrorCode::kIdempotentParameterMismatch);
  EXPECT_EQ(PlanCount(), 1u);
  EXPECT_EQ(store_->ListPlans(b->account.id)->size(), 0u);
}

TEST_F(AdminServiceTest, RefusedGrantsRecordNoKeySoAFixedRetrySucceeds) {
  GrantRequest unknown = Grant("order-9");
  unknown.account_id = 42;
  Result<GrantOutcome> r = service_->GrantPlan(Actor::Cli(), unknown);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
  Result<GrantOutcome> zero = service_->GrantPlan(Actor::Cli(), Grant("order-9", 0));
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().code, ErrorCode::kInvalidParameter);
  EXPECT_FALSE(store_->FindPlanGrant("order-9")->has_value());
  EXPECT_EQ(PlanCount(), 0u);
  Result<GrantOutcome> fixed = service_->GrantPlan(Actor::Cli(), Grant("order-9", 3));
  ASSERT_TRUE(fixed);
  EXPECT_FALSE(fixed->replayed);
}

TEST_F(AdminServiceTest, BadIdempotencyKeysAreRefused) {
  for (std::string bad : {std::string("has space"), std::string(129, 'k'), std::string("a/b")}) {
    Result<GrantOutcome> r = service_->GrantPlan(Actor::Cli(), Grant(bad.c_str()));
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
  }
  EXPECT_EQ(PlanCount(), 0u);
  EXPECT_TRUE(service_->GrantPlan(Actor::Cli(), Grant(std::string(128, 'k').c_str())));
}

TEST_F(AdminServiceTest, WithoutAKeyEveryGrantIsNew) {
  ASSERT_TRUE(service_->GrantPlan(Actor::Cli(), Grant("")));
  ASSERT_TRUE(service_->GrantPlan(Actor::Cli(), Grant("")));
  EXPECT_EQ(PlanCount(), 2u);
}

TEST_F(AdminServiceTest, RequireAccountNamesAMissingAccount) {
  EXPECT_TRUE(service_->RequireAccount(account_));
  Status missing = service_->RequireAccount(42);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kAccountNotFound);
}

// Audit (issue #15 item 2): each change leaves one record in its transaction, naming the actor;
// a refusal for an existing account leaves one with its Code; reads leave none.
TEST_F(AdminServiceTest, EveryChangeIsRecordedOnceWithItsActorAndRefusalsWithTheirCode) {
  auto records = [&] {
    Result<AuditPage> page = audit_->Read(account_, 0, clock_.NowSeconds() + 1, std::nullopt, 100);
    EXPECT_TRUE(page);
    return page ? page->records : std::vector<audit::Record>{};
  };
  const size_t before = records().size();  // the account's creation
  ASSERT_EQ(before, 1u);
  Actor billing = Actor::Token("tok1");
  billing.source_ip = "10.0.0.7";
  billing.request_id = "REQ-1";
  Result<GrantOutcome> granted = service_->GrantPlan(billing, Grant("inv-1"));
  ASSERT_TRUE(granted);
  ASSERT_TRUE(service_->GrantPlan(billing, Grant("inv-1")));  // a replay grants nothing …
  ASSERT_TRUE(service_->ListPlans(billing, account_));        // … and reads are not recorded
  std::vector<audit::Record> r = records();
  ASSERT_EQ(r.size(), before + 1);
  EXPECT_EQ(r.back().actor.type, audit::PrincipalType::kOperator);
  EXPECT_EQ(r.back().actor.principal, "tok1");
  EXPECT_EQ(r.back().actor.source_ip, "10.0.0.7");
  EXPECT_EQ(r.back().actor.request_id, "REQ-1");
  EXPECT_EQ(r.back().actor.action, "admin plan grant");
  EXPECT_EQ(r.back().object_type, "PlanId");
  EXPECT_EQ(r.back().object_id, std::to_string(granted->plan.id));
  EXPECT_EQ(r.back().result, "OK");
  // A refused grant (Count 0) for this account: one record with the wire Code, no plan.
  EXPECT_FALSE(service_->GrantPlan(Actor::Cli(), Grant("inv-2", 0)));
  r = records();
  ASSERT_EQ(r.size(), before + 2);
  EXPECT_EQ(r.back().actor.type, audit::PrincipalType::kCli);
  EXPECT_EQ(r.back().result, "InvalidParameter");
  // A user, a key for it, a policy attached: one record each.
  ASSERT_TRUE(service_->CreateUser(Actor::Cli(), account_, "alice"));
  ASSERT_TRUE(service_->CreateKey(Actor::Cli(), account_, "alice"));
  ASSERT_TRUE(
      service_->AttachPolicy(Actor::Cli(), account_, "alice", "AliyunYundunCertFullAccess"));
  r = records();
  ASSERT_EQ(r.size(), before + 5);
  EXPECT_EQ(r[before + 2].actor.action, "admin user create");
  EXPECT_EQ(r[before + 3].actor.action, "admin key create");
  EXPECT_EQ(r[before + 4].actor.action, "admin policy attach");
  // A taken user name: refused, recorded once.
  EXPECT_FALSE(service_->CreateUser(Actor::Cli(), account_, "alice"));
  ASSERT_EQ(records().size(), before + 6);
  EXPECT_NE(records().back().result, "OK");
}

}  // namespace
}  // namespace certplan::ops
