#include "store/postgres/postgres_store.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <random>
#include <set>
#include <tuple>

#include "core/checked.h"
#include "core/hex.h"
#include "store/order_codec.h"
#include "store/order_list.h"
#include "store/postgres/pg_migrations.h"

namespace certplan::store::postgres {

using cas::CounterDrift;
using cas::PackageCounters;
using cas::PendingTransition;
using cas::Plan;
using iam::AccessKey;
using iam::Account;
using iam::PolicyRecord;
using iam::User;

namespace {
int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

// Returns its connection to the pool when it goes out of scope, and reports the operation's
// time since Acquire() was called to the latency observer, if any.
class PostgresStore::Lease {
 public:
  Lease(PostgresStore* store, std::unique_ptr<PgConnection> conn, int64_t started)
      : store_(store), conn_(std::move(conn)), started_(started) {}
  Lease(Lease&&) = default;
  ~Lease() {
    // A connection that broke is dropped; the next Acquire() opens a fresh one.
    if (!conn_) return;
    if (ops::StoreLatencyObserver* o = store_->observer_.load(std::memory_order_relaxed)) {
      o->OnStoreOperation(ops::StoreLatencyObserver::Path::kConnection, SteadyNanos() - started_);
    }
    if (conn_->healthy()) {
      store_->Release(std::move(conn_));
    } else {
      conn_.reset();
      store_->Forget();
    }
  }
  PgConnection* operator->() { return conn_.get(); }
  PgConnection& operator*() { return *conn_; }

 private:
  PostgresStore* store_;
  std::unique_ptr<PgConnection> conn_;
  int64_t started_;
};

namespace {

// An order's certificate is stored once, apart from the order: its leaf in issued_certificates
// (append-only, one row per issued order), its CA's chain once per chain in ca_chains.

// The columns of the order's own row (INSERT's list; OrderParams' order).
constexpr const char* kOrderRowStored =
    "id, account_id, product_code, origin, status, validate_type, domains, token, csr_pem, "
    "sealed_private_key, serial_hex, not_before, not_after, issued_at, holds_unit, "
    "counts_issued, username, phone, email, company_name, tags_json, created_at, updated_at, "
    "validation_deadline, next_check_at, attempts, renewed_from, failure_reason";

// The columns ReadOrder() reads, from kOrderWithCertificate (the row with its certificate and
// chain joined) …
constexpr const char* kOrderColumns =
    "id, account_id, product_code, origin, status, validate_type, domains, token, csr_pem, "
    "sealed_private_key, COALESCE(issued_certificates.leaf_pem, ''), COALESCE(ca_chains.pem, ''), "
    "serial_hex, not_before, not_after, issued_at, holds_unit, counts_issued, username, phone, "
    "email, company_name, tags_json, created_at, updated_at, validation_deadline, next_check_at, "
    "attempts, renewed_from, failure_reason";
constexpr const char* kOrderWithCertificate =
    " FROM orders LEFT JOIN issued_certificates ON issued_certificates.order_id = orders.id "
    "LEFT JOIN ca_chains ON ca_chains.chain_id = issued_certificates.chain_id";
// … or from `orders` alone, the certificate and chain left empty (lists; pending orders).
constexpr const char* kOrderRowColumns =
    "id, account_id, product_code, origin, status, validate_type, domains, token, csr_pem, "
    "sealed_private_key, '', '', serial_hex, not_before, not_after, issued_at, holds_unit, "
    "counts_issued, username, phone, email, company_name, tags_json, created_at, updated_at, "
    "validation_deadline, next_check_at, attempts, renewed_from, failure_reason";

constexpr const char* kRevocationColumns =
    "order_id, issuer_key_id, serial_hex, revoked_at, reason, not_after";

constexpr int64_t kLeaseSeconds = 120;  // a claimed order returns to the pool after this
// Serializes one account's uploads ($1: the account id): a transaction-scoped advisory lock in
// the two-key space (no other lock of certplan's is there), the first key any constant, the
// second a hash of the account id.
constexpr const char* kUploadLockSql = "SELECT pg_advisory_xact_lock(7366832, hashtext($1::text))";

std::string S(int64_t v) { return std::to_string(v); }
std::string B(bool v) { return v ? "true" : "false"; }
bool IsTrue(const PGresult* r, int row, int col) { return Text(r, row, col) == "t"; }

cas::Revocation ReadRevocation(const PGresult* r, int row, int first = 0) {
  cas::Revocation v;
  v.order_id = Int(r, row, first);
  v.issuer_key_id = Text(r, row, first + 1);
  v.serial_hex = Text(r, row, first + 2);
  v.revoked_at = Int(r, row, first + 3);
  v.reason = static_cast<cas::RevocationReason>(Int(r, row, first + 4));
  v.not_after = Int(r, row, first + 5);
  return v;
}

std::vector<Param> OrderParams(const cas::Order& o) {
  return {S(o.id),
          S(o.account_id),
          o.product_code,
          S(static_cast<int64_t>(o.origin)),
          std::string(cas::StatusName(o.status)),
          std::string(cas::ValidateTypeName(o.validate_type)),
          JoinDomains(o.domains),
          o.token,
          o.csr_pem,
          HexEncode(o.sealed_private_key),
          o.serial_hex,
          S(o.not_before),
          S(o.not_after),
          S(o.issued_at),
          B(o.holds_unit),
          B(o.counts_issued),
          o.contact.username,
          o.contact.phone,
          o.contact.email,
          o.contact.company_name,
          o.tags_json,
          S(o.created_at),
          S(o.updated_at),
          S(o.validation_deadline),
          S(o.next_check_at),
          S(o.attempts),
          S(o.renewed_from),
          o.failure_reason};
}

cas::Order ReadOrder(const PGresult* r, int i) {
  cas::Order o;
  o.id = Int(r, i, 0);
  o.account_id = Int(r, i, 1);
  o.product_code = Text(r, i, 2);
  o.origin = static_cast<cas::OrderOrigin>(Int(r, i, 3));
  o.status = cas::ParseStatusName(Text(r, i, 4)).value_or(cas::OrderStatus::kDeleted);
  o.validate_type = Text(r, i, 5) == "FILE" ? cas::ValidateType::kFile : cas::ValidateType::kDns;
  o.domains = SplitDomains(Text(r, i, 6));
  o.token = Text(r, i, 7);
  o.csr_pem = Text(r, i, 8);
  o.sealed_private_key = HexDecode(Text(r, i, 9)).value_or("");
  o.certificate_pem = Text(r, i, 10);
  o.chain_pem = Text(r, i, 11);
  o.serial_hex = Text(r, i, 12);
  o.not_before = Int(r, i, 13);
  o.not_after = Int(r, i, 14);
  o.issued_at = Int(r, i, 15);
  o.holds_unit = IsTrue(r, i, 16);
  o.counts_issued = IsTrue(r, i, 17);
  o.contact = {Text(r, i, 18), Text(r, i, 19), Text(r, i, 20), Text(r, i, 21)};
  o.tags_json = Text(r, i, 22);
  o.created_at = Int(r, i, 23);
  o.updated_at = Int(r, i, 24);
  o.validation_deadline = Int(r, i, 25);
  o.next_check_at = Int(r, i, 26);
  o.attempts = Int(r, i, 27);
  o.renewed_from = Int(r, i, 28);
  o.failure_reason = Text(r, i, 29);
  return o;
}

std::vector<cas::Order> ReadOrders(const PGresult* r) {
  std::vector<cas::Order> out;
  for (int i = 0; i < PQntuples(r); ++i) out.push_back(ReadOrder(r, i));
  return out;
}

AccessKey ReadKey(const PGresult* r, int i) {
  return AccessKey{Text(r, i, 0),   Int(r, i, 1),
                   Text(r, i, 2),   HexDecode(Text(r, i, 3)).value_or(""),
                   IsTrue(r, i, 4), Int(r, i, 5)};
}

Plan ReadPlan(const PGresult* r, int i) {
  return Plan{Int(r, i, 0), Int(r, i, 1), Text(r, i, 2),
              Int(r, i, 3), Int(r, i, 4), OptionalInt(r, i, 5)};
}

// Maps a constraint violation of the last statement to kInvalidParameter with `taken`.
Error Clash(const PgConnection& conn, const Error& e, std::string_view taken) {
  if (conn.sqlstate() == "23505") return Error(ErrorCode::kInvalidParameter, std::string(taken));
  if (conn.sqlstate() == "23503")
    return Error(ErrorCode::kInvalidParameter, "No such account or user.");
  return e;
}

// The plan's row and (from the first grant on) its usage row, inside the caller's transaction.
Result<Plan> InsertPlanRows(PgConnection& conn, const Plan& plan) {
  std::vector<Param> params = {S(plan.account_id), plan.product_code, S(plan.count),
                               S(plan.granted_at),
                               plan.expires_at ? Param(S(*plan.expires_at)) : Param()};
  Result<PgResultPtr> r = conn.Exec(
      "INSERT INTO plans (account_id, product_code, count, granted_at, expires_at) "
      "VALUES ($1, $2, $3, $4, $5) RETURNING id",
      params);
  if (!r) return Clash(conn, r.error(), "bad plan");
  Plan stored = plan;
  stored.id = Int(r->get(), 0, 0);
  Result<PgResultPtr> usage = conn.Exec(
      "INSERT INTO package_usage (account_id, product_code) VALUES ($1, $2) ON CONFLICT DO "
      "NOTHING",
      {S(plan.account_id), plan.product_code});
  if (!usage) return usage.error();
  return stored;
}

ops::OperatorTokenRecord ReadOperatorToken(const PGresult* r, int i) {
  return ops::OperatorTokenRecord{Text(r, i, 0), Text(r, i, 1),        Text(r, i, 2),
                                  Int(r, i, 3),  OptionalInt(r, i, 4), OptionalInt(r, i, 5)};
}

constexpr const char* kTokenColumns =
    "SELECT id, name, token_hash, created_at, last_used_at, revoked_at FROM operator_tokens ";

Result<std::optional<ops::PlanGrantRecord>> ReadPlanGrant(PgConnection& conn,
                                                          std::string_view key) {
  Result<PgResultPtr> r = conn.Exec(
      "SELECT k.idempotency_key, k.request_hash, p.id, p.account_id, p.product_code, p.count, "
      "p.granted_at, p.expires_at FROM plan_grant_keys k JOIN plans p ON p.id = k.plan_id "
      "WHERE k.idempotency_key = $1",
      {std::string(key)});
  if (!r) return r.error();
  if (PQntuples(r->get()) == 0) return std::optional<ops::PlanGrantRecord>();
  const PGresult* row = r->get();
  ops::PlanGrantRecord record;
  record.idempotency_key = Text(row, 0, 0);
  record.request_hash = Text(row, 0, 1);
  record.plan = Plan{Int(row, 0, 2), Int(row, 0, 3), Text(row, 0, 4),
                     Int(row, 0, 5), Int(row, 0, 6), OptionalInt(row, 0, 7)};
  return std::optional<ops::PlanGrantRecord>(std::move(record));
}

constexpr const char* kKeyColumns =
    "SELECT id, account_id, user_name, sealed_secret, enabled, created_at FROM access_keys ";

constexpr const char* kAuditColumns =
    "time, request_id, account_id, principal_type, principal, access_key_id, source_ip, action, "
    "object_type, object_id, result";

// The parameters of kAuditColumns, in order.
std::vector<Param> AuditParams(const audit::Record& r) {
  return {S(r.time),         r.actor.request_id,
          S(r.account_id),   std::string(audit::PrincipalTypeName(r.actor.type)),
          r.actor.principal, r.actor.access_key_id,
          r.actor.source_ip, r.actor.action,
          r.object_type,     r.object_id,
          r.result};
}

// Appends `r` inside the caller's transaction (or on its own, outside one).
Status InsertAuditRow(PgConnection& conn, const audit::Record& r) {
  Result<PgResultPtr> inserted = conn.Exec(std::string("INSERT INTO audit_log (") + kAuditColumns +
                                               ") VALUES ($1::bigint, $2, $3::bigint, $4, $5, $6, "
                                               "$7, $8, $9, $10, $11)",
                                           AuditParams(r));
  if (!inserted) return inserted.error();
  return Ok{};
}

// `audit` naming `object_id`.
audit::Record Naming(const audit::Record& audit, int64_t object_id) {
  audit::Record r = audit;
  r.object_id = std::to_string(object_id);
  return r;
}

}  // namespace

Result<std::unique_ptr<PostgresStore>> PostgresStore::Open(const std::string& url) {
  std::unique_ptr<PostgresStore> store(new PostgresStore(url));
  Status migrated = store->EnsureMigrated();
  if (!migrated && migrated.error().code != ErrorCode::kServiceUnavailable) return migrated.error();
  return store;
}

Status PostgresStore::EnsureMigrated() {
  std::scoped_lock lock(migrate_mu_);
  if (migrated_.load()) return Ok{};
  Result<std::unique_ptr<PgConnection>> conn = PgConnection::Open(url_);
  if (!conn) return conn.error();
  if (Status s = Migrate(**conn); !s) return s;
  migrated_.store(true);
  return Ok{};
}

Result<PostgresStore::Lease> PostgresStore::Acquire() {
  const int64_t started = observer_.load(std::memory_order_relaxed) ? SteadyNanos() : 0;
  if (!migrated_.load()) {
    if (Status s = EnsureMigrated(); !s) return s.error();
  }
  {
    // At most kMaxConnections per node: more backends than that only contend for the
    // database's cores (measured: 64 connections ran slower than 8).
    std::unique_lock lock(mu_);
    const bool ready = pool_cv_.wait_for(lock, std::chrono::seconds(10),
                                         [&] { return !idle_.empty() || open_ < kMaxConnections; });
    if (!ready) {
      return Error(ErrorCode::kServiceUnavailable, "The store is busy; retry later.",
                   "postgres pool exhausted for 10 s");
    }
    if (!idle_.empty()) {
      std::unique_ptr<PgConnection> conn = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(conn), started);
    }
    ++open_;
  }
  Result<std::unique_ptr<PgConnection>> conn = PgConnection::Open(url_);
  if (!conn) {
    Forget();
    return conn.error();
  }
  // Acknowledge nothing before it is durable, whatever the server's default says.
  Lease lease(this, std::move(*conn), started);
  Result<PgResultPtr> set = lease->Exec("SET synchronous_commit = on");
  if (!set) return set.error();
  return lease;
}

void PostgresStore::Release(std::unique_ptr<PgConnection> conn) {
  {
    std::scoped_lock lock(mu_);
    idle_.push_back(std::move(conn));
  }
  pool_cv_.notify_one();
}

void PostgresStore::Forget() {
  {
    std::scoped_lock lock(mu_);
    --open_;
  }
  pool_cv_.notify_one();
}

Status PostgresStore::InTransaction(const std::function<Status(PgConnection&)>& body) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> begin = (*conn)->Exec("BEGIN");
  if (!begin) return begin.error();
  Status s = body(**conn);
  if (!s) {
    (void)(*conn)->Exec("ROLLBACK");
    return s;
  }
  Result<PgResultPtr> commit = (*conn)->Exec("COMMIT");
  if (!commit) return commit.error();
  return Ok{};
}

