#include "store/postgres/postgres_store.h"

#include <algorithm>
#include <functional>
#include <random>
#include <set>

#include "core/hex.h"
#include "store/order_codec.h"
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

class PostgresStore::Lease {
 public:
  Lease(PostgresStore* store, std::unique_ptr<PgConnection> conn)
      : store_(store), conn_(std::move(conn)) {}
  Lease(Lease&&) = default;
  ~Lease() {
    // A connection that broke is dropped; the next Acquire() opens a fresh one.
    if (!conn_) return;
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
};

namespace {

constexpr const char* kOrderColumns =
    "id, account_id, product_code, origin, status, validate_type, domains, token, csr_pem, "
    "sealed_private_key, certificate_pem, chain_pem, serial_hex, not_before, not_after, issued_at, "
    "holds_unit, counts_issued, username, phone, email, company_name, tags_json, created_at, "
    "updated_at, validation_deadline, next_check_at, attempts, renewed_from, failure_reason";

constexpr int64_t kLeaseSeconds = 120;  // a claimed order returns to the pool after this

std::string S(int64_t v) { return std::to_string(v); }
std::string B(bool v) { return v ? "true" : "false"; }
bool IsTrue(const PGresult* r, int row, int col) { return Text(r, row, col) == "t"; }

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
          o.certificate_pem,
          o.chain_pem,
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
      return Lease(this, std::move(conn));
    }
    ++open_;
  }
  Result<std::unique_ptr<PgConnection>> conn = PgConnection::Open(url_);
  if (!conn) {
    Forget();
    return conn.error();
  }
  // Acknowledge nothing before it is durable, whatever the server's default says.
  Lease lease(this, std::move(*conn));
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
  Plan stored = plan;
  Status s = InTransaction([&](PgConnection& conn) -> Status {
    std::vector<Param> params = {S(plan.account_id), plan.product_code, S(plan.count),
                                 S(plan.granted_at),
                                 plan.expires_at ? Param(S(*plan.expires_at)) : Param()};
    Result<PgResultPtr> r = conn.Exec(
        "INSERT INTO plans (account_id, product_code, count, granted_at, expires_at) "
        "VALUES ($1, $2, $3, $4, $5) RETURNING id",
        params);
    if (!r) return Clash(conn, r.error(), "bad plan");
    stored.id = Int(r->get(), 0, 0);
    Result<PgResultPtr> usage = conn.Exec(
        "INSERT INTO package_usage (account_id, product_code) VALUES ($1, $2) ON CONFLICT DO "
        "NOTHING",
        {S(plan.account_id), plan.product_code});
    if (!usage) return usage.error();
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
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  // One statement, one round trip, one commit: the quota take and the order insert succeed or
  // fail together, and the audit record is inserted by the same statement from the inserted
  // order. UsedCount never passes TotalCount: the UPDATE's WHERE clause is the check,
  // re-evaluated on the latest row version when another node's take commits first.
  static const std::string kTakeAndInsert =
      std::string(
          "WITH take AS (UPDATE package_usage SET used = used + 1 WHERE account_id = $2 "
          "AND product_code = $3 AND used < (SELECT COALESCE(SUM(count), 0) FROM plans "
          "WHERE account_id = $2 AND product_code = $3 AND (expires_at IS NULL OR "
          "expires_at > $31::bigint)) RETURNING 1), ins AS (INSERT INTO orders (") +
      kOrderColumns +
      ") SELECT $1::bigint, $2::bigint, $3, $4::integer, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
      "$14::bigint, $15::bigint, $16::bigint, $17::boolean, $18::boolean, $19, $20, $21, $22, $23, "
      "$24::bigint, $25::bigint, $26::bigint, $27::bigint, $28::bigint, $29::bigint, $30 FROM take "
      "RETURNING id), aud AS (INSERT INTO audit_log (" +
      kAuditColumns +
      ") SELECT $32::bigint, $33, $34::bigint, $35, $36, $37, $38, $39, $40, id::text, $41 FROM "
      "ins) SELECT id FROM ins";
  for (int attempt = 0; attempt < 4; ++attempt) {
    order.id = NewOrderId();
    std::vector<Param> params = OrderParams(order);
    params.push_back(S(now));
    std::vector<Param> record = AuditParams(audit);
    record.erase(record.begin() + 9);                        // object_id: the inserted order's id
    for (Param& p : record) params.push_back(std::move(p));  // $32 … $41
    Result<PgResultPtr> r = (*conn)->Exec(kTakeAndInsert, params);
    // A random id clash (astronomically rare) fails the whole statement; try another id.
    if (!r && (*conn)->sqlstate() == "23505") continue;
    if (!r) return r.error();
    if (PQntuples(r->get()) == 1) return order;
    Result<PgResultPtr> total = (*conn)->Exec(
        "SELECT COALESCE(SUM(count), 0) FROM plans WHERE account_id = $1 AND product_code = $2 "
        "AND (expires_at IS NULL OR expires_at > $3)",
        {S(order.account_id), order.product_code, S(now)});
    if (!total) return total.error();
    if (Int(total->get(), 0, 0) == 0) {
      return Error(ErrorCode::kNotFoundPackage,
                   "No certificate resource plan of " + order.product_code + " is in force.");
    }
    return Error(ErrorCode::kNotRemainCount, "The certificate resource plan of " +
                                                 order.product_code + " has no remaining count.");
  }
  return InternalError("could not allocate an order id");
}

Result<std::optional<cas::Order>> PostgresStore::FindOrder(int64_t account_id, int64_t order_id) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r = (*conn)->Exec(std::string("SELECT ") + kOrderColumns +
                                            " FROM orders WHERE id = $1 AND ($2::bigint = 0 OR "
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
    "not_after, fingerprint, sha256, serial, algorithm, key_bits, revoked, created_at, tags_json";

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
  return c;
}

// kParamRepeat when the account already has an entry of that name; an id clash leaves
// sqlstate() at 23505 with the primary key named in the error, for the caller to retry.
Status InsertCertificateRow(PgConnection& conn, const cas::Certificate& c) {
  Result<PgResultPtr> r = conn.Exec(
      std::string("INSERT INTO certificates (") + kCertificateColumns +
          ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, "
          "$18, $19, $20, $21, $22, $23, $24, $25, $26)",
      {S(c.id),
       S(c.account_id),
       c.name,
       B(c.upload),
       S(c.order_id),
       c.instance_id,
       c.resource_group_id,
       c.chain_pem,
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
       c.tags_json});
  if (r) return Ok{};
  if (conn.sqlstate() == "23505" &&
      r.error().detail.find("certificates_name_unique") != std::string::npos) {
    return Error(ErrorCode::kParamRepeat, "The certificate name already exists.");
  }
  return r.error();
}

// Statuses as cas::CertificateStatus defines them: revoked first, then by NotAfter against now
// ($8) and the 30-day window.
constexpr const char* kCertificateFilter =
    " WHERE account_id = $1 AND ($2::integer < 0 OR upload = ($2::integer = 1)) AND ($3 = '' OR "
    "strpos(lower(common_name), $3) > 0 OR strpos(lower(sans), $3) > 0 OR "
    "strpos(lower(instance_id), $3) > 0 OR strpos(lower(name), $3) > 0) AND ("
    "($4::boolean AND NOT revoked AND not_after > $8::bigint + 2592000) OR "
    "($5::boolean AND NOT revoked AND not_after > $8::bigint AND "
    "not_after <= $8::bigint + 2592000) OR "
    "($6::boolean AND NOT revoked AND not_after <= $8::bigint) OR ($7::boolean AND revoked))";

std::vector<Param> CertificateFilterParams(int64_t account_id, const cas::CertificateQuery& q) {
  return {S(account_id),
          S(q.upload ? (*q.upload ? 1 : 0) : -1),
          q.keyword,
          B(q.Wants(cas::CertificateStatus::kIssued)),
          B(q.Wants(cas::CertificateStatus::kWillExpire)),
          B(q.Wants(cas::CertificateStatus::kExpired)),
          B(q.Wants(cas::CertificateStatus::kRevoked)),
          S(q.now)};
}

}  // namespace

