// The contract of ops::AuditLog and of the audit records the domain's ports store with their
// changes: every write lands with its record in one transaction (a refused write leaves none,
// a failing record insert undoes the change), reads page by (time, id) per account, pruning is
// bounded, fsck's check finds an order without its record. Runs over SQLite and PostgreSQL
// (tests/store/store_backends.h).
#include <limits>

#include "store/store_backends.h"
#include "testing/audit_for_test.h"

namespace certplan::store {
namespace {

using AuditLogContract = StoreBackendTest;

constexpr const char* kCode = "geotrust-dv-1-starter";

audit::Record RecordOf(int64_t account, int64_t time, std::string action,
                       std::string object_type = "", std::string object_id = "",
                       std::string result = "OK") {
  audit::Record r;
  r.time = time;
  r.account_id = account;
  r.actor = audit::Actor{
      audit::PrincipalType::kRamUser, "ci", "LTAIci", "127.0.0.1", "req-1", std::move(action)};
  r.object_type = std::move(object_type);
  r.object_id = std::move(object_id);
  r.result = std::move(result);
  return r;
}

class AuditLogTest : public AuditLogContract {
 protected:
  // Every record of `account`, oldest first.
  std::vector<audit::Record> All(int64_t account) {
    ops::AuditQuery q;
    q.account_id = account;
    q.limit = 10'000;
    Result<std::vector<audit::Record>> rows = audit_log_->ReadAudit(q);
    EXPECT_TRUE(rows) << rows.error().detail;
    return rows ? *rows : std::vector<audit::Record>{};
  }
  std::vector<std::string> Actions(int64_t account) {
    std::vector<std::string> out;
    for (const audit::Record& r : All(account)) out.push_back(r.actor.action);
    return out;
  }
  // A fault point in the database: every insert into the trail fails.
  void BreakAuditInserts() {
    if (GetParam() == "sqlite") {
      Tamper(
          "CREATE TRIGGER audit_fault BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, "
          "'injected fault'); END");
    } else {
      Tamper(
          "CREATE FUNCTION audit_fault() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE "
          "EXCEPTION 'injected fault'; END $$; CREATE TRIGGER audit_fault BEFORE INSERT ON "
          "audit_log FOR EACH ROW EXECUTE FUNCTION audit_fault()");
    }
  }
};

TEST_P(AuditLogTest, AppendedRecordsRoundTripAndPageByTimeThenId) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(audit_log_->AppendAudit(RecordOf(1001, 100 + i / 2, "a" + std::to_string(i))));
  }
  ASSERT_TRUE(audit_log_->AppendAudit(RecordOf(2002, 100, "foreign")));
  ASSERT_TRUE(audit_log_->AppendAudit(RecordOf(1001, 50, "earlier", "OrderId", "7", "Denied")));
  std::vector<audit::Record> all = All(1001);
  ASSERT_EQ(all.size(), 6u);
  const audit::Record& first = all.front();
  EXPECT_EQ(first.actor.action, "earlier");
  EXPECT_EQ(first.time, 50);
  EXPECT_EQ(first.account_id, 1001);
  EXPECT_EQ(first.actor.type, audit::PrincipalType::kRamUser);
  EXPECT_EQ(first.actor.principal, "ci");
  EXPECT_EQ(first.actor.access_key_id, "LTAIci");
  EXPECT_EQ(first.actor.source_ip, "127.0.0.1");
  EXPECT_EQ(first.actor.request_id, "req-1");
  EXPECT_EQ(first.object_type, "OrderId");
  EXPECT_EQ(first.object_id, "7");
  EXPECT_EQ(first.result, "Denied");
  EXPECT_EQ(Actions(2002), std::vector<std::string>{"foreign"});

  // Pages of two inside [100, 102): records sharing a second are neither repeated nor skipped.
  ops::AuditQuery q;
  q.account_id = 1001;
  q.since = 100;
  q.until = 102;
  q.after_time = 100;
  q.limit = 2;
  std::vector<std::string> seen;
  for (int page = 0; page < 5; ++page) {
    Result<std::vector<audit::Record>> rows = audit_log_->ReadAudit(q);
    ASSERT_TRUE(rows);
    for (const audit::Record& r : *rows) seen.push_back(r.actor.action);
    if (rows->size() < 2) break;
    q.after_time = rows->back().time;
    q.after_id = rows->back().id;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"a0", "a1", "a2", "a3"}));
}

