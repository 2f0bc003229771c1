#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "acme/acme_store.h"
#include "cas/certificate_store.h"
#include "cas/counter_audit_store.h"
#include "cas/order_store.h"
#include "cas/plan_store.h"
#include "cas/revocation_store.h"
#include "iam/identity_store.h"
#include "ops/audit_log.h"
#include "ops/metrics_store.h"
#include "ops/operator_store.h"
#include "store/sqlite/group_commit.h"
#include "store/sqlite/sqlite_handles.h"

namespace certplan::store::sqlite {

// The embedded store: one SQLite file in WAL mode. Connections come from a pool (one per
// concurrent caller); writes take SQLite's writer lock with BEGIN IMMEDIATE, so a
// check-and-update inside one transaction is atomic across threads and processes. Implements
// every port of the domain but the shared nonce window (one node per file keeps nonces in
// process memory).
class SqliteStore final : public iam::IdentityStore,
                          public cas::PlanStore,
                          public cas::OrderStore,
                          public cas::CounterAuditStore,
                          public cas::CertificateStore,
                          public cas::RevocationStore,
                          public ops::OperatorStore,
                          public ops::MetricsStore,
                          public ops::AuditLog,
                          public acme::AcmeStore {
 public:
  // Opens or creates `path` and applies migrations.
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path);

  // iam::IdentityStore
  Result<iam::Account> CreateAccount(int64_t id, std::string_view name, int64_t now,
                                     const audit::Record& audit) override;
  Result<std::optional<iam::Account>> FindAccount(int64_t id) override;
  Result<std::optional<iam::Account>> FindAccountByName(std::string_view name) override;
  Status InsertAccessKey(const iam::AccessKey& key, const audit::Record* audit) override;
  Result<std::optional<iam::AccessKey>> FindAccessKey(std::string_view id) override;
  Result<std::vector<iam::AccessKey>> ListAccessKeys(int64_t account_id) override;
  Result<bool> SetAccessKeyEnabled(std::string_view id, bool enabled,
                                   const audit::Record& audit) override;
  Status CreateUser(const iam::User& user, const audit::Record& audit) override;
  Result<std::vector<iam::User>> ListUsers(int64_t account_id) override;
  Result<bool> UserExists(int64_t account_id, std::string_view name) override;
  Status DeleteUser(int64_t account_id, std::string_view name, const audit::Record& audit) override;
  Status CreatePolicy(const iam::PolicyRecord& policy, const audit::Record& audit) override;
  Result<std::vector<iam::PolicyRecord>> ListPolicies(int64_t account_id) override;
  Status AttachPolicy(int64_t account_id, std::string_view user, std::string_view policy,
                      bool system, const audit::Record& audit) override;
  Result<bool> DetachPolicy(int64_t account_id, std::string_view user, std::string_view policy,
                            const audit::Record& audit) override;
  Result<std::vector<std::pair<std::string, std::string>>> AttachedPolicies(
      int64_t account_id, std::string_view user) override;

  // cas::PlanStore
  Result<bool> AccountExists(int64_t account_id) override;
  Result<cas::Plan> GrantPlan(const cas::Plan& plan, const audit::Record& audit) override;
  Result<std::vector<cas::Plan>> ListPlans(int64_t account_id) override;
  Result<cas::PackageCounters> GetPackageCounters(int64_t account_id, std::string_view product_code,
                                                  int64_t now) override;

  // cas::OrderStore
  Result<cas::Order> CreateOrder(cas::Order order, int64_t now,
                                 const audit::Record& audit) override;
  Status CreateIssuedOrder(const cas::Transition& issued, int64_t now,
                           const audit::Record& created) override;
  Result<std::optional<cas::Order>> FindOrder(int64_t account_id, int64_t order_id) override;
  Status ApplyTransition(const cas::Transition& t, cas::OrderStatus expected) override;
  std::vector<Status> ApplyTransitions(const std::vector<cas::PendingTransition>& batch) override;
  Result<std::vector<cas::Order>> DueOrders(int64_t now, int limit) override;
  Result<int64_t> PruneReleasedOrders(int64_t before, int64_t max_rows) override;
  Result<cas::OrderPage> ListOrders(int64_t account_id, const cas::OrderQuery& query) override;
  // The query plans (EXPLAIN QUERY PLAN, one line per step, indented two spaces a level) of the
  // statements ListOrders runs for `query` when `total` orders match: the count, the bucket
  // counts a deep page's start is found from (these are run), then the page when there is one.
  // For the tests that hold the list to its indexes, and for operators.
  Result<std::vector<std::string>> ExplainListOrders(int64_t account_id,
                                                     const cas::OrderQuery& query, int64_t total);

  // cas::CounterAuditStore
  Result<std::vector<cas::CounterDrift>> AuditCounters() override;
  Result<std::vector<cas::ListCountDrift>> AuditListCounts() override;