Result<Account> PostgresStore::CreateAccount(int64_t id, std::string_view name, int64_t now,
                                             const audit::Record& audit) {
  Status s = InTransaction([&](PgConnection& conn) -> Status {
    Result<PgResultPtr> r =
        conn.Exec("INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)",
                  {S(id), std::string(name), S(now)});
    if (!r) return Clash(conn, r.error(), "An account with this name already exists.");
    return InsertAuditRow(conn, Naming(audit, id));
  });
  if (!s) return s.error();
  return Account{id, std::string(name), now};
}

Result<std::optional<Account>> PostgresStore::FindAccount(int64_t id) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r =
      (*conn)->Exec("SELECT id, name, created_at FROM accounts WHERE id = $1", {S(id)});
  if (!r) return r.error();
  if (PQntuples(r->get()) == 0) return std::optional<Account>();
  return std::optional<Account>(
      Account{Int(r->get(), 0, 0), Text(r->get(), 0, 1), Int(r->get(), 0, 2)});
}

Result<std::optional<Account>> PostgresStore::FindAccountByName(std::string_view name) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r = (*conn)->Exec("SELECT id, name, created_at FROM accounts WHERE name = $1",
                                        {std::string(name)});
  if (!r) return r.error();
  if (PQntuples(r->get()) == 0) return std::optional<Account>();
  return std::optional<Account>(
      Account{Int(r->get(), 0, 0), Text(r->get(), 0, 1), Int(r->get(), 0, 2)});
}

Status PostgresStore::InsertAccessKey(const AccessKey& key, const audit::Record* audit) {
  return InTransaction([&](PgConnection& conn) -> Status {
    Result<PgResultPtr> r = conn.Exec(
        "INSERT INTO access_keys (id, account_id, user_name, sealed_secret, enabled, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        {key.id, S(key.account_id), key.user_name, HexEncode(key.sealed_secret), B(key.enabled),
         S(key.created_at)});
    if (!r) return r.error();
    return audit ? InsertAuditRow(conn, *audit) : Status(Ok{});
  });
}

Result<std::optional<AccessKey>> PostgresStore::FindAccessKey(std::string_view id) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r =
      (*conn)->Exec(std::string(kKeyColumns) + "WHERE id = $1", {std::string(id)});
  if (!r) return r.error();
  if (PQntuples(r->get()) == 0) return std::optional<AccessKey>();
  return std::optional<AccessKey>(ReadKey(r->get(), 0));
}

Result<std::vector<AccessKey>> PostgresStore::ListAccessKeys(int64_t account_id) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r = (*conn)->Exec(
      std::string(kKeyColumns) + "WHERE account_id = $1 ORDER BY created_at, id", {S(account_id)});
  if (!r) return r.error();
  std::vector<AccessKey> keys;
  for (int i = 0; i < PQntuples(r->get()); ++i) keys.push_back(ReadKey(r->get(), i));
  return keys;
}

Result<bool> PostgresStore::SetAccessKeyEnabled(std::string_view id, bool enabled,
                                                const audit::Record& audit) {
  bool found = false;
  Status s = InTransaction([&](PgConnection& conn) -> Status {
    Result<PgResultPtr> r = conn.Exec("UPDATE access_keys SET enabled = $2 WHERE id = $1",
                                      {std::string(id), B(enabled)});
    if (!r) return r.error();
    found = std::string(PQcmdTuples(r->get())) != "0";
    return found ? InsertAuditRow(conn, audit) : Status(Ok{});
  });
  if (!s) return s.error();
  return found;
}

Result<bool> PostgresStore::AccountExists(int64_t account_id) {
  // The same read as FindAccount: plans are granted to existing accounts only.
  Result<std::optional<Account>> account = FindAccount(account_id);
  if (!account) return account.error();
  return account->has_value();
}

Result<Plan> PostgresStore::GrantPlan(const Plan& plan, const audit::Record& audit) {
  Plan stored;
  Status s = InTransaction([&](PgConnection& conn) -> Status {
    Result<Plan> inserted = InsertPlanRows(conn, plan);
    if (!inserted) return inserted.error();
    stored = std::move(*inserted);
    return InsertAuditRow(conn, Naming(audit, stored.id));
  });
  if (!s) return s.error();
  return stored;
}

Result<std::vector<Plan>> PostgresStore::ListPlans(int64_t account_id) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r = (*conn)->Exec(
      "SELECT id, account_id, product_code, count, granted_at, expires_at FROM plans "
      "WHERE account_id = $1 ORDER BY id",
      {S(account_id)});
  if (!r) return r.error();
  std::vector<Plan> plans;
  for (int i = 0; i < PQntuples(r->get()); ++i) plans.push_back(ReadPlan(r->get(), i));
  return plans;
}

Result<PackageCounters> PostgresStore::GetPackageCounters(int64_t account_id,
                                                          std::string_view product_code,
                                                          int64_t now) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r = (*conn)->Exec(
      "SELECT (SELECT COALESCE(SUM(count), 0) FROM plans WHERE account_id = $1 AND "
      "product_code = $2 AND (expires_at IS NULL OR expires_at > $3)), "
      "COALESCE((SELECT used FROM package_usage WHERE account_id = $1 AND product_code = $2), 0), "
      "COALESCE((SELECT issued FROM package_usage WHERE account_id = $1 AND product_code = $2), 0)",
      {S(account_id), std::string(product_code), S(now)});
  if (!r) return r.error();
  return PackageCounters{Int(r->get(), 0, 0), Int(r->get(), 0, 1), Int(r->get(), 0, 2)};
}

Result<cas::Order> PostgresStore::CreateOrder(cas::Order order, int64_t now,
                                              const audit::Record& audit) {
  const OrderWrite write{&order, now, &audit, auth::PendingNonce::Take()};
  Status s = order_writes_.Submit(write);
  if (!s) return s.error();
  return order;
}

namespace {

Error NonceUsed() {
  return Error(ErrorCode::kSignatureNonceUsed, "Specified signature nonce was used already.");
}

// A take refused for quota: no plan of `product_code` in force (`total` 0), or none left.
Error QuotaRefused(int64_t total, const std::string& product_code) {
  if (total == 0) {
    return Error(ErrorCode::kNotFoundPackage,
                 "No certificate resource plan of " + product_code + " is in force.");
  }
  return Error(ErrorCode::kNotRemainCount,
               "The certificate resource plan of " + product_code + " has no remaining count.");
}

// One Create*: the nonce claim (when it has one: $30 key, $31 nonce, $32 its expiry, $33 now),
// the quota take, the order insert and its audit record ($34 … $43, the object id the inserted
// order's) in one statement, so they succeed or fail together. A
// used nonce takes nothing and inserts nothing; UsedCount never passes TotalCount: the UPDATE's
// WHERE clause is the check, re-evaluated on the latest row version when another transaction's
// take commits first. Answers (nonce claimed, orders inserted, TotalCount).
const std::string& OrderWriteSql() {
  static const std::string sql =
      std::string(
          "WITH claim AS (INSERT INTO nonces (access_key_id, nonce, expires_at) "
          "SELECT $30::text, $31::text, $32::bigint WHERE $30::text IS NOT NULL "
          "ON CONFLICT (access_key_id, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at "
          "WHERE nonces.expires_at < $33::bigint RETURNING 1), "
          "ok AS (SELECT 1 WHERE $30::text IS NULL OR EXISTS (SELECT 1 FROM claim)), "
          "total AS (SELECT COALESCE(SUM(count), 0) AS n FROM plans WHERE account_id = $2 "
          "AND product_code = $3 AND (expires_at IS NULL OR expires_at > $29::bigint)), "
          "take AS (UPDATE package_usage SET used = used + 1 WHERE account_id = $2 "
          "AND product_code = $3 AND used < (SELECT n FROM total) AND EXISTS (SELECT 1 FROM ok) "
          "RETURNING 1), "
          "ins AS (INSERT INTO orders (") +
      kOrderRowStored +
      ") SELECT $1::bigint, $2::bigint, $3, $4::integer, $5, $6, $7, $8, $9, $10, $11, "
      "$12::bigint, $13::bigint, $14::bigint, $15::boolean, $16::boolean, $17, $18, $19, $20, $21, "
      "$22::bigint, $23::bigint, $24::bigint, $25::bigint, $26::bigint, $27::bigint, $28 FROM take "
      "RETURNING id), aud AS (INSERT INTO audit_log (" +
      kAuditColumns +
      ") SELECT $34::bigint, $35, $36::bigint, $37, $38, $39, $40, $41, $42, id::text, $43 FROM "
      "ins) "
      "SELECT EXISTS (SELECT 1 FROM ok), (SELECT count(*) FROM ins), (SELECT n FROM total)";
  return sql;
}

// Before a batch's order writes: their orders are counted by the batch itself (OrderCountsSql),
// not one by one by the insert trigger (migration 11), for the rest of the transaction only.
constexpr std::string_view kCountedByBatch =
    "SELECT set_config('certplan.orders_counted', 'on', true)";

// After them: the orders the batch inserted ($1, those of its ids that exist), counted per
// (account, status) and per bucket of created_at — as order_counts_track counts one — one row
// update per counter for the whole batch. Last in the transaction, after every package_usage
// row it takes, as the deferred triggers run (migration 8's lock order).
constexpr std::string_view kOrderCountsSql =
    "WITH made AS (SELECT account_id, status, created_at FROM orders WHERE id = "
    "ANY($1::bigint[])), "
    "counted AS (INSERT INTO order_counts (account_id, status, n) "
    "SELECT account_id, status, COUNT(*) FROM made GROUP BY account_id, status "
    "ON CONFLICT (account_id, status) DO UPDATE SET n = order_counts.n + EXCLUDED.n RETURNING 1), "
    "bucketed AS (INSERT INTO order_buckets (account_id, status, level, bucket, n) "
    "SELECT account_id, status, level, bucket, COUNT(*) FROM ("
    "SELECT account_id, status, 0 AS level, created_at >> 12 AS bucket FROM made UNION ALL "
    "SELECT account_id, status, 1, created_at >> 20 FROM made) b "
    "GROUP BY account_id, status, level, bucket "
    "ON CONFLICT (account_id, status, level, bucket) DO UPDATE SET n = order_buckets.n + "
    "EXCLUDED.n RETURNING 1) "
    "SELECT (SELECT COUNT(*) FROM counted), (SELECT COUNT(*) FROM bucketed)";

// Appended piece by piece: `const char* + std::string&&` draws a bogus -Wrestrict from GCC 12
// at -O3 (GCC bug 105651).
std::string IntArray(const std::vector<int64_t>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(items[i]);
  }
  out += '}';
  return out;
}

}  // namespace