TEST_P(AuditLogTest, EveryWriteOfThePortsStoresItsRecordWithTheChange) {
  ASSERT_TRUE(identities_->CreateAccount(3003, "c", 10, RecordOf(3003, 10, "account")));
  ASSERT_TRUE(identities_->InsertAccessKey(iam::AccessKey{"LTAIk", 3003, "", "s", true, 10},
                                           nullptr));  // recorded with the account
  audit::Record key = RecordOf(3003, 11, "key", "AccessKeyId", "LTAIk2");
  ASSERT_TRUE(
      identities_->InsertAccessKey(iam::AccessKey{"LTAIk2", 3003, "", "s", true, 11}, &key));
  ASSERT_TRUE(*identities_->SetAccessKeyEnabled("LTAIk2", false, RecordOf(3003, 12, "disable")));
  ASSERT_TRUE(identities_->CreateUser(iam::User{3003, "ci", 13}, RecordOf(3003, 13, "user")));
  ASSERT_TRUE(identities_->CreatePolicy(iam::PolicyRecord{3003, "p", "{}", 14},
                                        RecordOf(3003, 14, "policy")));
  ASSERT_TRUE(identities_->AttachPolicy(3003, "ci", "p", false, RecordOf(3003, 15, "attach")));
  ASSERT_TRUE(*identities_->DetachPolicy(3003, "ci", "p", RecordOf(3003, 16, "detach")));
  ASSERT_TRUE(identities_->DeleteUser(3003, "ci", RecordOf(3003, 17, "deluser")));
  Result<cas::Plan> plan = plans_->GrantPlan(cas::Plan{0, 3003, kCode, 2, 18, std::nullopt},
                                             RecordOf(3003, 18, "grant", "PlanId"));
  ASSERT_TRUE(plan);
  cas::Order fresh = NewOrder(3003, kCode);
  Result<cas::Order> order =
      orders_->CreateOrder(fresh, 100, RecordOf(3003, 100, "create", "OrderId"));
  ASSERT_TRUE(order);
  Result<cas::Transition> cancel = cas::CancelOrder(*order, 101);
  ASSERT_TRUE(cancel);
  cancel->audit = RecordOf(3003, 101, "cancel", "OrderId", std::to_string(order->id));
  ASSERT_TRUE(orders_->ApplyTransition(*cancel, cas::OrderStatus::kDomainVerify));
  cas::Certificate upload;
  upload.account_id = 3003;
  upload.name = "site";
  upload.upload = true;
  upload.chain_pem = "pem";
  upload.fingerprint = upload.sha256 = upload.serial = upload.algorithm = "x";
  Result<cas::Certificate> stored =
      certificates_->InsertUpload(upload, RecordOf(3003, 102, "upload", "CertId"), 10);
  ASSERT_TRUE(stored);
  ASSERT_TRUE(*certificates_->DeleteCertificate(
      3003, stored->id, RecordOf(3003, 103, "delcert", "CertId", std::to_string(stored->id))));

  std::vector<audit::Record> all = All(3003);
  EXPECT_EQ(Actions(3003), (std::vector<std::string>{"account", "key", "disable", "user", "policy",
                                                     "attach", "detach", "deluser", "grant",
                                                     "create", "cancel", "upload", "delcert"}));
  ASSERT_EQ(all.size(), 13u);
  // Ids the store assigns are named by the records it stores with them.
  EXPECT_EQ(all[0].object_id, "3003");
  EXPECT_EQ(all[8].object_id, std::to_string(plan->id));
  EXPECT_EQ(all[9].object_id, std::to_string(order->id));
  EXPECT_EQ(all[11].object_id, std::to_string(stored->id));
  for (size_t i = 1; i < all.size(); ++i) EXPECT_GT(all[i].id, all[i - 1].id);
}

