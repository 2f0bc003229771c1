#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "acme/acme_store.h"
#include "auth/nonce_store.h"
#include "auth/pending_nonce.h"
#include "cas/certificate_store.h"
#include "cas/counter_audit_store.h"
#include "cas/order_store.h"
#include "cas/plan_store.h"
#include "cas/revocation_store.h"
#include "iam/identity_store.h"
#include "ops/audit_log.h"
#include "ops/metrics_store.h"
#include "ops/operator_store.h"
#include "store/postgres/combiner.h"
#include "store/postgres/nonce_batcher.h"
#include "store/postgres/pg_handles.h"

namespace certplan::store::postgres {

// The store for more than one node: several certplan processes share one PostgreSQL database.
// Every quota take is one conditional UPDATE (no read-then-write across nodes), commits are
// durable (synchronous_commit on), order ids are random with a primary key, and due orders are
// claimed with FOR UPDATE SKIP LOCKED plus a lease so two validators never work one order.
// Connections come from a pool; a broken connection is dropped and replaced. Implements every
// port of the domain, the shared nonce window included.
class PostgresStore final : public iam::IdentityStore,
                            public cas::PlanStore,
                            public cas::OrderStore,
                            public cas::CounterAuditStore,
                            public cas::CertificateStore,
                            public cas::RevocationStore,
                            public auth::NonceStore,
                            public ops::OperatorStore,
                            public ops::MetricsStore,
                            public ops::AuditLog,
                            public acme::AcmeStore {
 public:
  // Connects, forces synchronous_commit on, applies migrations. When the server cannot be
  // reached yet, the store still opens: every call answers kServiceUnavailable until the
  // database is back, then migrations run and service resumes.
  static Result<std::unique_ptr<PostgresStore>> Open(const std::string& url);

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
  // Concurrent Create*s share one pipelined transaction (one round trip, one commit); each
  // statement takes the request's PendingNonce with it, so a replay writes nothing.
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
  // EXPLAIN (FORMAT JSON) of the statements ListOrders runs for `query` when `total` orders
  // match, each planned for its values as ListOrders plans it: the count, the bucket counts a
  // deep page's start is found from (these are run), then the page when there is one. For the tests
  // that hold the list to its indexes, and for operators.
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

  // ops::AuditLog
  Status AppendAudit(const audit::Record& record) override;
  Result<std::vector<audit::Record>> ReadAudit(const ops::AuditQuery& query) override;
  Result<int64_t> PruneAudit(int64_t before, int64_t max_rows) override;
  Result<std::vector<int64_t>> OrdersWithoutCreationRecord(int64_t limit) override;

  // auth::NonceStore: the shared nonce window (see nonces in the schema), kSignatureNonceUsed on
  // a replay. Concurrent claims share one statement (NonceBatcher).
  Status RememberNonce(std::string_view access_key_id, std::string_view nonce, int64_t expires_at,
                       int64_t now) override;
  // CreateOrder claims the request's pending nonce in its own statement.
  bool ClaimsPendingNonces() const override { return true; }

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

 private:
  class Lease;
  explicit PostgresStore(std::string url) : url_(std::move(url)) {}
  Result<Lease> Acquire();
  void Release(std::unique_ptr<PgConnection> conn);
  void Forget();  // a leased connection was dropped
  // Runs `body` inside BEGIN … COMMIT on one connection; rolls back on any error.
  Status InTransaction(const std::function<Status(PgConnection&)>& body);

  Status EnsureMigrated();
  // One batch of nonce claims in one statement; runs on the batch's leading caller.
  std::vector<Status> RememberNonces(const std::vector<const NonceClaim*>& claims);
  // Deletes expired nonces now and then (after every 1024 claims), on `conn`.
  void SweepNonces(PgConnection& conn, size_t claimed, int64_t now);

  // One Create*'s write: its order (the id is chosen by the batch), its audit record and the
  // nonce it claims.
  struct OrderWrite {
    cas::Order* order;
    int64_t now;
    const audit::Record* audit;              // inserted with the order, naming its id
    const auth::PendingNonce::Claim* nonce;  // nullptr: claimed already
  };
  // One batch of order writes in one pipelined transaction, or each alone when the batch fails
  // (a random id clash, a deadlock with another node); runs on the batch's leading caller.
  std::vector<Status> WriteOrders(const std::vector<const OrderWrite*>& writes);
  // The batch once: an outcome per write, or the batch's failure (nothing of it kept), `clash`
  // saying whether that was an order id already taken.
  Result<std::vector<Status>> TryWriteOrders(const std::vector<const OrderWrite*>& writes,
                                             bool& clash);

  std::string url_;
  std::atomic<bool> migrated_{false};
  std::mutex migrate_mu_;
  static constexpr int kMaxConnections = 8;
  std::mutex mu_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<PgConnection>> idle_;  // guarded by mu_
  int open_ = 0;                                     // idle + leased, guarded by mu_
  NonceBatcher nonces_{
      [this](const std::vector<const NonceClaim*>& claims) { return RememberNonces(claims); }};
  std::atomic<size_t> claimed_since_sweep_{0};
  std::atomic<ops::StoreLatencyObserver*> observer_{nullptr};
  Combiner<OrderWrite, Status, 128> order_writes_{
      [this](const std::vector<const OrderWrite*>& writes) { return WriteOrders(writes); },
      [] { return Status(InternalError("order batch answered short")); }};
};

}  // namespace certplan::store::postgres