std::vector<Status> PostgresStore::WriteOrders(const std::vector<const OrderWrite*>& writes) {
  bool clash = false;
  Result<std::vector<Status>> r = TryWriteOrders(writes, clash);
  if (r) return std::move(*r);
  if (r.error().code == ErrorCode::kServiceUnavailable) {
    return std::vector<Status>(writes.size(), Status(r.error()));
  }
  if (writes.size() > 1) {
    // Nothing of the batch was kept: each write alone, so one failure fails only its own.
    std::vector<Status> outcomes;
    outcomes.reserve(writes.size());
    for (const OrderWrite* w : writes) outcomes.push_back(WriteOrders({w})[0]);
    return outcomes;
  }
  // An id clash (another node made the same id in the same millisecond: rare): another id, a
  // few times.
  for (int attempt = 1; clash && attempt < 4; ++attempt) {
    r = TryWriteOrders(writes, clash);
    if (r) return std::move(*r);
  }
  const Error failed = clash ? InternalError("could not allocate an order id") : r.error();
  // The failed statement claimed nothing, its nonce included: claimed on its own now, so the
  // request is not answered twice either way (a replay is answered as one, first).
  if (const auth::PendingNonce::Claim* n = writes[0]->nonce; n != nullptr) {
    Status unseen = nonces_.Claim(NonceClaim{n->access_key_id, n->nonce, n->expires_at, n->now});
    if (!unseen && unseen.error().code == ErrorCode::kSignatureNonceUsed) return {unseen};
  }
  return {Status(failed)};
}

Result<std::vector<Status>> PostgresStore::TryWriteOrders(
    const std::vector<const OrderWrite*>& writes, bool& clash) {
  clash = false;
  // Packages in one order on every node, so two batches never wait on each other's usage rows.
  std::vector<size_t> order(writes.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const cas::Order& x = *writes[a]->order;
    const cas::Order& y = *writes[b]->order;
    return std::tie(x.account_id, x.product_code) < std::tie(y.account_id, y.product_code);
  });
  std::vector<Statement> batch;
  batch.reserve(writes.size() + 2);
  batch.push_back(Statement{kCountedByBatch, {}});
  std::vector<int64_t> ids;
  ids.reserve(writes.size());
  size_t nonces = 0;
  int64_t now = std::numeric_limits<int64_t>::max();
  for (size_t i : order) {
    const OrderWrite& w = *writes[i];
    w.order->id = NewOrderId();
    ids.push_back(w.order->id);
    std::vector<Param> params = OrderParams(*w.order);
    params.push_back(S(w.now));
    if (w.nonce != nullptr) {
      params.insert(params.end(), {w.nonce->access_key_id, w.nonce->nonce, S(w.nonce->expires_at),
                                   S(w.nonce->now)});
      ++nonces;
      now = std::min(now, w.nonce->now);
    } else {
      params.insert(params.end(), {Param(), Param(), Param(), Param()});
    }
    std::vector<Param> record = AuditParams(*w.audit);
    record.erase(record.begin() + 9);                        // object_id: the inserted order's id
    for (Param& p : record) params.push_back(std::move(p));  // $34 … $43
    batch.push_back(Statement{OrderWriteSql(), std::move(params)});
  }
  batch.push_back(Statement{kOrderCountsSql, {IntArray(ids)}});
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<std::vector<PgResultPtr>> r = (*conn)->ExecPipeline(batch);
  if (!r) {
    clash = (*conn)->sqlstate() == "23505";
    return r.error();
  }
  std::vector<Status> outcomes(writes.size(), Status(Ok{}));
  for (size_t k = 0; k < order.size(); ++k) {
    const PGresult* row = (*r)[k + 1].get();  // after kCountedByBatch's
    const cas::Order& o = *writes[order[k]]->order;
    if (!IsTrue(row, 0, 0)) {
      outcomes[order[k]] = NonceUsed();
    } else if (Int(row, 0, 1) != 1) {
      outcomes[order[k]] = QuotaRefused(Int(row, 0, 2), o.product_code);
    }
  }
  if (nonces > 0) SweepNonces(**conn, nonces, now);
  return outcomes;
}

Result<std::optional<cas::Order>> PostgresStore::FindOrder(int64_t account_id, int64_t order_id) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r =
      (*conn)->Exec(std::string("SELECT ") + kOrderColumns + kOrderWithCertificate +
                        " WHERE id = $1 AND ($2::bigint = 0 OR "
                        "account_id = $2) AND status <> 'deleted'",
                    {S(order_id), S(account_id)});
  if (!r) return r.error();
  if (PQntuples(r->get()) == 0) return std::optional<cas::Order>();
  return std::optional<cas::Order>(ReadOrder(r->get(), 0));
}

namespace {

constexpr const char* kCertificateColumns =
    "id, account_id, name, upload, order_id, instance_id, resource_group_id, chain_pem, "
    "sealed_key, common_name, sans, issuer, org_name, province, city, country, not_before, "
    "not_after, fingerprint, sha256, serial, algorithm, key_bits, revoked, created_at, tags_json, "
    "product_code, has_key";

// An entry as FindCertificate reads it: an issued entry's chain (stored once, with its order)
// joined back in, from kCertificateWithChain (the certificates table named `c`).
constexpr const char* kCertificateSelect =
    "c.id, c.account_id, c.name, c.upload, c.order_id, c.instance_id, c.resource_group_id, "
    "COALESCE(NULLIF(c.chain_pem, ''), i.leaf_pem || ch.pem, ''), c.sealed_key, c.common_name, "
    "c.sans, c.issuer, c.org_name, c.province, c.city, c.country, c.not_before, c.not_after, "
    "c.fingerprint, c.sha256, c.serial, c.algorithm, c.key_bits, c.revoked, c.created_at, "
    "c.tags_json, c.product_code, c.has_key";
constexpr const char* kCertificateWithChain =
    " FROM certificates c LEFT JOIN issued_certificates i ON c.order_id <> 0 AND "
    "i.order_id = c.order_id LEFT JOIN ca_chains ch ON ch.chain_id = i.chain_id";
// The columns as lists read them, from `certificates` alone: chain_pem left empty.
constexpr const char* kCertificateListColumns =
    "id, account_id, name, upload, order_id, instance_id, resource_group_id, '', "
    "sealed_key, common_name, sans, issuer, org_name, province, city, country, not_before, "
    "not_after, fingerprint, sha256, serial, algorithm, key_bits, revoked, created_at, tags_json, "
    "product_code, has_key";

cas::Certificate ReadCertificate(const PGresult* r, int i) {
  cas::Certificate c;
  c.id = Int(r, i, 0);
  c.account_id = Int(r, i, 1);
  c.name = Text(r, i, 2);
  c.upload = IsTrue(r, i, 3);
  c.order_id = Int(r, i, 4);
  c.instance_id = Text(r, i, 5);
  c.resource_group_id = Text(r, i, 6);
  c.chain_pem = Text(r, i, 7);
  c.sealed_key = HexDecode(Text(r, i, 8)).value_or("");
  c.common_name = Text(r, i, 9);
  const std::string sans = Text(r, i, 10);
  if (!sans.empty()) c.sans = SplitDomains(sans);
  c.issuer = Text(r, i, 11);
  c.org_name = Text(r, i, 12);
  c.province = Text(r, i, 13);
  c.city = Text(r, i, 14);
  c.country = Text(r, i, 15);
  c.not_before = Int(r, i, 16);
  c.not_after = Int(r, i, 17);
  c.fingerprint = Text(r, i, 18);
  c.sha256 = Text(r, i, 19);
  c.serial = Text(r, i, 20);
  c.algorithm = Text(r, i, 21);
  c.key_bits = Int(r, i, 22);
  c.revoked = IsTrue(r, i, 23);
  c.created_at = Int(r, i, 24);
  c.tags_json = Text(r, i, 25);
  c.product_code = Text(r, i, 26);
  c.has_key = IsTrue(r, i, 27);
  return c;
}

// kParamRepeat when the account already has an entry of that name; an id clash leaves
// sqlstate() at 23505 with the primary key named in the error, for the caller to retry. An
// issued entry whose chain is its order's certificate and chain (`order_chain`, stored with the
// order) keeps none of its own.
Status InsertCertificateRow(PgConnection& conn, const cas::Certificate& c,
                            std::string_view order_chain = {}) {
  const bool with_order =
      !c.upload && c.order_id != 0 && !order_chain.empty() && c.chain_pem == order_chain;
  Result<PgResultPtr> r = conn.Exec(
      std::string("INSERT INTO certificates (") + kCertificateColumns +
          ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, "
          "$18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28)",
      {S(c.id),
       S(c.account_id),
       c.name,
       B(c.upload),
       S(c.order_id),
       c.instance_id,
       c.resource_group_id,
       with_order ? std::string() : c.chain_pem,
       HexEncode(c.sealed_key),
       c.common_name,
       JoinDomains(c.sans),
       c.issuer,
       c.org_name,
       c.province,
       c.city,
       c.country,
       S(c.not_before),
       S(c.not_after),
       c.fingerprint,
       c.sha256,
       c.serial,
       c.algorithm,
       S(c.key_bits),
       B(c.revoked),
       S(c.created_at),
       c.tags_json,
       c.product_code,
       B(c.has_key)});
  if (r) return Ok{};
  if (conn.sqlstate() == "23505" &&
      r.error().detail.find("certificates_name_unique") != std::string::npos) {
    return Error(ErrorCode::kParamRepeat, "The certificate name already exists.");
  }
  return r.error();
}

}  // namespace

namespace {

// One statement of a list with its values as $1, $2, … (each placed with its type).
struct BoundSql {
  std::string text;
  std::vector<Param> values;