namespace {

// Stores one transition on `conn`, inside the caller's transaction.
Status StoreTransition(PgConnection& conn, const cas::Transition& t, cas::OrderStatus expected) {
  std::vector<Param> params = OrderParams(t.order);
  params.push_back(std::string(cas::StatusName(expected)));
  Result<PgResultPtr> update = conn.Exec(
      "UPDATE orders SET account_id = $2, product_code = $3, origin = $4, status = $5, "
      "validate_type = $6, domains = $7, token = $8, csr_pem = $9, sealed_private_key = $10, "
      "certificate_pem = $11, chain_pem = $12, serial_hex = $13, not_before = $14, "
      "not_after = $15, issued_at = $16, holds_unit = $17, counts_issued = $18, username = $19, "
      "phone = $20, email = $21, company_name = $22, tags_json = $23, created_at = $24, "
      "updated_at = $25, validation_deadline = $26, next_check_at = $27, attempts = $28, "
      "renewed_from = $29, failure_reason = $30 WHERE id = $1 AND status = $31",
      params);
  if (!update) return update.error();
  // Compare-and-set on the state: of two nodes racing on one order, one wins.
  if (std::string(PQcmdTuples(update->get())) != "1") {
    return Error(ErrorCode::kOrderStateError, "The order changed state meanwhile; retry.");
  }
  // The repository entry lands with the issuance, and learns of a revocation with it.
  if (t.certificate) {
    if (Status s = InsertCertificateRow(conn, *t.certificate); !s) return s;
  }
  if (t.order.status == cas::OrderStatus::kRevoked) {
    Result<PgResultPtr> revoked =
        conn.Exec("UPDATE certificates SET revoked = true WHERE order_id = $1", {S(t.order.id)});
    if (!revoked) return revoked.error();
  }
  if (t.audit) {
    if (Status s = InsertAuditRow(conn, *t.audit); !s) return s;
  }
  if (t.delta.used == 0 && t.delta.issued == 0) return Ok{};
  Result<PgResultPtr> delta = conn.Exec(
      "UPDATE package_usage SET used = used + $3, issued = issued + $4 "
      "WHERE account_id = $1 AND product_code = $2",
      {S(t.order.account_id), t.order.product_code, S(t.delta.used), S(t.delta.issued)});
  if (!delta) return delta.error();
  return Ok{};
}

}  // namespace

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
          kOrderColumns,
      {S(now), S(limit), S(kLeaseSeconds)});
  if (!r) return r.error();
  std::vector<cas::Order> orders = ReadOrders(r->get());
  for (cas::Order& o : orders) o.next_check_at = now;  // as due as it was when claimed
  return orders;
}