  // cas::CertificateStore
  Result<cas::Certificate> InsertUpload(cas::Certificate certificate, const audit::Record& audit,
                                        int64_t max_uploads) override;
  Result<std::optional<cas::Certificate>> FindCertificate(int64_t account_id,
                                                          int64_t cert_id) override;
  Result<bool> DeleteCertificate(int64_t account_id, int64_t cert_id,
                                 const audit::Record& audit) override;
  Result<cas::CertificatePage> ListCertificates(int64_t account_id,
                                                const cas::CertificateQuery& query) override;
  // As ExplainListOrders, for ListCertificates.
  Result<std::vector<std::string>> ExplainListCertificates(int64_t account_id,
                                                           const cas::CertificateQuery& query,
                                                           int64_t total);

  // cas::RevocationStore
  Result<std::vector<cas::Revocation>> ListRevocations(std::string_view issuer_key_id,
                                                       int64_t now) override;
  Result<cas::RevocationsVersion> VersionOfRevocations(std::string_view issuer_key_id) override;
  Result<std::optional<cas::IssuedSerial>> FindIssuedSerial(std::string_view serial_hex) override;
  // ops::OperatorStore
  Status InsertOperatorToken(const ops::OperatorTokenRecord& token,
                             const audit::Record& audit) override;
  Result<std::optional<ops::OperatorTokenRecord>> FindOperatorToken(std::string_view id) override;
  Result<std::vector<ops::OperatorTokenRecord>> ListOperatorTokens() override;
  Status TouchOperatorToken(std::string_view id, int64_t now) override;
  Result<bool> RevokeOperatorToken(std::string_view id, int64_t now,
                                   const audit::Record& audit) override;
  Result<std::optional<ops::PlanGrantRecord>> FindPlanGrant(std::string_view key) override;
  Result<ops::PlanGrantOnce> GrantPlanOnce(const cas::Plan& plan, std::string_view key,
                                           std::string_view request_hash,
                                           const audit::Record& audit) override;
  // acme::AcmeStore
  Result<std::string> AcmeSharedSecret(std::string_view name, std::string_view candidate) override;
  Status InsertEabKey(const acme::EabKey& key) override;
  Result<std::optional<acme::EabKey>> FindEabKey(std::string_view key_id) override;
  Result<std::vector<acme::EabKeyUsage>> ListEabKeys(int64_t account_id) override;
  Result<bool> RevokeEabKey(std::string_view key_id) override;
  Result<acme::AcmeAccount> CreateAcmeAccount(acme::AcmeAccount account,
                                              int64_t max_accounts) override;
  Result<std::optional<acme::AcmeAccount>> FindAcmeAccount(int64_t id) override;
  Result<std::optional<acme::AcmeAccount>> FindAcmeAccountByThumbprint(
      std::string_view tp) override;
  Status UpdateAcmeAccount(const acme::AcmeAccount& account) override;
  Status InsertAcmeOrder(const acme::AcmeOrder& order) override;
  Result<std::optional<acme::AcmeOrder>> FindAcmeOrder(int64_t order_id) override;
  Status UpdateAcmeOrderAuthz(int64_t order_id, std::string_view authz_json) override;
  Result<std::vector<int64_t>> AcmeOrdersWithNames(int64_t acme_account_id,
                                                   std::string_view identifiers_key,
                                                   int limit) override;
  Result<std::vector<int64_t>> AcmeAccountOrders(int64_t acme_account_id, int limit) override;
  Result<std::optional<int64_t>> AcmeOrderIdBySerial(std::string_view serial) override;

  // ops::MetricsStore
  Status Ping() override;
  Result<std::vector<ops::StateCount>> CountOrdersByState() override;
  Result<std::vector<ops::PlanUnits>> CountPlanUnits(int64_t now, bool per_account) override;
  Result<ops::SoonestExpiry> FindSoonestExpiry(int64_t now) override;

  // Times every operation from now on (nullptr: none); set before serving.
  void SetLatencyObserver(ops::StoreLatencyObserver* observer) { observer_.store(observer); }

  // ops::AuditLog
  Status AppendAudit(const audit::Record& record) override;
  Result<std::vector<audit::Record>> ReadAudit(const ops::AuditQuery& query) override;
  Result<int64_t> PruneAudit(int64_t before, int64_t max_rows) override;
  Result<std::vector<int64_t>> OrdersWithoutCreationRecord(int64_t limit) override;

 private:
  class Lease;
  explicit SqliteStore(std::string path) : path_(std::move(path)) {}
  Result<Lease> Acquire();
  // committer_->Run, timed.
  Status Commit(GroupCommitter::Work work);
  void Release(std::unique_ptr<Connection> conn);

  std::string path_;
  std::unique_ptr<GroupCommitter> committer_;  // the writes that are hot (Create*)
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mu_
  std::atomic<ops::StoreLatencyObserver*> observer_{nullptr};
};

}  // namespace certplan::store::sqlite