  std::string Add(int64_t value) {
    values.push_back(S(value));
    return "$" + std::to_string(values.size()) + "::bigint";
  }
  std::string Add(std::string value) {
    values.push_back(std::move(value));
    return "$" + std::to_string(values.size()) + "::text";
  }
};

std::string Quoted(cas::OrderStatus status) {
  // A fixed vocabulary. Appended, not `"'" + std::string(…)`: GCC 12 bug 105651 (-Wrestrict).
  std::string out = "'";
  out += cas::StatusName(status);
  out += '\'';
  return out;
}

// The listed stored states, without kDeleted; kCertificate apart when the query has a window.
struct StatusSplit {
  std::vector<cas::OrderStatus> plain;  // matched on the status alone
  bool windowed_certificate = false;    // kCertificate within the NotAfter window
};

StatusSplit SplitStatuses(const cas::OrderQuery& q) {
  StatusSplit split;
  for (cas::OrderStatus s : q.statuses) {
    if (s == cas::OrderStatus::kDeleted) continue;
    if (s == cas::OrderStatus::kCertificate && q.Windowed()) {
      split.windowed_certificate = true;
    } else if (std::find(split.plain.begin(), split.plain.end(), s) == split.plain.end()) {
      split.plain.push_back(s);
    }
  }
  return split;
}

std::string InList(const std::vector<cas::OrderStatus>& statuses) {
  if (statuses.size() == 1) return " = " + Quoted(statuses[0]);
  std::string out = " IN (";
  for (size_t i = 0; i < statuses.size(); ++i) out += (i ? ", " : "") + Quoted(statuses[i]);
  return out + ")";
}

// The default list's states. The text is the WHERE of the partial index orders_shown (migration
// 5), so the planner can use that index.
constexpr const char* kShownStates = "status NOT IN ('deleted', 'cancelled')";

// WHERE terms on `orders` selecting the query's rows of the account ($1, added by the caller).
std::string OrderFilter(const cas::OrderQuery& q, BoundSql& sql) {
  std::string where = " WHERE account_id = $1::bigint AND ";
  if (q.statuses.empty()) {
    where += kShownStates;
  } else {
    const StatusSplit split = SplitStatuses(q);
    std::vector<std::string> terms;
    if (!split.plain.empty()) terms.push_back("status" + InList(split.plain));
    if (split.windowed_certificate) {
      terms.push_back("(status = 'certificate' AND not_after > " + sql.Add(q.not_after_above) +
                      " AND not_after <= " + sql.Add(q.not_after_at_most) + ")");
    }
    if (terms.empty()) terms.push_back("false");
    where += terms.size() == 1 ? terms[0] : "(" + terms[0] + " OR " + terms[1] + ")";
  }
  if (!q.keyword.empty()) {
    const std::string k = sql.Add(q.keyword);
    where += " AND (strpos(domains, " + k + ") > 0 OR id::text = " + k + ")";
  }
  return where;
}

// How many orders match: from order_counts (kept by triggers, migration 5) unless a keyword or
// a NotAfter window needs the rows — then an index range of the account (the window: index
// entries only) or the account's rows (the keyword).
BoundSql CountOrdersSql(int64_t account_id, const cas::OrderQuery& q) {
  BoundSql sql;
  sql.Add(account_id);
  if (!q.keyword.empty()) {
    sql.text = "SELECT COUNT(*) FROM orders" + OrderFilter(q, sql);
    return sql;
  }
  const StatusSplit split = SplitStatuses(q);
  std::vector<std::string> parts;
  if (q.statuses.empty() || !split.plain.empty()) {
    parts.push_back(
        std::string(
            "(SELECT COALESCE(SUM(n), 0) FROM order_counts WHERE account_id = $1::bigint AND ") +
        (q.statuses.empty() ? std::string(kShownStates) : "status" + InList(split.plain)) + ")");
  }
  if (split.windowed_certificate) {
    parts.push_back(
        "(SELECT COUNT(*) FROM orders WHERE account_id = $1::bigint AND status = 'certificate' "
        "AND not_after > " +
        sql.Add(q.not_after_above) + " AND not_after <= " + sql.Add(q.not_after_at_most) + ")");
  }
  sql.text = "SELECT ";
  for (size_t i = 0; i < parts.size(); ++i) sql.text += (i ? " + " : "") + parts[i];
  if (parts.empty())
    sql.text += "0 WHERE $1::bigint IS NOT NULL";  // nothing listed (only kDeleted)
  return sql;
}

// The page: ids from the index (the rows skipped are index entries only), then those rows.
// `newest_first` false walks from the oldest end (for pages nearer that end); `seek` narrows the
// walk to where the page starts.
BoundSql OrderPageSql(int64_t account_id, const cas::OrderQuery& q, bool newest_first,
                      const Seek& seek, int64_t take) {
  BoundSql sql;
  sql.Add(account_id);
  std::string where = OrderFilter(q, sql);
  if (seek.bound) {
    where += (newest_first ? " AND created_at < " : " AND created_at >= ") + sql.Add(*seek.bound);
  }
  const char* dir = newest_first ? "DESC" : "ASC";
  sql.text = std::string("SELECT ") + kOrderRowColumns +
             " FROM orders WHERE id IN (SELECT id FROM orders" + where + " ORDER BY created_at " +
             dir + ", id " + dir + " LIMIT " + sql.Add(take) + " OFFSET " + sql.Add(seek.skip) +
             ") ORDER BY created_at DESC, id DESC";
  return sql;
}

// The per-bucket counts of the query's states at `level`, in walk order; `coarse`: only the
// level-0 buckets inside that level-1 bucket.
BoundSql BucketSql(int64_t account_id, const cas::OrderQuery& q, int level, bool newest_first,
                   std::optional<int64_t> coarse) {
  BoundSql sql;
  sql.Add(account_id);
  const StatusSplit split = SplitStatuses(q);
  sql.text = "SELECT bucket, SUM(n) FROM order_buckets WHERE account_id = $1::bigint AND level = " +
             std::to_string(level) + " AND " +
             (q.statuses.empty() ? std::string(kShownStates) : "status" + InList(split.plain));
  if (coarse) {
    sql.text += " AND bucket BETWEEN " + sql.Add(*coarse * kFinePerCoarse) + " AND " +
                sql.Add(*coarse * kFinePerCoarse + kFinePerCoarse - 1);
  }
  sql.text += std::string(" GROUP BY bucket ORDER BY bucket ") + (newest_first ? "DESC" : "ASC");
  return sql;
}

// Where a deep page starts, from the bucket counts: the level-1 bucket, then the level-0 bucket
// inside it, holding the page's first entry; the page then skips at most that bucket's entries.
// Lists the bucket counts cannot serve (a keyword, a NotAfter window) and shallow pages: no seek.
// `ran` (optional) receives the statements run.
Result<Seek> SeekPage(PgConnection& conn, int64_t account_id, const cas::OrderQuery& q,
                      const PageWalk& walk, std::vector<BoundSql>* ran) {
  Seek seek{std::nullopt, walk.skip};
  const StatusSplit split = SplitStatuses(q);
  if (walk.skip < kSeekFrom || !q.keyword.empty() || split.windowed_certificate ||
      (!q.statuses.empty() && split.plain.empty())) {
    return seek;
  }
  auto find = [&](const BoundSql& sql,
                  int64_t before) -> Result<std::optional<std::pair<int64_t, int64_t>>> {
    if (ran) ran->push_back(sql);
    Result<PgResultPtr> r = conn.ExecPlanned(sql.text, sql.values);
    if (!r) return r.error();
    int row = 0;
    const int rows = PQntuples(r->get());
    return FindBucket(walk.skip, before, [&](int64_t& bucket, int64_t& n) {
      if (row >= rows) return false;
      bucket = Int(r->get(), row, 0);
      n = Int(r->get(), row, 1);
      ++row;
      return true;
    });
  };
  Result<std::optional<std::pair<int64_t, int64_t>>> coarse =
      find(BucketSql(account_id, q, 1, walk.newest_first, std::nullopt), 0);
  if (!coarse) return coarse.error();
  if (!*coarse) return seek;
  Result<std::optional<std::pair<int64_t, int64_t>>> fine =
      find(BucketSql(account_id, q, 0, walk.newest_first, (*coarse)->first), (*coarse)->second);
  if (!fine) return fine.error();
  if (!*fine) return seek;
  const auto [bucket, before] = **fine;
  seek.bound = (walk.newest_first ? bucket + 1 : bucket) * (int64_t{1} << kFineShift);
  seek.skip = walk.skip - before;
  return seek;
}

// WHERE terms on `certificates` selecting the query's entries of the account ($1). Statuses as
// cas::StatusOf defines them: revoked first, then by NotAfter against now and the 30-day window.
std::string CertificateFilter(const cas::CertificateQuery& q, BoundSql& sql) {
  std::string where = " WHERE account_id = $1::bigint";
  if (q.upload) where += *q.upload ? " AND upload" : " AND NOT upload";
  using St = cas::CertificateStatus;
  if (!(q.Wants(St::kIssued) && q.Wants(St::kWillExpire) && q.Wants(St::kExpired) &&
        q.Wants(St::kRevoked))) {
    const int64_t soon =
        CheckedAdd(q.now, cas::kWillExpireSeconds).value_or(std::numeric_limits<int64_t>::max());
    std::vector<std::string> terms;
    if (q.Wants(St::kIssued))
      terms.push_back("(NOT revoked AND not_after > " + sql.Add(soon) + ")");
    if (q.Wants(St::kWillExpire)) {
      terms.push_back("(NOT revoked AND not_after > " + sql.Add(q.now) +
                      " AND not_after <= " + sql.Add(soon) + ")");
    }
    if (q.Wants(St::kExpired)) {
      terms.push_back("(NOT revoked AND not_after <= " + sql.Add(q.now) + ")");
    }
    if (q.Wants(St::kRevoked)) terms.push_back("revoked");
    std::string any;
    for (const std::string& t : terms) any += (any.empty() ? "" : " OR ") + t;
    where += " AND (" + any + ")";
  }
  if (!q.keyword.empty()) {
    const std::string k = sql.Add(q.keyword);
    where += " AND (strpos(lower(common_name), " + k + ") > 0 OR strpos(lower(sans), " + k +
             ") > 0 OR strpos(lower(instance_id), " + k + ") > 0 OR strpos(lower(name), " + k +
             ") > 0)";
  }
  return where;
}

// The count: index entries only (certificates_list covers every filter column but the
// keyword's).
BoundSql CountCertificatesSql(int64_t account_id, const cas::CertificateQuery& q) {
  BoundSql sql;
  sql.Add(account_id);
  sql.text = "SELECT COUNT(*) FROM certificates" + CertificateFilter(q, sql);
  return sql;
}

// (`seek` never has a bound here: the repository keeps no bucket counts.)
BoundSql CertificatePageSql(int64_t account_id, const cas::CertificateQuery& q, bool newest_first,
                            const Seek& seek, int64_t take) {
  const int64_t skip = seek.skip;
  BoundSql sql;
  sql.Add(account_id);
  const std::string where = CertificateFilter(q, sql);
  const char* dir = newest_first ? "DESC" : "ASC";
  sql.text = std::string("SELECT ") + kCertificateListColumns +
             " FROM certificates WHERE id IN (SELECT id FROM certificates" + where +
             " ORDER BY created_at " + dir + ", id " + dir + " LIMIT " + sql.Add(take) +
             " OFFSET " + sql.Add(skip) + ") ORDER BY created_at DESC, id DESC";
  return sql;
}

// The repository lists skip in the index from the walked end.
Result<Seek> NoSeek(PgConnection&, int64_t, const cas::CertificateQuery&, const PageWalk& walk,
                    std::vector<BoundSql>*) {
  return Seek{std::nullopt, walk.skip};
}

// The statements a list runs when `total` entries match: the count, the seek's (run here), then
// the page if any.
template <typename Query, typename CountSql, typename SeekFn, typename PageSql>
Result<std::vector<BoundSql>> ListStatements(PgConnection& conn, int64_t account_id, const Query& q,
                                             int64_t total, CountSql count, SeekFn seek,
                                             PageSql page) {
  std::vector<BoundSql> out = {count(account_id, q)};
  if (q.offset >= 0 && q.limit > 0 && q.offset < total) {
    const PageWalk walk = WalkFor(total, q.offset, q.limit);
    Result<Seek> start = seek(conn, account_id, q, walk, &out);
    if (!start) return start.error();
    out.push_back(page(account_id, q, walk.newest_first, *start, walk.take));
  }
  return out;
}

// Runs a list in one read-only snapshot (REPEATABLE READ): the count, then the page, each planned
// for its values. `read` turns the page's rows into entries.
template <typename Page, typename Query, typename CountSql, typename SeekFn, typename PageSql,
          typename Read>
Result<Page> RunList(PgConnection& conn, int64_t account_id, const Query& q, CountSql count,
                     SeekFn seek, PageSql page_sql, Read read) {
  Result<PgResultPtr> begin = conn.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  if (!begin) return begin.error();
  auto body = [&]() -> Result<Page> {
    Page page;
    const BoundSql counted = count(account_id, q);
    Result<PgResultPtr> c = conn.ExecPlanned(counted.text, counted.values);
    if (!c) return c.error();
    page.total = Int(c->get(), 0, 0);
    Result<std::vector<BoundSql>> statements =
        ListStatements(conn, account_id, q, page.total, count, seek, page_sql);
    if (!statements) return statements.error();
    if (statements->size() < 2) return page;
    Result<PgResultPtr> rows = conn.ExecPlanned(statements->back().text, statements->back().values);
    if (!rows) return rows.error();
    read(rows->get(), page);
    return page;
  };
  Result<Page> out = body();
  (void)conn.Exec(out ? "COMMIT" : "ROLLBACK");
  return out;
}

// EXPLAIN (FORMAT JSON) of each statement, planned as the list plans it.
Result<std::vector<std::string>> ExplainAll(PgConnection& conn,
                                            const std::vector<BoundSql>& statements) {
  std::vector<std::string> plans;
  for (const BoundSql& sql : statements) {
    Result<PgResultPtr> r = conn.ExecPlanned("EXPLAIN (FORMAT JSON) " + sql.text, sql.values);
    if (!r) return r.error();
    plans.push_back(Text(r->get(), 0, 0));
  }
  return plans;
}

// Stores the certificate of an order that was just issued, inside the caller's transaction.
Status StoreIssuedCertificate(PgConnection& conn, const cas::Order& o) {
  Result<PgResultPtr> stored = conn.Exec(
      "WITH found AS (SELECT MIN(chain_id) AS chain_id FROM ca_chains WHERE pem = $3), "
      "added AS (INSERT INTO ca_chains (pem) SELECT $3 WHERE (SELECT chain_id FROM found) IS "
      "NULL RETURNING chain_id) INSERT INTO issued_certificates (order_id, leaf_pem, chain_id) "
      "SELECT $1::bigint, $2, COALESCE((SELECT chain_id FROM found), (SELECT chain_id FROM "
      "added))",
      {S(o.id), o.certificate_pem, o.chain_pem});
  if (!stored) return stored.error();
  return Ok{};
}

// Moves the package counters of `t`'s order by t.delta, inside the caller's transaction.
Status ApplyDelta(PgConnection& conn, const cas::Transition& t) {
  if (t.delta.used == 0 && t.delta.issued == 0) return Ok{};
  Result<PgResultPtr> delta = conn.Exec(
      "UPDATE package_usage SET used = used + $3, issued = issued + $4 "
      "WHERE account_id = $1 AND product_code = $2",
      {S(t.order.account_id), t.order.product_code, S(t.delta.used), S(t.delta.issued)});
  if (!delta) return delta.error();
  return Ok{};
}

// Stores one transition on `conn`, inside the caller's transaction.
Status StoreTransition(PgConnection& conn, const cas::Transition& t, cas::OrderStatus expected) {
  std::vector<Param> params = OrderParams(t.order);
  params.push_back(std::string(cas::StatusName(expected)));
  Result<PgResultPtr> update = conn.Exec(
      "UPDATE orders SET account_id = $2, product_code = $3, origin = $4, status = $5, "
      "validate_type = $6, domains = $7, token = $8, csr_pem = $9, sealed_private_key = $10, "
      "serial_hex = $11, not_before = $12, not_after = $13, issued_at = $14, holds_unit = $15, "
      "counts_issued = $16, username = $17, phone = $18, email = $19, company_name = $20, "
      "tags_json = $21, created_at = $22, updated_at = $23, validation_deadline = $24, "
      "next_check_at = $25, attempts = $26, renewed_from = $27, failure_reason = $28 "
      "WHERE id = $1 AND status = $29",
      params);
  if (!update) return update.error();
  // Compare-and-set on the state: of two nodes racing on one order, one wins.
  if (std::string(PQcmdTuples(update->get())) != "1") {
    return Error(ErrorCode::kOrderStateError, "The order changed state meanwhile; retry.");
  }
  // The certificate is stored once, when the order becomes issued; later transitions of the
  // order leave it as it is. One statement: the chain's ca_chains row is found (a deployment has
  // a handful: one per issuing CA it ever used, read without an index) or added.
  if (t.order.status == cas::OrderStatus::kCertificate &&
      expected != cas::OrderStatus::kCertificate) {
    if (Status s = StoreIssuedCertificate(conn, t.order); !s) return s;
  }
  // The repository entry lands with the issuance, and learns of a revocation with it.
  if (t.certificate) {
    if (Status s =
            InsertCertificateRow(conn, *t.certificate, t.order.certificate_pem + t.order.chain_pem);
        !s) {
      return s;
    }
  }
  if (t.order.status == cas::OrderStatus::kRevoked) {
    Result<PgResultPtr> revoked =
        conn.Exec("UPDATE certificates SET revoked = true WHERE order_id = $1", {S(t.order.id)});
    if (!revoked) return revoked.error();
  }
  if (t.revocation) {
    const cas::Revocation& r = *t.revocation;
    Result<PgResultPtr> recorded =
        conn.Exec(std::string("INSERT INTO revocations (") + kRevocationColumns +
                      ") VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (order_id) DO NOTHING",
                  {S(r.order_id), r.issuer_key_id, r.serial_hex, S(r.revoked_at),
                   S(static_cast<int64_t>(r.reason)), S(r.not_after)});
    if (!recorded) return recorded.error();
  }
  if (t.audit) {
    if (Status s = InsertAuditRow(conn, *t.audit); !s) return s;
  }
  return ApplyDelta(conn, t);
}

}  // namespace