Result<std::vector<cas::Order>> PostgresStore::ListOrders(int64_t account_id,
                                                          std::string_view keyword) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<PgResultPtr> r = (*conn)->Exec(
      std::string("SELECT ") + kOrderColumns +
          " FROM orders WHERE account_id = $1 AND status <> 'deleted' AND ($2 = '' OR "
          "strpos(domains, $2) > 0 OR id::text = $2) ORDER BY created_at DESC, id DESC",
      {S(account_id), std::string(keyword)});
  if (!r) return r.error();
  return ReadOrders(r->get());
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

Error NonceUsed() {
  return Error(ErrorCode::kSignatureNonceUsed, "Specified signature nonce was used already.");
}

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

std::string IntArray(const std::vector<int64_t>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) out += (i > 0 ? "," : "") + std::to_string(items[i]);
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
  // Now and then, sweep what has expired (any node may; the index makes it cheap).
  claimed_since_sweep_ += sent.size();
  if (claimed_since_sweep_ >= 1024) {
    claimed_since_sweep_ = 0;
    (void)(*conn)->Exec("DELETE FROM nonces WHERE expires_at < $1", {S(now)});
  }
  return outcomes;
}

Result<cas::Certificate> PostgresStore::InsertUpload(cas::Certificate certificate,
                                                     const audit::Record& audit) {
  for (int attempt = 0; attempt < 4; ++attempt) {
    certificate.id = NewUploadCertId();
    certificate.instance_id = cas::UploadInstanceId(certificate.id);
    bool clash = false;
    Status s = InTransaction([&](PgConnection& conn) -> Status {
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
  Result<PgResultPtr> r = (*conn)->Exec(std::string("SELECT ") + kCertificateColumns +
                                            " FROM certificates WHERE id = $1 AND account_id = $2",
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
  std::vector<Param> params = CertificateFilterParams(account_id, query);
  params.push_back(S(query.limit));
  params.push_back(S(query.offset));
  // One statement: the page and the count of every match, from one snapshot.
  Result<PgResultPtr> r =
      (*conn)->Exec(std::string("SELECT ") + kCertificateColumns +
                        ", COUNT(*) OVER () FROM certificates" + kCertificateFilter +
                        " ORDER BY created_at DESC, id DESC LIMIT $9::bigint OFFSET $10::bigint",
                    params);
  if (!r) return r.error();
  cas::CertificatePage page;
  const int rows = PQntuples(r->get());
  for (int i = 0; i < rows; ++i) page.entries.push_back(ReadCertificate(r->get(), i));
  if (rows > 0) {
    page.total = Int(r->get(), 0, 26);
    return page;
  }
  // Past the end (or nothing matches): the count alone.
  params.resize(8);
  Result<PgResultPtr> count =
      (*conn)->Exec(std::string("SELECT COUNT(*) FROM certificates") + kCertificateFilter, params);
  if (!count) return count.error();
  page.total = Int(count->get(), 0, 0);
  return page;
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