TEST_P(AuditLogTest, RefusedWritesLeaveNoRecord) {
  const size_t before = All(1001).size();
  Result<cas::Order> none =
      orders_->CreateOrder(NewOrder(1001, kCode), 100, RecordOf(1001, 1, "x"));
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kNotFoundPackage);
  ASSERT_TRUE(
      plans_->GrantPlan(cas::Plan{0, 1001, kCode, 1, 1, std::nullopt}, RecordOf(1001, 1, "grant")));
  Result<cas::Order> one = orders_->CreateOrder(NewOrder(1001, kCode), 100, RecordOf(1001, 1, "c"));
  ASSERT_TRUE(one);
  Result<cas::Order> over =
      orders_->CreateOrder(NewOrder(1001, kCode), 100, RecordOf(1001, 1, "x"));
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, ErrorCode::kNotRemainCount);
  Result<cas::Transition> cancel = cas::CancelOrder(*one, 101);
  cancel->audit = RecordOf(1001, 1, "x");
  Status stale = orders_->ApplyTransition(*cancel, cas::OrderStatus::kProcess);  // it is not
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, ErrorCode::kOrderStateError);
  EXPECT_FALSE(*certificates_->DeleteCertificate(1001, 12345, RecordOf(1001, 1, "x")));
  EXPECT_FALSE(*identities_->SetAccessKeyEnabled("LTAInone", false, RecordOf(1001, 1, "x")));
  EXPECT_FALSE(*identities_->DetachPolicy(1001, "nobody", "p", RecordOf(1001, 1, "x")));
  Status missing_user = identities_->DeleteUser(1001, "nobody", RecordOf(1001, 1, "x"));
  ASSERT_FALSE(missing_user);
  EXPECT_EQ(missing_user.error().code, ErrorCode::kInvalidParameter);
  ASSERT_TRUE(identities_->CreateUser(iam::User{1001, "ci", 1}, RecordOf(1001, 1, "user")));
  Status dup_user = identities_->CreateUser(iam::User{1001, "ci", 1}, RecordOf(1001, 1, "x"));
  ASSERT_FALSE(dup_user);
  EXPECT_EQ(dup_user.error().code, ErrorCode::kInvalidParameter);
  Status no_policy = identities_->AttachPolicy(1001, "ci", "nope", false, RecordOf(1001, 1, "x"));
  ASSERT_FALSE(no_policy);
  EXPECT_EQ(no_policy.error().code, ErrorCode::kInvalidParameter);
  Result<iam::Account> dup_account =
      identities_->CreateAccount(4004, "a", 1, RecordOf(1001, 1, "x"));
  ASSERT_FALSE(dup_account);
  EXPECT_EQ(dup_account.error().code, ErrorCode::kInvalidParameter);
  std::vector<std::string> actions = Actions(1001);
  ASSERT_EQ(actions.size(), before + 3);
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "x"), 0);
}