Status PostgresStore::CreateIssuedOrder(const cas::Transition& t, int64_t now,
                                        const audit::Record& created) {
  static const std::string kTakeAndInsert =
      std::string(
          "WITH take AS (UPDATE package_usage SET used = used + 1 WHERE account_id = $2 "
          "AND product_code = $3 AND used < (SELECT COALESCE(SUM(count), 0) FROM plans "
          "WHERE account_id = $2 AND product_code = $3 AND (expires_at IS NULL OR "
          "expires_at > $29::bigint)) RETURNING 1) INSERT INTO orders (") +
      kOrderRowStored +
      ") SELECT $1::bigint, $2::bigint, $3, $4::integer, $5, $6, $7, $8, $9, $10, $11, "
      "$12::bigint, $13::bigint, $14::bigint, $15::boolean, $16::boolean, $17, $18, $19, $20, $21, "
      "$22::bigint, $23::bigint, $24::bigint, $25::bigint, $26::bigint, $27::bigint, $28 FROM take "
      "RETURNING id";
  // The request's nonce, when its claim was left to this write (ClaimsPendingNonces), is claimed
  // in the same transaction: a replay issues nothing. It is taken only once that commits, so a
  // write that failed leaves it to the order write the caller falls back to, or to the gateway.
  const auth::PendingNonce::Claim* nonce = auth::PendingNonce::Peek();
  Status s = InTransaction([&](PgConnection& conn) -> Status {
    if (nonce != nullptr) {
      Result<PgResultPtr> claimed = conn.Exec(
          "INSERT INTO nonces (access_key_id, nonce, expires_at) VALUES ($1, $2, $3) "
          "ON CONFLICT (access_key_id, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at "
          "WHERE nonces.expires_at < $4 RETURNING 1",
          {nonce->access_key_id, nonce->nonce, S(nonce->expires_at), S(nonce->now)});
      if (!claimed) return claimed.error();
      if (PQntuples(claimed->get()) != 1) return NonceUsed();
    }
    std::vector<Param> params = OrderParams(t.order);
    params.push_back(S(now));
    Result<PgResultPtr> r = conn.Exec(kTakeAndInsert, params);
    if (!r) return r.error();
    if (PQntuples(r->get()) != 1) {
      Result<PgResultPtr> total = conn.Exec(
          "SELECT COALESCE(SUM(count), 0) FROM plans WHERE account_id = $1 AND product_code = $2 "
          "AND (expires_at IS NULL OR expires_at > $3)",
          {S(t.order.account_id), t.order.product_code, S(now)});
      if (!total) return total.error();
      return QuotaRefused(Int(total->get(), 0, 0), t.order.product_code);
    }
    if (Status s = StoreIssuedCertificate(conn, t.order); !s) return s;
    if (t.certificate) {
      if (Status s = InsertCertificateRow(conn, *t.certificate,
                                          t.order.certificate_pem + t.order.chain_pem);
          !s) {
        return s;
      }
    }
    if (Status s = InsertAuditRow(conn, created); !s) return s;
    if (t.audit) {
      if (Status s = InsertAuditRow(conn, *t.audit); !s) return s;
    }
    return ApplyDelta(conn, t);
  });
  if (s && nonce != nullptr) (void)auth::PendingNonce::Take();
  return s;
}

Status PostgresStore::ApplyTransition(const cas::Transition& t, cas::OrderStatus expected) {
  return InTransaction(
      [&](PgConnection& conn) -> Status { return StoreTransition(conn, t, expected); });
}

std::vector<Status> PostgresStore::ApplyTransitions(const std::vector<PendingTransition>& batch) {
  std::vector<Status> results(batch.size(), Status(Ok{}));
  Status committed = InTransaction([&](PgConnection& conn) -> Status {
    for (size_t i = 0; i < batch.size(); ++i) {
      results[i] = StoreTransition(conn, batch[i].transition, batch[i].expected);
      // A lost compare-and-set changed nothing; any other failure aborted the transaction.
      if (!results[i] && results[i].error().code != ErrorCode::kOrderStateError) {
        return results[i];
      }
    }
    return Ok{};
  });
  if (!committed) results.assign(batch.size(), committed);
  return results;
}

Result<std::vector<cas::Order>> PostgresStore::DueOrders(int64_t now, int limit) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  // Claim: rows locked by another node's claim are skipped, and the lease moves next_check_at
  // so no other node picks the order up while this one works on it.
  Result<PgResultPtr> r = (*conn)->Exec(
      std::string("UPDATE orders SET next_check_at = $1::bigint + $3::bigint WHERE id IN (SELECT "
                  "id FROM orders "
                  "WHERE status IN ('domain_verify', 'process') AND next_check_at <= $1 "
                  "ORDER BY next_check_at LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING ") +
          kOrderRowColumns,
      {S(now), S(limit), S(kLeaseSeconds)});
  if (!r) return r.error();
  std::vector<cas::Order> orders = ReadOrders(r->get());
  for (cas::Order& o : orders) o.next_check_at = now;  // as due as it was when claimed
  return orders;
}

Result<int64_t> PostgresStore::PruneReleasedOrders(int64_t before, int64_t max_rows) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  // One statement: each kind through its partial index (migrations 13 and 14) and what hangs
  // off it; the deferred count triggers run at its commit.
  Result<PgResultPtr> r = (*conn)->Exec(
      "WITH released AS (DELETE FROM orders WHERE id IN (SELECT id FROM orders WHERE status IN "
      "('cancelled', 'deleted') AND NOT holds_unit AND updated_at < $1 ORDER BY updated_at "
      "LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING id), "
      "refunded AS (DELETE FROM orders WHERE id IN (SELECT id FROM orders WHERE status = "
      "'revoked' AND NOT holds_unit AND not_after < $1 ORDER BY not_after "
      "LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING id), "
      "gone AS (SELECT id FROM released UNION ALL SELECT id FROM refunded), "
      "views AS (DELETE FROM acme_orders WHERE order_id IN (SELECT id FROM gone)), "
      "leaves AS (DELETE FROM issued_certificates WHERE order_id IN (SELECT id FROM refunded)), "
      "entries AS (DELETE FROM certificates WHERE NOT upload AND order_id IN "
      "(SELECT id FROM refunded)), "
      "records AS (DELETE FROM revocations WHERE order_id IN (SELECT id FROM refunded)) "
      "SELECT COUNT(*) FROM gone",
      {S(before), S(max_rows)});
  if (!r) return r.error();
  return Int(r->get(), 0, 0);
}

Result<cas::OrderPage> PostgresStore::ListOrders(int64_t account_id, const cas::OrderQuery& query) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  return RunList<cas::OrderPage>(
      **conn, account_id, query, CountOrdersSql, SeekPage, OrderPageSql,
      [](const PGresult* r, cas::OrderPage& page) { page.orders = ReadOrders(r); });
}

Result<std::vector<std::string>> PostgresStore::ExplainListOrders(int64_t account_id,
                                                                  const cas::OrderQuery& query,
                                                                  int64_t total) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<std::vector<BoundSql>> statements =
      ListStatements(**conn, account_id, query, total, CountOrdersSql, SeekPage, OrderPageSql);
  if (!statements) return statements.error();
  return ExplainAll(**conn, *statements);
}

Result<std::vector<cas::ListCountDrift>> PostgresStore::AuditListCounts() {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r = (*conn)->Exec(kAuditListCountsSql);
  if (!r) return r.error();
  std::vector<cas::ListCountDrift> drifts;
  const PGresult* res = r->get();
  for (int i = 0; i < PQntuples(res); ++i) {
    drifts.push_back(cas::ListCountDrift{Int(res, i, 0), Text(res, i, 1),
                                         static_cast<int>(Int(res, i, 2)), Int(res, i, 3),
                                         Int(res, i, 4), Int(res, i, 5)});
  }
  return drifts;
}

Result<std::vector<CounterDrift>> PostgresStore::AuditCounters() {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r = (*conn)->Exec(
      "SELECT COALESCE(u.account_id, o.account_id), COALESCE(u.product_code, o.product_code), "
      "COALESCE(u.used, 0), COALESCE(u.issued, 0), COALESCE(o.used, 0), COALESCE(o.issued, 0) "
      "FROM package_usage u FULL OUTER JOIN (SELECT account_id, product_code, "
      "COUNT(*) FILTER (WHERE holds_unit) AS used, COUNT(*) FILTER (WHERE counts_issued) AS issued "
      "FROM orders GROUP BY account_id, product_code) o "
      "ON o.account_id = u.account_id AND o.product_code = u.product_code "
      "WHERE COALESCE(u.used, 0) <> COALESCE(o.used, 0) OR COALESCE(u.issued, 0) <> "
      "COALESCE(o.issued, 0)");
  if (!r) return r.error();
  std::vector<CounterDrift> drifts;
  for (int i = 0; i < PQntuples(r->get()); ++i) {
    const PGresult* res = r->get();
    drifts.push_back(CounterDrift{Int(res, i, 0), Text(res, i, 1),
                                  PackageCounters{0, Int(res, i, 2), Int(res, i, 3)},
                                  PackageCounters{0, Int(res, i, 4), Int(res, i, 5)}});
  }
  return drifts;
}

