#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cas/certificate_store.h"
#include "cas/counter_audit_store.h"
#include "cas/order_store.h"
#include "cas/plan_store.h"
#include "iam/identity_store.h"
#include "ops/audit_log.h"
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
                          public ops::AuditLog {
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
  Result<std::optional<cas::Order>> FindOrder(int64_t account_id, int64_t order_id) override;
  Status ApplyTransition(const cas::Transition& t, cas::OrderStatus expected) override;
  std::vector<Status> ApplyTransitions(const std::vector<cas::PendingTransition>& batch) override;
  Result<std::vector<cas::Order>> DueOrders(int64_t now, int limit) override;
  Result<std::vector<cas::Order>> ListOrders(int64_t account_id, std::string_view keyword) override;

  // cas::CounterAuditStore
  Result<std::vector<cas::CounterDrift>> AuditCounters() override;

  // cas::CertificateStore
  Result<cas::Certificate> InsertUpload(cas::Certificate certificate,
                                        const audit::Record& audit) override;
  Result<std::optional<cas::Certificate>> FindCertificate(int64_t account_id,
                                                          int64_t cert_id) override;
  Result<bool> DeleteCertificate(int64_t account_id, int64_t cert_id,
                                 const audit::Record& audit) override;
  Result<cas::CertificatePage> ListCertificates(int64_t account_id,
                                                const cas::CertificateQuery& query) override;

  // ops::AuditLog
  Status AppendAudit(const audit::Record& record) override;
  Result<std::vector<audit::Record>> ReadAudit(const ops::AuditQuery& query) override;
  Result<int64_t> PruneAudit(int64_t before, int64_t max_rows) override;
  Result<std::vector<int64_t>> OrdersWithoutCreationRecord(int64_t limit) override;

 private:
  class Lease;
  explicit SqliteStore(std::string path) : path_(std::move(path)) {}
  Result<Lease> Acquire();
  void Release(std::unique_ptr<Connection> conn);

  std::string path_;
  std::unique_ptr<GroupCommitter> committer_;  // the writes that are hot (Create*)
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mu_
};

}  // namespace certplan::store::sqlite