// The crash/consistency property with a real fault: when the record cannot be written, the
// change it describes does not happen either (the transaction is one).
TEST_P(AuditLogTest, AFailingRecordInsertUndoesTheChange) {
  ASSERT_TRUE(
      plans_->GrantPlan(cas::Plan{0, 1001, kCode, 5, 1, std::nullopt}, RecordOf(1001, 1, "grant")));
  Result<cas::Order> order =
      orders_->CreateOrder(NewOrder(1001, kCode), 100, RecordOf(1001, 1, "c"));
  ASSERT_TRUE(order);
  BreakAuditInserts();

  Result<cas::Order> refused =
      orders_->CreateOrder(NewOrder(1001, kCode), 100, RecordOf(1001, 2, "c"));
  EXPECT_FALSE(refused);
  EXPECT_EQ(plans_->GetPackageCounters(1001, kCode, 100)->used, 1);  // the quota take undone
  EXPECT_EQ(orders_->ListOrders(1001, cas::OrderQuery{})->total, 1);
  Result<cas::Transition> cancel = cas::CancelForPackage(*order, 101);
  cancel->audit = RecordOf(1001, 3, "cancel");
  EXPECT_FALSE(orders_->ApplyTransition(*cancel, cas::OrderStatus::kDomainVerify));
  EXPECT_EQ((*orders_->FindOrder(1001, order->id))->status, cas::OrderStatus::kDomainVerify);
  EXPECT_EQ(plans_->GetPackageCounters(1001, kCode, 100)->used, 1);
  EXPECT_FALSE(
      plans_->GrantPlan(cas::Plan{0, 1001, kCode, 5, 1, std::nullopt}, RecordOf(1001, 4, "grant")));
  EXPECT_EQ(plans_->ListPlans(1001)->size(), 1u);
  EXPECT_FALSE(identities_->CreateUser(iam::User{1001, "ci", 1}, RecordOf(1001, 5, "user")));
  EXPECT_FALSE(*identities_->UserExists(1001, "ci"));
  EXPECT_FALSE(identities_->CreateAccount(5005, "e", 1, RecordOf(5005, 6, "account")));
  EXPECT_FALSE(*identities_->FindAccount(5005));
  EXPECT_TRUE(audit_->AuditCounters()->empty());
  EXPECT_EQ(Actions(1001), (std::vector<std::string>{"grant", "c"}));
}

TEST_P(AuditLogTest, PruningDeletesOnlyOldRecordsInBoundedBatches) {
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(audit_log_->AppendAudit(RecordOf(1001, 10 + i, "old")));
  ASSERT_TRUE(audit_log_->AppendAudit(RecordOf(1001, 100, "new")));
  // Nine old records in all: the two of the fixture's accounts (time 1) and these seven.
  Result<int64_t> first = audit_log_->PruneAudit(50, 3);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, 3);
  EXPECT_EQ(All(1001).front().time, 11);  // oldest first
  EXPECT_EQ(*audit_log_->PruneAudit(50, 4), 4);
  EXPECT_EQ(All(1001).front().time, 15);
  EXPECT_EQ(*audit_log_->PruneAudit(50, 4), 2);
  EXPECT_EQ(*audit_log_->PruneAudit(50, 4), 0);
  EXPECT_EQ(Actions(1001), std::vector<std::string>{"new"});
}

TEST_P(AuditLogTest, AnOrderWithoutItsCreationRecordIsReported) {
  ASSERT_TRUE(
      plans_->GrantPlan(cas::Plan{0, 1001, kCode, 5, 1, std::nullopt}, RecordOf(1001, 1, "grant")));
  Result<cas::Order> a =
      orders_->CreateOrder(NewOrder(1001, kCode), 100, RecordOf(1001, 100, "c", "OrderId"));
  Result<cas::Order> b =
      orders_->CreateOrder(NewOrder(1001, kCode), 100, RecordOf(1001, 100, "c", "OrderId"));
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(audit_log_->OrdersWithoutCreationRecord(10)->empty());
  Tamper("DELETE FROM audit_log WHERE object_id = '" + std::to_string(b->id) + "'");
  EXPECT_EQ(*audit_log_->OrdersWithoutCreationRecord(10), std::vector<int64_t>{b->id});
}

TEST_P(AuditLogTest, RecordsCannotBeUpdated) {
  ASSERT_TRUE(audit_log_->AppendAudit(RecordOf(1001, 10, "kept")));
  const std::string sql = "UPDATE audit_log SET result = 'rewritten'";
  if (GetParam() == "sqlite") {
    Result<std::unique_ptr<sqlite::Connection>> raw = sqlite::Connection::Open(dir_.File("db"));
    ASSERT_TRUE(raw);
    EXPECT_FALSE((*raw)->Exec(sql));
  } else {
    Result<std::unique_ptr<postgres::PgConnection>> raw = postgres::PgConnection::Open(url_);
    ASSERT_TRUE(raw);
    EXPECT_FALSE((*raw)->Exec(sql));
  }
  EXPECT_EQ(All(1001).front().result, "OK");
}

INSTANTIATE_TEST_SUITE_P(Backends, AuditLogTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace certplan::store