Status PostgresStore::CreateUser(const User& user, const audit::Record& audit) {
  return InTransaction([&](PgConnection& conn) -> Status {
    Result<PgResultPtr> r =
        conn.Exec("INSERT INTO users (account_id, name, created_at) VALUES ($1, $2, $3)",
                  {S(user.account_id), user.name, S(user.created_at)});
    if (!r) return Clash(conn, r.error(), "A user with this name already exists.");
    return InsertAuditRow(conn, audit);
  });
}

Result<std::vector<User>> PostgresStore::ListUsers(int64_t account_id) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r = (*conn)->Exec(
      "SELECT account_id, name, created_at FROM users WHERE account_id = $1 ORDER BY name",
      {S(account_id)});
  if (!r) return r.error();
  std::vector<User> users;
  for (int i = 0; i < PQntuples(r->get()); ++i) {
    users.push_back(User{Int(r->get(), i, 0), Text(r->get(), i, 1), Int(r->get(), i, 2)});
  }
  return users;
}

Result<bool> PostgresStore::UserExists(int64_t account_id, std::string_view name) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r = (*conn)->Exec("SELECT 1 FROM users WHERE account_id = $1 AND name = $2",
                                        {S(account_id), std::string(name)});
  if (!r) return r.error();
  return PQntuples(r->get()) > 0;
}

Status PostgresStore::DeleteUser(int64_t account_id, std::string_view name,
                                 const audit::Record& audit) {
  return InTransaction([&](PgConnection& conn) -> Status {
    std::vector<Param> params = {S(account_id), std::string(name)};
    for (const char* sql :
         {"DELETE FROM access_keys WHERE account_id = $1 AND user_name = $2",
          "DELETE FROM policy_attachments WHERE account_id = $1 AND user_name = $2"}) {
      Result<PgResultPtr> r = conn.Exec(sql, params);
      if (!r) return r.error();
    }
    Result<PgResultPtr> r =
        conn.Exec("DELETE FROM users WHERE account_id = $1 AND name = $2", params);
    if (!r) return r.error();
    if (std::string(PQcmdTuples(r->get())) == "0")
      return Error(ErrorCode::kInvalidParameter, "No such user.");
    return InsertAuditRow(conn, audit);
  });
}

Status PostgresStore::CreatePolicy(const PolicyRecord& policy, const audit::Record& audit) {
  return InTransaction([&](PgConnection& conn) -> Status {
    Result<PgResultPtr> r = conn.Exec(
        "INSERT INTO policies (account_id, name, document, created_at) VALUES ($1, $2, $3, $4)",
        {S(policy.account_id), policy.name, policy.document, S(policy.created_at)});
    if (!r) return Clash(conn, r.error(), "A policy with this name already exists.");
    return InsertAuditRow(conn, audit);
  });
}

Result<std::vector<PolicyRecord>> PostgresStore::ListPolicies(int64_t account_id) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r = (*conn)->Exec(
      "SELECT account_id, name, document, created_at FROM policies WHERE account_id = $1 ORDER BY "
      "name",
      {S(account_id)});
  if (!r) return r.error();
  std::vector<PolicyRecord> out;
  for (int i = 0; i < PQntuples(r->get()); ++i) {
    out.push_back(PolicyRecord{Int(r->get(), i, 0), Text(r->get(), i, 1), Text(r->get(), i, 2),
                               Int(r->get(), i, 3)});
  }
  return out;
}

Status PostgresStore::AttachPolicy(int64_t account_id, std::string_view user,
                                   std::string_view policy, bool system,
                                   const audit::Record& audit) {
  return InTransaction([&](PgConnection& conn) -> Status {
    if (!system) {
      Result<PgResultPtr> exists =
          conn.Exec("SELECT 1 FROM policies WHERE account_id = $1 AND name = $2",
                    {S(account_id), std::string(policy)});
      if (!exists) return exists.error();
      if (PQntuples(exists->get()) == 0)
        return Error(ErrorCode::kInvalidParameter, "No such policy.");
    }
    Result<PgResultPtr> r = conn.Exec(
        "INSERT INTO policy_attachments (account_id, user_name, policy_name, system) VALUES ($1, "
        "$2, $3, $4)",
        {S(account_id), std::string(user), std::string(policy), B(system)});
    if (!r) return Clash(conn, r.error(), "The policy is already attached.");
    return InsertAuditRow(conn, audit);
  });
}

Result<bool> PostgresStore::DetachPolicy(int64_t account_id, std::string_view user,
                                         std::string_view policy, const audit::Record& audit) {
  bool detached = false;
  Status s = InTransaction([&](PgConnection& conn) -> Status {
    Result<PgResultPtr> r = conn.Exec(
        "DELETE FROM policy_attachments WHERE account_id = $1 AND user_name = $2 AND "
        "policy_name = $3",
        {S(account_id), std::string(user), std::string(policy)});
    if (!r) return r.error();
    detached = std::string(PQcmdTuples(r->get())) != "0";
    return detached ? InsertAuditRow(conn, audit) : Status(Ok{});
  });
  if (!s) return s.error();
  return detached;
}

Result<std::vector<std::pair<std::string, std::string>>> PostgresStore::AttachedPolicies(
    int64_t account_id, std::string_view user) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r = (*conn)->Exec(
      "SELECT a.policy_name, COALESCE(p.document, '') FROM policy_attachments a "
      "LEFT JOIN policies p ON NOT a.system AND p.account_id = a.account_id AND "
      "p.name = a.policy_name WHERE a.account_id = $1 AND a.user_name = $2 ORDER BY a.policy_name",
      {S(account_id), std::string(user)});
  if (!r) return r.error();
  std::vector<std::pair<std::string, std::string>> out;
  for (int i = 0; i < PQntuples(r->get()); ++i)
    out.emplace_back(Text(r->get(), i, 0), Text(r->get(), i, 1));
  return out;
}

Status PostgresStore::RememberNonce(std::string_view access_key_id, std::string_view nonce,
                                    int64_t expires_at, int64_t now) {
  return nonces_.Claim(NonceClaim{access_key_id, nonce, expires_at, now});
}

namespace {

// A PostgreSQL array literal of the strings, each quoted and escaped (nonces are client text).
std::string TextArray(const std::vector<std::string_view>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out += '}';
}

}  // namespace

std::vector<Status> PostgresStore::RememberNonces(const std::vector<const NonceClaim*>& claims) {
  std::vector<Status> outcomes(claims.size(), Status(Ok{}));
  // A nonce twice in one batch: the later claims replay the first (and one statement may not
  // touch a row twice).
  std::set<std::pair<std::string_view, std::string_view>> seen;
  std::vector<size_t> sent;
  std::vector<std::string_view> keys, values;
  std::vector<int64_t> expiries;
  int64_t now = claims.empty() ? 0 : claims.front()->now;
  for (size_t i = 0; i < claims.size(); ++i) {
    const NonceClaim& c = *claims[i];
    if (!seen.insert({c.access_key_id, c.nonce}).second) {
      outcomes[i] = NonceUsed();
      continue;
    }
    sent.push_back(i);
    keys.push_back(c.access_key_id);
    values.push_back(c.nonce);
    expiries.push_back(c.expires_at);
    now = std::min(now, c.now);  // an entry is taken over only once expired for every claim
  }
  if (sent.empty()) return outcomes;
  auto fail_all = [&](const Error& e) {
    for (size_t i : sent) outcomes[i] = e;
    return outcomes;
  };
  Result<Lease> conn = Acquire();
  if (!conn) return fail_all(conn.error());
  // Inserted, or an expired entry taken over: returned. A live entry: the nonce was used.
  Result<PgResultPtr> r = (*conn)->Exec(
      "INSERT INTO nonces (access_key_id, nonce, expires_at) "
      "SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) "
      "ON CONFLICT (access_key_id, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at "
      "WHERE nonces.expires_at < $4 RETURNING access_key_id, nonce",
      {TextArray(keys), TextArray(values), IntArray(expiries), S(now)});
  if (!r) return fail_all(r.error());
  std::set<std::pair<std::string, std::string>> fresh;
  for (int row = 0; row < PQntuples(r->get()); ++row) {
    fresh.emplace(Text(r->get(), row, 0), Text(r->get(), row, 1));
  }
  for (size_t i : sent) {
    const NonceClaim& c = *claims[i];
    if (!fresh.count({std::string(c.access_key_id), std::string(c.nonce)}))
      outcomes[i] = NonceUsed();
  }
  SweepNonces(**conn, sent.size(), now);
  return outcomes;
}

void PostgresStore::SweepNonces(PgConnection& conn, size_t claimed, int64_t now) {
  // Now and then, sweep what has expired (any node may; the index makes it cheap).
  if (claimed_since_sweep_.fetch_add(claimed) + claimed < 1024) return;
  claimed_since_sweep_.store(0);
  (void)conn.Exec("DELETE FROM nonces WHERE expires_at < $1", {S(now)});
}

Result<cas::Certificate> PostgresStore::InsertUpload(cas::Certificate certificate,
                                                     const audit::Record& audit,
                                                     int64_t max_uploads) {
  for (int attempt = 0; attempt < 4; ++attempt) {
    certificate.id = NewUploadCertId();
    certificate.instance_id = cas::UploadInstanceId(certificate.id);
    bool clash = false;
    Status s = InTransaction([&](PgConnection& conn) -> Status {
      // The account's uploads are serialized by a transaction-scoped advisory lock (the
      // two-key space, apart from the migrations' one-key lock; accounts hashing alike only
      // wait for each other). The count is a statement of its own, after the lock: under READ
      // COMMITTED it then sees every upload committed before, and none can commit until this
      // transaction ends.
      Result<PgResultPtr> locked = conn.Exec(kUploadLockSql, {S(certificate.account_id)});
      if (!locked) return locked.error();
      Result<PgResultPtr> counted = conn.Exec(
          "SELECT COUNT(*) FROM (SELECT 1 FROM certificates WHERE account_id = $1::bigint "
          "AND upload LIMIT $2::bigint) held",
          {S(certificate.account_id), S(max_uploads)});
      if (!counted) return counted.error();
      if (Int(counted->get(), 0, 0) >= max_uploads) return cas::UploadsOverQuota(max_uploads);
      Status inserted = InsertCertificateRow(conn, certificate);
      // A random id clash (astronomically rare): try another id, in a new transaction.
      clash = !inserted && conn.sqlstate() == "23505" &&
              inserted.error().code != ErrorCode::kParamRepeat;
      if (!inserted) return inserted;
      return InsertAuditRow(conn, Naming(audit, certificate.id));
    });
    if (s) return certificate;
    if (clash) continue;
    return s.error();
  }
  return InternalError("could not allocate a certificate id");
}

Result<std::optional<cas::Certificate>> PostgresStore::FindCertificate(int64_t account_id,
                                                                       int64_t cert_id) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r =
      (*conn)->Exec(std::string("SELECT ") + kCertificateSelect + kCertificateWithChain +
                        " WHERE c.id = $1 AND c.account_id = $2",
                    {S(cert_id), S(account_id)});
  if (!r) return r.error();
  if (PQntuples(r->get()) == 0) return std::optional<cas::Certificate>();
  return std::optional<cas::Certificate>(ReadCertificate(r->get(), 0));
}

Result<bool> PostgresStore::DeleteCertificate(int64_t account_id, int64_t cert_id,
                                              const audit::Record& audit) {
  bool deleted = false;
  Status s = InTransaction([&](PgConnection& conn) -> Status {
    Result<PgResultPtr> r = conn.Exec("DELETE FROM certificates WHERE id = $1 AND account_id = $2",
                                      {S(cert_id), S(account_id)});
    if (!r) return r.error();
    deleted = std::string(PQcmdTuples(r->get())) == "1";
    return deleted ? InsertAuditRow(conn, audit) : Status(Ok{});
  });
  if (!s) return s.error();
  return deleted;
}

Result<cas::CertificatePage> PostgresStore::ListCertificates(int64_t account_id,
                                                             const cas::CertificateQuery& query) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  return RunList<cas::CertificatePage>(**conn, account_id, query, CountCertificatesSql, NoSeek,
                                       CertificatePageSql,
                                       [](const PGresult* r, cas::CertificatePage& page) {
                                         for (int i = 0; i < PQntuples(r); ++i)
                                           page.entries.push_back(ReadCertificate(r, i));
                                       });
}

Result<std::vector<std::string>> PostgresStore::ExplainListCertificates(
    int64_t account_id, const cas::CertificateQuery& query, int64_t total) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<std::vector<BoundSql>> statements = ListStatements(
      **conn, account_id, query, total, CountCertificatesSql, NoSeek, CertificatePageSql);
  if (!statements) return statements.error();
  return ExplainAll(**conn, *statements);
}

// Records with no issuer ('') were made before issuers were recorded: the database's own CA.
Result<std::vector<cas::Revocation>> PostgresStore::ListRevocations(std::string_view issuer_key_id,
                                                                    int64_t now) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r = (*conn)->Exec(
      std::string("SELECT ") + kRevocationColumns +
          " FROM revocations WHERE issuer_key_id IN ($1, '') AND not_after > $2::bigint "
          "ORDER BY serial_hex COLLATE \"C\"",
      {std::string(issuer_key_id), S(now)});
  if (!r) return r.error();
  std::vector<cas::Revocation> out;
  const int rows = PQntuples(r->get());
  out.reserve(static_cast<size_t>(rows));
  for (int i = 0; i < rows; ++i) out.push_back(ReadRevocation(r->get(), i));
  return out;
}

Result<cas::RevocationsVersion> PostgresStore::VersionOfRevocations(
    std::string_view issuer_key_id) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r = (*conn)->Exec(
      "SELECT COUNT(*), COALESCE(MAX(revoked_at), 0) FROM revocations "
      "WHERE issuer_key_id IN ($1, '')",
      {std::string(issuer_key_id)});
  if (!r) return r.error();
  return cas::RevocationsVersion{Int(r->get(), 0, 0), Int(r->get(), 0, 1)};
}

Result<std::optional<cas::IssuedSerial>> PostgresStore::FindIssuedSerial(
    std::string_view serial_hex) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  // `serial_hex <> ''` lets the planner use the partial index orders_by_serial.
  Result<PgResultPtr> r = (*conn)->Exec(
      "SELECT o.id, COALESCE(ch.pem, ''), o.not_after, r.order_id IS NOT NULL, "
      "COALESCE(r.order_id, 0), COALESCE(r.issuer_key_id, ''), COALESCE(r.serial_hex, ''), "
      "COALESCE(r.revoked_at, 0), COALESCE(r.reason, 0), COALESCE(r.not_after, 0) "
      "FROM orders o LEFT JOIN revocations r ON r.order_id = o.id "
      "LEFT JOIN issued_certificates i ON i.order_id = o.id "
      "LEFT JOIN ca_chains ch ON ch.chain_id = i.chain_id "
      "WHERE o.serial_hex = $1 AND o.serial_hex <> '' AND o.status IN ('certificate', 'revoked') "
      "LIMIT 1",
      {std::string(serial_hex)});
  if (!r) return r.error();
  if (PQntuples(r->get()) == 0) return std::optional<cas::IssuedSerial>();
  cas::IssuedSerial found;
  found.order_id = Int(r->get(), 0, 0);
  found.chain_pem = Text(r->get(), 0, 1);
  found.not_after = Int(r->get(), 0, 2);
  if (IsTrue(r->get(), 0, 3)) found.revocation = ReadRevocation(r->get(), 0, 4);
  return std::optional<cas::IssuedSerial>(std::move(found));
}

Status PostgresStore::InsertOperatorToken(const ops::OperatorTokenRecord& token,
                                          const audit::Record& audit) {
  return InTransaction([&](PgConnection& conn) -> Status {
    Result<PgResultPtr> r = conn.Exec(
        "INSERT INTO operator_tokens (id, name, token_hash, created_at) VALUES ($1, $2, $3, $4)",
        {token.id, token.name, token.token_hash, S(token.created_at)});
    if (!r) {
      return Clash(
          conn, r.error(),
          InvalidParameter("Name", "an operator token that is not revoked has this name.").message);
    }
    return InsertAuditRow(conn, audit);
  });
}

Result<std::optional<ops::OperatorTokenRecord>> PostgresStore::FindOperatorToken(
    std::string_view id) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r =
      (*conn)->Exec(std::string(kTokenColumns) + "WHERE id = $1", {std::string(id)});
  if (!r) return r.error();
  if (PQntuples(r->get()) == 0) return std::optional<ops::OperatorTokenRecord>();
  return std::optional<ops::OperatorTokenRecord>(ReadOperatorToken(r->get(), 0));
}

Result<std::vector<ops::OperatorTokenRecord>> PostgresStore::ListOperatorTokens() {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r = (*conn)->Exec(std::string(kTokenColumns) + "ORDER BY created_at, id");
  if (!r) return r.error();
  std::vector<ops::OperatorTokenRecord> out;
  for (int i = 0; i < PQntuples(r->get()); ++i) out.push_back(ReadOperatorToken(r->get(), i));
  return out;
}

Status PostgresStore::TouchOperatorToken(std::string_view id, int64_t now) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r = (*conn)->Exec(
      "UPDATE operator_tokens SET last_used_at = $2 WHERE id = $1", {std::string(id), S(now)});
  if (!r) return r.error();
  return Ok{};
}

Result<bool> PostgresStore::RevokeOperatorToken(std::string_view id, int64_t now,
                                                const audit::Record& audit) {
  bool revoked = false;
  Status s = InTransaction([&](PgConnection& conn) -> Status {
    // COALESCE keeps the first revocation time when a revoked token is revoked again.
    Result<PgResultPtr> r =
        conn.Exec("UPDATE operator_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
                  {std::string(id), S(now)});
    if (!r) return r.error();
    revoked = std::string(PQcmdTuples(r->get())) == "1";
    return revoked ? InsertAuditRow(conn, audit) : Status(Ok{});
  });
  if (!s) return s.error();
  return revoked;
}

Result<std::optional<ops::PlanGrantRecord>> PostgresStore::FindPlanGrant(std::string_view key) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  return ReadPlanGrant(**conn, key);
}

Result<ops::PlanGrantOnce> PostgresStore::GrantPlanOnce(const Plan& plan, std::string_view key,
                                                        std::string_view request_hash,
                                                        const audit::Record& audit) {
  ops::PlanGrantOnce out;
  bool lost = false;
  Status s = InTransaction([&](PgConnection& conn) -> Status {
    Result<std::optional<ops::PlanGrantRecord>> seen = ReadPlanGrant(conn, key);
    if (!seen) return seen.error();
    if (*seen) {
      out = ops::PlanGrantOnce{std::move(**seen), false};
      return Ok{};
    }
    Result<Plan> stored = InsertPlanRows(conn, plan);
    if (!stored) return stored.error();
    // A concurrent first attempt with the same key holds the key's row: this INSERT waits for
    // its commit and then inserts nothing, and this transaction (its plan included) rolls back.
    Result<PgResultPtr> r = conn.Exec(
        "INSERT INTO plan_grant_keys (idempotency_key, request_hash, plan_id, created_at) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (idempotency_key) DO NOTHING",
        {std::string(key), std::string(request_hash), S(stored->id), S(plan.granted_at)});
    if (!r) return r.error();
    if (std::string(PQcmdTuples(r->get())) != "1") {
      lost = true;
      return InternalError("idempotency key taken by a concurrent grant");  // rolls back
    }
    if (Status a = InsertAuditRow(conn, Naming(audit, stored->id)); !a) return a;
    out = ops::PlanGrantOnce{
        ops::PlanGrantRecord{std::string(key), std::string(request_hash), std::move(*stored)},
        true};
    return Ok{};
  });
  if (lost) {
    Result<std::optional<ops::PlanGrantRecord>> winner = FindPlanGrant(key);
    if (!winner) return winner.error();
    if (!*winner) return InternalError("idempotency key row vanished");
    return ops::PlanGrantOnce{std::move(**winner), false};
  }
  if (!s) return s.error();
  return out;
}

// --- acme::AcmeStore ------------------------------------------------------------------

namespace {

constexpr const char* kEabColumns =
    "SELECT key_id, account_id, product_code, sealed_hmac_key, single_use, names, revoked, "
    "created_at FROM acme_eab_keys ";
constexpr const char* kAcmeAccountColumns =
    "SELECT id, thumbprint, jwk, eab_key_id, account_id, product_code, deactivated, contact, "
    "created_at FROM acme_accounts ";

acme::EabKey ReadEabKey(const PGresult* r, int i) {
  acme::EabKey k;
  k.key_id = Text(r, i, 0);
  k.account_id = Int(r, i, 1);
  k.product_code = Text(r, i, 2);
  k.sealed_hmac_key = HexDecode(Text(r, i, 3)).value_or("");
  k.single_use = IsTrue(r, i, 4);
  const std::string names = Text(r, i, 5);
  if (!names.empty()) k.names = SplitDomains(names);
  k.revoked = IsTrue(r, i, 6);
  k.created_at = Int(r, i, 7);
  return k;
}

acme::AcmeAccount ReadAcmeAccount(const PGresult* r, int i) {
  acme::AcmeAccount a;
  a.id = Int(r, i, 0);
  a.thumbprint = Text(r, i, 1);
  a.jwk_json = Text(r, i, 2);
  a.eab_key_id = Text(r, i, 3);
  a.account_id = Int(r, i, 4);
  a.product_code = Text(r, i, 5);
  a.deactivated = IsTrue(r, i, 6);
  a.contact_json = Text(r, i, 7);
  a.created_at = Int(r, i, 8);
  return a;
}

std::vector<int64_t> Ids(const PGresult* r) {
  std::vector<int64_t> ids;
  for (int i = 0; i < PQntuples(r); ++i) ids.push_back(Int(r, i, 0));
  return ids;
}

}  // namespace

Result<std::string> PostgresStore::AcmeSharedSecret(std::string_view name,
                                                    std::string_view candidate) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  // First writer wins: every node reads the value that went in first.
  Result<PgResultPtr> r = (*conn)->Exec(
      "WITH ins AS (INSERT INTO acme_secrets (name, value) VALUES ($1, $2) "
      "ON CONFLICT DO NOTHING RETURNING value) "
      "SELECT value FROM ins UNION ALL SELECT value FROM acme_secrets WHERE name = $1",
      {std::string(name), HexEncode(candidate)});
  if (!r) return r.error();
  if (PQntuples(r->get()) < 1) return InternalError("acme secret missing after insert");
  return HexDecode(Text(r->get(), 0, 0)).value_or("");
}

Status PostgresStore::InsertEabKey(const acme::EabKey& k) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r = (*conn)->Exec(
      "INSERT INTO acme_eab_keys (key_id, account_id, product_code, sealed_hmac_key, "
      "single_use, names, revoked, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
      {k.key_id, S(k.account_id), k.product_code, HexEncode(k.sealed_hmac_key), B(k.single_use),
       JoinDomains(k.names), B(k.revoked), S(k.created_at)});
  if (!r) {
    if ((*conn)->sqlstate() == "23505") {
      return Error(ErrorCode::kParamRepeat, "An EAB key with this id exists.");
    }
    if ((*conn)->sqlstate() == "23503")
      return Error(ErrorCode::kInvalidParameter, "No such account.");
    return r.error();
  }
  return Ok{};
}

Result<std::optional<acme::EabKey>> PostgresStore::FindEabKey(std::string_view key_id) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r =
      (*conn)->Exec(std::string(kEabColumns) + "WHERE key_id = $1", {std::string(key_id)});
  if (!r) return r.error();
  if (PQntuples(r->get()) == 0) return std::optional<acme::EabKey>();
  return std::optional<acme::EabKey>(ReadEabKey(r->get(), 0));
}

Result<std::vector<acme::EabKeyUsage>> PostgresStore::ListEabKeys(int64_t account_id) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> keys =
      (*conn)->Exec(std::string(kEabColumns) + "WHERE account_id = $1 ORDER BY created_at, key_id",
                    {S(account_id)});
  if (!keys) return keys.error();
  std::vector<acme::EabKeyUsage> out;
  for (int i = 0; i < PQntuples(keys->get()); ++i) out.push_back({ReadEabKey(keys->get(), i), {}});
  for (acme::EabKeyUsage& usage : out) {
    Result<PgResultPtr> r = (*conn)->Exec(
        "SELECT a.id, a.deactivated, COUNT(o.id), COALESCE(SUM(o.holds_unit::int), 0), "
        "COALESCE(SUM(o.counts_issued::int), 0) FROM acme_accounts a "
        "LEFT JOIN acme_orders m ON m.acme_account_id = a.id "
        "LEFT JOIN orders o ON o.id = m.order_id "
        "WHERE a.eab_key_id = $1 GROUP BY a.id ORDER BY a.id",
        {usage.key.key_id});
    if (!r) return r.error();
    for (int i = 0; i < PQntuples(r->get()); ++i) {
      usage.accounts.push_back({Int(r->get(), i, 0), IsTrue(r->get(), i, 1), Int(r->get(), i, 2),
                                Int(r->get(), i, 3), Int(r->get(), i, 4)});
    }
  }
  return out;
}

Result<bool> PostgresStore::RevokeEabKey(std::string_view key_id) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r = (*conn)->Exec("UPDATE acme_eab_keys SET revoked = true WHERE key_id = $1",
                                        {std::string(key_id)});
  if (!r) return r.error();
  return std::string(PQcmdTuples(r->get())) != "0";
}

Result<acme::AcmeAccount> PostgresStore::CreateAcmeAccount(acme::AcmeAccount account,
                                                           int64_t max_accounts) {
  std::optional<acme::AcmeAccount> existing;
  Status s = InTransaction([&](PgConnection& conn) -> Status {
    // The key row is locked, so a single-use key binds once even when nodes race with it.
    // The count is a statement of its own, so under READ COMMITTED it sees what a racing
    // transaction committed before it released the lock.
    Result<PgResultPtr> key =
        conn.Exec("SELECT revoked, single_use FROM acme_eab_keys WHERE key_id = $1 FOR UPDATE",
                  {account.eab_key_id});
    if (!key) return key.error();
    Result<PgResultPtr> bound = conn.Exec(
        "SELECT COUNT(*) FROM (SELECT 1 FROM acme_accounts WHERE eab_key_id = $1 LIMIT $2) b",
        {account.eab_key_id, S(max_accounts)});
    if (!bound) return bound.error();
    Result<PgResultPtr> found =
        conn.Exec(std::string(kAcmeAccountColumns) + "WHERE thumbprint = $1", {account.thumbprint});
    if (!found) return found.error();
    if (PQntuples(found->get()) > 0) {
      existing = ReadAcmeAccount(found->get(), 0);
      return Ok{};
    }
    if (PQntuples(key->get()) == 0) {
      return Error(ErrorCode::kOrderStateError, "The EAB key does not exist.");
    }
    if (IsTrue(key->get(), 0, 0)) {
      return Error(ErrorCode::kOrderStateError, "The EAB key was revoked.");
    }
    if (IsTrue(key->get(), 0, 1) && Int(bound->get(), 0, 0) > 0) {
      return Error(ErrorCode::kOrderStateError, "The single-use EAB key has bound an account.");
    }
    if (Int(bound->get(), 0, 0) >= max_accounts) return acme::AccountsPerKeyRefused(max_accounts);
    Result<PgResultPtr> r = conn.Exec(
        "INSERT INTO acme_accounts (thumbprint, jwk, eab_key_id, account_id, product_code, "
        "deactivated, contact, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        {account.thumbprint, account.jwk_json, account.eab_key_id, S(account.account_id),
         account.product_code, B(account.deactivated), account.contact_json,
         S(account.created_at)});
    if (!r) return r.error();
    account.id = Int(r->get(), 0, 0);
    return Ok{};
  });
  if (!s) return s.error();
  if (existing) return std::move(*existing);
  return account;
}

Result<std::optional<acme::AcmeAccount>> PostgresStore::FindAcmeAccount(int64_t id) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r =
      (*conn)->Exec(std::string(kAcmeAccountColumns) + "WHERE id = $1", {S(id)});
  if (!r) return r.error();
  if (PQntuples(r->get()) == 0) return std::optional<acme::AcmeAccount>();
  return std::optional<acme::AcmeAccount>(ReadAcmeAccount(r->get(), 0));
}

Result<std::optional<acme::AcmeAccount>> PostgresStore::FindAcmeAccountByThumbprint(
    std::string_view tp) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r =
      (*conn)->Exec(std::string(kAcmeAccountColumns) + "WHERE thumbprint = $1", {std::string(tp)});
  if (!r) return r.error();
  if (PQntuples(r->get()) == 0) return std::optional<acme::AcmeAccount>();
  return std::optional<acme::AcmeAccount>(ReadAcmeAccount(r->get(), 0));
}

Status PostgresStore::UpdateAcmeAccount(const acme::AcmeAccount& a) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r = (*conn)->Exec(
      "UPDATE acme_accounts SET thumbprint = $2, jwk = $3, deactivated = $4, contact = $5 "
      "WHERE id = $1",
      {S(a.id), a.thumbprint, a.jwk_json, B(a.deactivated), a.contact_json});
  if (!r) {
    if ((*conn)->sqlstate() == "23505") {
      return Error(ErrorCode::kParamRepeat, "The key belongs to another account.");
    }
    return r.error();
  }
  return Ok{};
}

Status PostgresStore::InsertAcmeOrder(const acme::AcmeOrder& o) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r = (*conn)->Exec(
      "INSERT INTO acme_orders (order_id, acme_account_id, identifiers, authz, created_at) "
      "VALUES ($1, $2, $3, $4, $5)",
      {S(o.order_id), S(o.acme_account_id), o.identifiers_key, o.authz_json, S(o.created_at)});
  if (!r) return r.error();
  return Ok{};
}

Result<std::optional<acme::AcmeOrder>> PostgresStore::FindAcmeOrder(int64_t order_id) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r = (*conn)->Exec(
      "SELECT order_id, acme_account_id, identifiers, authz, created_at FROM acme_orders "
      "WHERE order_id = $1",
      {S(order_id)});
  if (!r) return r.error();
  if (PQntuples(r->get()) == 0) return std::optional<acme::AcmeOrder>();
  return std::optional<acme::AcmeOrder>(acme::AcmeOrder{Int(r->get(), 0, 0), Int(r->get(), 0, 1),
                                                        Text(r->get(), 0, 2), Text(r->get(), 0, 3),
                                                        Int(r->get(), 0, 4)});
}

Status PostgresStore::UpdateAcmeOrderAuthz(int64_t order_id, std::string_view authz_json) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r = (*conn)->Exec("UPDATE acme_orders SET authz = $2 WHERE order_id = $1",
                                        {S(order_id), std::string(authz_json)});
  if (!r) return r.error();
  return Ok{};
}

Result<std::vector<int64_t>> PostgresStore::AcmeOrdersWithNames(int64_t acme_account_id,
                                                                std::string_view identifiers_key,
                                                                int limit) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r = (*conn)->Exec(
      "SELECT order_id FROM acme_orders WHERE acme_account_id = $1 AND identifiers = $2 "
      "ORDER BY created_at DESC, order_id DESC LIMIT $3",
      {S(acme_account_id), std::string(identifiers_key), S(limit)});
  if (!r) return r.error();
  return Ids(r->get());
}

Result<std::vector<int64_t>> PostgresStore::AcmeAccountOrders(int64_t acme_account_id, int limit) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r = (*conn)->Exec(
      "SELECT order_id FROM acme_orders WHERE acme_account_id = $1 "
      "ORDER BY created_at DESC, order_id DESC LIMIT $2",
      {S(acme_account_id), S(limit)});
  if (!r) return r.error();
  return Ids(r->get());
}

Result<std::optional<int64_t>> PostgresStore::AcmeOrderIdBySerial(std::string_view serial) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r = (*conn)->Exec(
      "SELECT c.order_id FROM certificates c JOIN acme_orders m ON m.order_id = c.order_id "
      "WHERE c.serial = $1 AND c.order_id <> 0",
      {std::string(serial)});
  if (!r) return r.error();
  if (PQntuples(r->get()) == 0) return std::optional<int64_t>();
  return std::optional<int64_t>(Int(r->get(), 0, 0));
}

Status PostgresStore::Ping() {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r = (*conn)->Exec("SELECT 1");
  if (!r) return r.error();
  return Ok{};
}

Result<std::vector<ops::StateCount>> PostgresStore::CountOrdersByState() {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  // Reads the per-(account, state) counts migration 8's triggers keep, not the orders.
  Result<PgResultPtr> r = (*conn)->Exec(
      "SELECT status, SUM(n)::bigint FROM order_counts GROUP BY status HAVING SUM(n) > 0");
  if (!r) return r.error();
  std::vector<ops::StateCount> out;
  for (int i = 0; i < PQntuples(r->get()); ++i) {
    out.push_back({Text(r->get(), i, 0), Int(r->get(), i, 1)});
  }
  return out;
}

Result<std::vector<ops::PlanUnits>> PostgresStore::CountPlanUnits(int64_t now, bool per_account) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  const std::string account = per_account ? "account_id" : "0::bigint";
  Result<PgResultPtr> r = (*conn)->Exec(
      "SELECT " + account +
          " AS a, product_code, SUM(granted)::bigint, SUM(used)::bigint, "
          "SUM(issued)::bigint FROM ("
          " SELECT account_id, product_code, count AS granted, 0 AS used, 0 AS issued FROM plans"
          "  WHERE expires_at IS NULL OR expires_at > $1"
          " UNION ALL"
          " SELECT account_id, product_code, 0, used, issued FROM package_usage"
          ") u GROUP BY a, product_code ORDER BY a, product_code",
      {S(now)});
  if (!r) return r.error();
  std::vector<ops::PlanUnits> out;
  for (int i = 0; i < PQntuples(r->get()); ++i) {
    out.push_back({Int(r->get(), i, 0), Text(r->get(), i, 1), Int(r->get(), i, 2),
                   Int(r->get(), i, 3), Int(r->get(), i, 4)});
  }
  return out;
}

Result<ops::SoonestExpiry> PostgresStore::FindSoonestExpiry(int64_t now) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  // One probe per source of its partial index (migration 9).
  Result<PgResultPtr> r = (*conn)->Exec(
      "SELECT (SELECT MIN(not_after) FROM certificates WHERE NOT upload AND NOT revoked AND "
      "not_after > $1), (SELECT MIN(not_after) FROM certificates WHERE upload AND NOT revoked "
      "AND not_after > $1)",
      {S(now)});
  if (!r) return r.error();
  return ops::SoonestExpiry{OptionalInt(r->get(), 0, 0), OptionalInt(r->get(), 0, 1)};
}

Status PostgresStore::AppendAudit(const audit::Record& record) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  return InsertAuditRow(**conn, record);
}

Result<std::vector<audit::Record>> PostgresStore::ReadAudit(const ops::AuditQuery& q) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  // The (account_id, time, id) index serves the range and the order; the cursor is a row value
  // so a page never repeats or skips records that share a second.
  Result<PgResultPtr> r = (*conn)->Exec(
      std::string("SELECT id, ") + kAuditColumns +
          " FROM audit_log WHERE account_id = $1 AND time >= $2 AND time < $3 AND (time, id) > "
          "($4::bigint, $5::bigint) ORDER BY time, id LIMIT $6",
      {S(q.account_id), S(q.since), S(q.until), S(q.after_time), S(q.after_id), S(q.limit)});
  if (!r) return r.error();
  std::vector<audit::Record> out;
  const PGresult* res = r->get();
  for (int i = 0; i < PQntuples(res); ++i) {
    audit::Record rec;
    rec.id = Int(res, i, 0);
    rec.time = Int(res, i, 1);
    rec.actor.request_id = Text(res, i, 2);
    rec.account_id = Int(res, i, 3);
    rec.actor.type = audit::ParsePrincipalTypeName(Text(res, i, 4));
    rec.actor.principal = Text(res, i, 5);
    rec.actor.access_key_id = Text(res, i, 6);
    rec.actor.source_ip = Text(res, i, 7);
    rec.actor.action = Text(res, i, 8);
    rec.object_type = Text(res, i, 9);
    rec.object_id = Text(res, i, 10);
    rec.result = Text(res, i, 11);
    out.push_back(std::move(rec));
  }
  return out;
}

Result<int64_t> PostgresStore::PruneAudit(int64_t before, int64_t max_rows) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r = (*conn)->Exec(
      "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE time < $1 ORDER BY time "
      "LIMIT $2)",
      {S(before), S(max_rows)});
  if (!r) return r.error();
  return static_cast<int64_t>(std::stoll(PQcmdTuples(r->get())));
}

Result<std::vector<int64_t>> PostgresStore::OrdersWithoutCreationRecord(int64_t limit) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  // An anti-join (one pass over each table). Orders older than the oldest record kept (written
  // before the trail existed, or pruned) have nothing to be checked against.
  Result<PgResultPtr> r = (*conn)->Exec(
      "SELECT o.id FROM orders o WHERE o.created_at >= (SELECT MIN(time) FROM audit_log) AND NOT "
      "EXISTS (SELECT 1 FROM audit_log a WHERE a.object_type = 'OrderId' AND a.object_id = "
      "o.id::text AND a.result = 'OK') ORDER BY o.id LIMIT $1",
      {S(limit)});
  if (!r) return r.error();
  std::vector<int64_t> ids;
  for (int i = 0; i < PQntuples(r->get()); ++i) ids.push_back(Int(r->get(), i, 0));
  return ids;
}

}  // namespace certplan::store::postgres
