#include "store/sqlite/sqlite_store.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <unordered_map>
#include <variant>

#include "core/checked.h"
#include "store/order_codec.h"
#include "store/order_list.h"
#include "store/sqlite/audit_rows.h"
#include "store/sqlite/certificate_rows.h"
#include "store/sqlite/migrations.h"
#include "store/sqlite/order_rows.h"
#include "store/sqlite/revocation_rows.h"

namespace certplan::store::sqlite {

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
class SqliteStore::Lease {
 public:
  Lease(SqliteStore* store, std::unique_ptr<Connection> conn, int64_t started)
      : store_(store), conn_(std::move(conn)), started_(started) {}
  Lease(Lease&&) = default;
  ~Lease() {
    if (!conn_) return;
    store_->Release(std::move(conn_));
    if (ops::StoreLatencyObserver* o = store_->observer_.load(std::memory_order_relaxed)) {
      o->OnStoreOperation(ops::StoreLatencyObserver::Path::kConnection, SteadyNanos() - started_);
    }
  }
  Connection* operator->() { return conn_.get(); }
  Connection& operator*() { return *conn_; }

 private:
  SqliteStore* store_;
  std::unique_ptr<Connection> conn_;
  int64_t started_;
};

namespace {

// Rolls back unless Commit() succeeded, so no path leaves a transaction open.
class WriteTransaction {
 public:
  explicit WriteTransaction(Connection& conn) : conn_(conn) {}
  ~WriteTransaction() {
    if (open_) (void)conn_.Exec("ROLLBACK");
  }
  Status Begin() {
    Status s = conn_.Exec("BEGIN IMMEDIATE");
    open_ = static_cast<bool>(s);
    return s;
  }
  Status Commit() {
    Status s = conn_.Exec("COMMIT");
    if (s) open_ = false;
    return s;
  }

 private:
  Connection& conn_;
  bool open_ = false;
};

Account ReadAccount(sqlite3_stmt* stmt) {
  return Account{sqlite3_column_int64(stmt, 0), ColumnText(stmt, 1), sqlite3_column_int64(stmt, 2)};
}

AccessKey ReadAccessKey(sqlite3_stmt* stmt) {
  return AccessKey{
      ColumnText(stmt, 0), sqlite3_column_int64(stmt, 1),      ColumnText(stmt, 2),
      ColumnBlob(stmt, 3), sqlite3_column_int64(stmt, 4) != 0, sqlite3_column_int64(stmt, 5)};
}

Plan ReadPlan(sqlite3_stmt* stmt) {
  return Plan{sqlite3_column_int64(stmt, 0), sqlite3_column_int64(stmt, 1),
              ColumnText(stmt, 2),           sqlite3_column_int64(stmt, 3),
              sqlite3_column_int64(stmt, 4), ColumnOptionalInt(stmt, 5)};
}

Status ApplyDelta(Connection& conn, int64_t account_id, std::string_view product,
                  cas::CounterDelta delta) {
  if (delta.used == 0 && delta.issued == 0) return Ok{};
  Result<Stmt> stmt = conn.Prepare(
      "UPDATE package_usage SET used = used + ?3, issued = issued + ?4 "
      "WHERE account_id = ?1 AND product_code = ?2");
  if (!stmt) return stmt.error();
  BindInt(*stmt, 1, account_id);
  BindText(*stmt, 2, product);
  BindInt(*stmt, 3, delta.used);
  BindInt(*stmt, 4, delta.issued);
  if (sqlite3_step(*stmt) != SQLITE_DONE) return conn.Fail("apply counter delta");
  if (sqlite3_changes(conn.db()) != 1) return InternalError("package usage row missing");
  return Ok{};
}

Result<std::vector<cas::Order>> ReadOrders(Connection& conn, sqlite3_stmt* stmt) {
  std::vector<cas::Order> out;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) out.push_back(ReadOrder(stmt));
  if (rc != SQLITE_DONE) return conn.Fail("read orders");
  return out;
}

// The plan's row and (from the first grant on) its usage row, inside the caller's transaction.
Result<Plan> InsertPlanRows(Connection& conn, const Plan& plan) {
  Result<Stmt> insert = conn.Prepare(
      "INSERT INTO plans (account_id, product_code, count, granted_at, expires_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5)");
  if (!insert) return insert.error();
  BindInt(*insert, 1, plan.account_id);
  BindText(*insert, 2, plan.product_code);
  BindInt(*insert, 3, plan.count);
  BindInt(*insert, 4, plan.granted_at);
  BindOptionalInt(*insert, 5, plan.expires_at);
  if (sqlite3_step(*insert) != SQLITE_DONE) return conn.Fail("insert plan");
  Plan stored = plan;
  stored.id = sqlite3_last_insert_rowid(conn.db());
  // The usage row exists from the first grant on, so quota takes are a plain UPDATE.
  Result<Stmt> usage = conn.Prepare(
      "INSERT OR IGNORE INTO package_usage (account_id, product_code) VALUES (?1, ?2)");
  if (!usage) return usage.error();
  BindInt(*usage, 1, plan.account_id);
  BindText(*usage, 2, plan.product_code);
  if (sqlite3_step(*usage) != SQLITE_DONE) return conn.Fail("insert package usage");
  return stored;
}

ops::OperatorTokenRecord ReadOperatorToken(sqlite3_stmt* stmt) {
  return ops::OperatorTokenRecord{ColumnText(stmt, 0),        ColumnText(stmt, 1),
                                  ColumnText(stmt, 2),        sqlite3_column_int64(stmt, 3),
                                  ColumnOptionalInt(stmt, 4), ColumnOptionalInt(stmt, 5)};
}

constexpr const char* kTokenColumns =
    "SELECT id, name, token_hash, created_at, last_used_at, revoked_at FROM operator_tokens ";

// The grant recorded under `key` (read on the caller's connection, inside or outside a
// transaction).
Result<std::optional<ops::PlanGrantRecord>> ReadPlanGrant(Connection& conn, std::string_view key) {
  Result<Stmt> stmt = conn.Prepare(
      "SELECT k.idempotency_key, k.request_hash, p.id, p.account_id, p.product_code, p.count, "
      "p.granted_at, p.expires_at FROM plan_grant_keys k JOIN plans p ON p.id = k.plan_id "
      "WHERE k.idempotency_key = ?1");
  if (!stmt) return stmt.error();
  BindText(*stmt, 1, key);
  const int rc = sqlite3_step(*stmt);
  if (rc == SQLITE_DONE) return std::optional<ops::PlanGrantRecord>();
  if (rc != SQLITE_ROW) return conn.Fail("find plan grant");
  ops::PlanGrantRecord record;
  record.idempotency_key = ColumnText(*stmt, 0);
  record.request_hash = ColumnText(*stmt, 1);
  record.plan = Plan{sqlite3_column_int64(*stmt, 2), sqlite3_column_int64(*stmt, 3),
                     ColumnText(*stmt, 4),           sqlite3_column_int64(*stmt, 5),
                     sqlite3_column_int64(*stmt, 6), ColumnOptionalInt(*stmt, 7)};
  return std::optional<ops::PlanGrantRecord>(std::move(record));
}

constexpr const char* kKeyColumns =
    "SELECT id, account_id, user_name, sealed_secret, enabled, created_at FROM access_keys ";

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path) {
  std::unique_ptr<SqliteStore> store(new SqliteStore(path));
  Result<std::unique_ptr<Connection>> conn = Connection::Open(path);
  if (!conn) return conn.error();
  Status migrated = Migrate(**conn);
  if (!migrated) return migrated.error();
  store->Release(std::move(*conn));
  Result<std::unique_ptr<GroupCommitter>> committer = GroupCommitter::Start(path);
  if (!committer) return committer.error();
  store->committer_ = std::move(*committer);
  return store;
}

Result<SqliteStore::Lease> SqliteStore::Acquire() {
  const int64_t started = observer_.load(std::memory_order_relaxed) ? SteadyNanos() : 0;
  {
    std::scoped_lock lock(mu_);
    if (!idle_.empty()) {
      std::unique_ptr<Connection> conn = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(conn), started);
    }
  }
  Result<std::unique_ptr<Connection>> conn = Connection::Open(path_);
  if (!conn) return conn.error();
  return Lease(this, std::move(*conn), started);
}

Status SqliteStore::Commit(GroupCommitter::Work work) {
  ops::StoreLatencyObserver* o = observer_.load(std::memory_order_relaxed);
  if (!o) return committer_->Run(std::move(work));
  const int64_t started = SteadyNanos();
  Status s = committer_->Run(std::move(work));
  o->OnStoreOperation(ops::StoreLatencyObserver::Path::kGroupCommit, SteadyNanos() - started);
  return s;
}

void SqliteStore::Release(std::unique_ptr<Connection> conn) {
  std::scoped_lock lock(mu_);
  idle_.push_back(std::move(conn));
}

Result<Account> SqliteStore::CreateAccount(int64_t id, std::string_view name, int64_t now,
                                           const audit::Record& audit) {
  // Every write goes through the group committer: the change and its audit record in one
  // transaction, the commit shared with whatever else is queued.
  Status s = Commit([&](Connection& conn) -> Status {
    Result<Stmt> stmt =
        conn.Prepare("INSERT INTO accounts (id, name, created_at) VALUES (?1, ?2, ?3)");
    if (!stmt) return stmt.error();
    BindInt(*stmt, 1, id);
    BindText(*stmt, 2, name);
    BindInt(*stmt, 3, now);
    if (sqlite3_step(*stmt) != SQLITE_DONE) {
      if (sqlite3_extended_errcode(conn.db()) == SQLITE_CONSTRAINT_UNIQUE) {
        return Error(ErrorCode::kInvalidParameter, "An account with this name already exists.");
      }
      return conn.Fail("insert account");
    }
    audit::Record record = audit;
    record.object_id = std::to_string(id);
    return InsertAuditRow(conn, record);
  });
  if (!s) return s.error();
  return Account{id, std::string(name), now};
}

Result<std::optional<Account>> SqliteStore::FindAccount(int64_t id) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> stmt = (*conn)->Prepare("SELECT id, name, created_at FROM accounts WHERE id = ?1");
  if (!stmt) return stmt.error();
  BindInt(*stmt, 1, id);
  const int rc = sqlite3_step(*stmt);
  if (rc == SQLITE_ROW) return std::optional<Account>(ReadAccount(*stmt));
  if (rc == SQLITE_DONE) return std::optional<Account>();
  return (*conn)->Fail("find account");
}

Result<std::optional<Account>> SqliteStore::FindAccountByName(std::string_view name) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> stmt = (*conn)->Prepare("SELECT id, name, created_at FROM accounts WHERE name = ?1");
  if (!stmt) return stmt.error();
  BindText(*stmt, 1, name);
  const int rc = sqlite3_step(*stmt);
  if (rc == SQLITE_ROW) return std::optional<Account>(ReadAccount(*stmt));
  if (rc == SQLITE_DONE) return std::optional<Account>();
  return (*conn)->Fail("find account by name");
}

Status SqliteStore::InsertAccessKey(const AccessKey& key, const audit::Record* audit) {
  return Commit([&](Connection& conn) -> Status {
    Result<Stmt> stmt = conn.Prepare(
        "INSERT INTO access_keys (id, account_id, user_name, sealed_secret, enabled, created_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!stmt) return stmt.error();
    BindText(*stmt, 1, key.id);
    BindInt(*stmt, 2, key.account_id);
    BindText(*stmt, 3, key.user_name);
    BindBlob(*stmt, 4, key.sealed_secret);
    BindInt(*stmt, 5, key.enabled ? 1 : 0);
    BindInt(*stmt, 6, key.created_at);
    if (sqlite3_step(*stmt) != SQLITE_DONE) return conn.Fail("insert access key");
    return audit ? InsertAuditRow(conn, *audit) : Status(Ok{});
  });
}

Result<std::optional<AccessKey>> SqliteStore::FindAccessKey(std::string_view id) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> stmt = (*conn)->Prepare(std::string(kKeyColumns) + "WHERE id = ?1");
  if (!stmt) return stmt.error();
  BindText(*stmt, 1, id);
  const int rc = sqlite3_step(*stmt);
  if (rc == SQLITE_ROW) return std::optional<AccessKey>(ReadAccessKey(*stmt));
  if (rc == SQLITE_DONE) return std::optional<AccessKey>();
  return (*conn)->Fail("find access key");
}

Result<std::vector<AccessKey>> SqliteStore::ListAccessKeys(int64_t account_id) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> stmt =
      (*conn)->Prepare(std::string(kKeyColumns) + "WHERE account_id = ?1 ORDER BY created_at, id");
  if (!stmt) return stmt.error();
  BindInt(*stmt, 1, account_id);
  std::vector<AccessKey> keys;
  int rc;
  while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) keys.push_back(ReadAccessKey(*stmt));
  if (rc != SQLITE_DONE) return (*conn)->Fail("list access keys");
  return keys;
}

Result<bool> SqliteStore::SetAccessKeyEnabled(std::string_view id, bool enabled,
                                              const audit::Record& audit) {
  bool found = false;
  Status s = Commit([&](Connection& conn) -> Status {
    Result<Stmt> stmt = conn.Prepare("UPDATE access_keys SET enabled = ?2 WHERE id = ?1");
    if (!stmt) return stmt.error();
    BindText(*stmt, 1, id);
    BindInt(*stmt, 2, enabled ? 1 : 0);
    if (sqlite3_step(*stmt) != SQLITE_DONE) return conn.Fail("update access key");
    found = sqlite3_changes(conn.db()) > 0;
    return found ? InsertAuditRow(conn, audit) : Status(Ok{});
  });
  if (!s) return s.error();
  return found;
}

Result<bool> SqliteStore::AccountExists(int64_t account_id) {
  // The same read as FindAccount: plans are granted to existing accounts only.
  Result<std::optional<Account>> account = FindAccount(account_id);
  if (!account) return account.error();
  return account->has_value();
}

Result<Plan> SqliteStore::GrantPlan(const Plan& plan, const audit::Record& audit) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  WriteTransaction txn(**conn);
  Status begun = txn.Begin();
  if (!begun) return begun.error();
  Result<Plan> stored = InsertPlanRows(**conn, plan);
  if (!stored) return stored.error();
  audit::Record record = audit;
  record.object_id = std::to_string(stored->id);
  if (Status s = InsertAuditRow(**conn, record); !s) return s.error();
  Status committed = txn.Commit();
  if (!committed) return committed.error();
  return stored;
}

Result<std::vector<Plan>> SqliteStore::ListPlans(int64_t account_id) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> stmt = (*conn)->Prepare(
      "SELECT id, account_id, product_code, count, granted_at, expires_at FROM plans "
      "WHERE account_id = ?1 ORDER BY id");
  if (!stmt) return stmt.error();
  BindInt(*stmt, 1, account_id);
  std::vector<Plan> plans;
  int rc;
  while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) plans.push_back(ReadPlan(*stmt));
  if (rc != SQLITE_DONE) return (*conn)->Fail("list plans");
  return plans;
}

Result<PackageCounters> SqliteStore::GetPackageCounters(int64_t account_id,
                                                        std::string_view product_code,
                                                        int64_t now) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  // One statement, so total and usage come from one snapshot. Plans are few per account;
  // usage is a counter row, never a recount of orders.
  Result<Stmt> stmt = (*conn)->Prepare(
      "SELECT (SELECT COALESCE(SUM(count), 0) FROM plans WHERE account_id = ?1 AND "
      "product_code = ?2 AND (expires_at IS NULL OR expires_at > ?3)), "
      "COALESCE((SELECT used FROM package_usage WHERE account_id = ?1 AND product_code = ?2), 0), "
      "COALESCE((SELECT issued FROM package_usage WHERE account_id = ?1 AND product_code = ?2), "
      "0)");
  if (!stmt) return stmt.error();
  BindInt(*stmt, 1, account_id);
  BindText(*stmt, 2, product_code);
  BindInt(*stmt, 3, now);
  if (sqlite3_step(*stmt) != SQLITE_ROW) return (*conn)->Fail("package counters");
  PackageCounters c{sqlite3_column_int64(*stmt, 0), sqlite3_column_int64(*stmt, 1),
                    sqlite3_column_int64(*stmt, 2)};
  return c;
}

namespace {

// Takes one unit of the order's package on `conn`, inside the caller's transaction.
Status TakeQuota(Connection& conn, const cas::Order& order, int64_t now) {
  // UsedCount never passes TotalCount: the writer lock is held from the read of the total to the
  // increment, across threads and processes.
  Result<Stmt> total_stmt = conn.Prepare(
      "SELECT COALESCE(SUM(count), 0) FROM plans WHERE account_id = ?1 AND product_code = ?2 "
      "AND (expires_at IS NULL OR expires_at > ?3)");
  if (!total_stmt) return total_stmt.error();
  BindInt(*total_stmt, 1, order.account_id);
  BindText(*total_stmt, 2, order.product_code);
  BindInt(*total_stmt, 3, now);
  if (sqlite3_step(*total_stmt) != SQLITE_ROW) return conn.Fail("read total");
  const int64_t total = sqlite3_column_int64(*total_stmt, 0);
  if (total == 0) {
    return Error(ErrorCode::kNotFoundPackage,
                 "No certificate resource plan of " + order.product_code + " is in force.");
  }
  Result<Stmt> take = conn.Prepare(
      "UPDATE package_usage SET used = used + 1 WHERE account_id = ?1 AND product_code = ?2 "
      "AND used < ?3");
  if (!take) return take.error();
  BindInt(*take, 1, order.account_id);
  BindText(*take, 2, order.product_code);
  BindInt(*take, 3, total);
  if (sqlite3_step(*take) != SQLITE_DONE) return conn.Fail("take quota");
  if (sqlite3_changes(conn.db()) != 1) {
    return Error(ErrorCode::kNotRemainCount, "The certificate resource plan of " +
                                                 order.product_code + " has no remaining count.");
  }
  return Ok{};
}

// Takes one unit and inserts the order on `conn` under a new id, inside the caller's
// transaction.
Status TakeQuotaAndInsert(Connection& conn, cas::Order& order, int64_t now) {
  if (Status s = TakeQuota(conn, order, now); !s) return s;
  for (int attempt = 0;; ++attempt) {
    order.id = NewOrderId();
    Result<Stmt> insert = conn.Prepare(kInsertOrder);
    if (!insert) return insert.error();
    BindOrder(*insert, order);
    if (sqlite3_step(*insert) == SQLITE_DONE) return Ok{};
    const bool collision = sqlite3_extended_errcode(conn.db()) == SQLITE_CONSTRAINT_PRIMARYKEY;
    if (!collision || attempt == 3) return conn.Fail("insert order");
  }
}

}  // namespace

Result<cas::Order> SqliteStore::CreateOrder(cas::Order order, int64_t now,
                                            const audit::Record& audit) {
  // Group commit: concurrent applications share one transaction and one fsync; the audit row
  // rides in it (a refused take rolls back to the job's savepoint, audit row and all).
  Status s = Commit([&](Connection& conn) -> Status {
    if (Status taken = TakeQuotaAndInsert(conn, order, now); !taken) return taken;
    audit::Record record = audit;
    record.object_id = std::to_string(order.id);
    return InsertAuditRow(conn, record);
  });
  if (!s) return s.error();
  return order;
}

Status SqliteStore::CreateIssuedOrder(const cas::Transition& t, int64_t now,
                                      const audit::Record& created) {
  // One job of the group commit: the unit, the order as issued, its certificate, its entry, the
  // counters and both audit records, in the batch's one transaction.
  return Commit([&](Connection& conn) -> Status {
    if (Status s = TakeQuota(conn, t.order, now); !s) return s;
    Result<Stmt> insert = conn.Prepare(kInsertOrder);
    if (!insert) return insert.error();
    BindOrder(*insert, t.order);
    if (sqlite3_step(*insert) != SQLITE_DONE) return conn.Fail("insert issued order");
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
    return ApplyDelta(conn, t.order.account_id, t.order.product_code, t.delta);
  });
}

Result<std::optional<cas::Order>> SqliteStore::FindOrder(int64_t account_id, int64_t order_id) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> stmt =
      (*conn)->Prepare(std::string("SELECT ") + kOrderColumns + kOrderWithCertificate +
                       " WHERE id = ?1 AND (?2 = 0 OR account_id = ?2) AND status <> 'deleted'");
  if (!stmt) return stmt.error();
  BindInt(*stmt, 1, order_id);
  BindInt(*stmt, 2, account_id);
  const int rc = sqlite3_step(*stmt);
  if (rc == SQLITE_ROW) return std::optional<cas::Order>(ReadOrder(*stmt));
  if (rc == SQLITE_DONE) return std::optional<cas::Order>();
  return (*conn)->Fail("find order");
}

namespace {

// Stores one transition on `conn`, inside the caller's transaction.
Status StoreTransition(Connection& conn, const cas::Transition& t, cas::OrderStatus expected) {
  Result<Stmt> update = conn.Prepare(kUpdateOrder);
  if (!update) return update.error();
  BindOrder(*update, t.order);
  BindText(*update, 29, cas::StatusName(expected));
  if (sqlite3_step(*update) != SQLITE_DONE) return conn.Fail("update order");
  // Compare-and-set on the state: a concurrent cancel and issuance cannot both win.
  if (sqlite3_changes(conn.db()) != 1) {
    return Error(ErrorCode::kOrderStateError, "The order changed state meanwhile; retry.");
  }
  // The certificate is stored once, when the order becomes issued; later transitions of the
  // order leave it as it is.
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
    if (Status s = MarkOrderCertificateRevoked(conn, t.order.id); !s) return s;
  }
  if (t.revocation) {
    if (Status s = InsertRevocationRow(conn, *t.revocation); !s) return s;
  }
  if (t.audit) {
    if (Status s = InsertAuditRow(conn, *t.audit); !s) return s;
  }
  return ApplyDelta(conn, t.order.account_id, t.order.product_code, t.delta);
}

}  // namespace

Status SqliteStore::ApplyTransition(const cas::Transition& t, cas::OrderStatus expected) {
  // Through the group committer like every other order write: one writer, no lock waits, and
  // the commit shared with whatever else is queued.
  return Commit([&](Connection& conn) { return StoreTransition(conn, t, expected); });
}

std::vector<Status> SqliteStore::ApplyTransitions(const std::vector<PendingTransition>& batch) {
  std::vector<Status> results(batch.size(), Status(Ok{}));
  Status committed = Commit([&](Connection& conn) -> Status {
    for (size_t i = 0; i < batch.size(); ++i) {
      Status s = conn.Step("SAVEPOINT step");
      if (s) s = StoreTransition(conn, batch[i].transition, batch[i].expected);
      if (!s) (void)conn.Step("ROLLBACK TO step");
      (void)conn.Step("RELEASE step");
      results[i] = std::move(s);
    }
    return Ok{};
  });
  if (!committed) results.assign(batch.size(), committed);
  return results;
}

Result<int64_t> SqliteStore::PruneReleasedOrders(int64_t before, int64_t max_rows) {
  int64_t deleted = 0;
  // One job of the group committer. Each kind through its partial index (migrations 12 and 13):
  // the rows that go and what hangs off them, then the orders (the count triggers follow).
  Status s = Commit([&](Connection& conn) -> Status {
    struct Kind {
      std::string_view doomed;
      std::vector<std::string_view> with;  // DELETE … WHERE <column> IN (doomed)
    };
    const Kind kinds[] = {
        {"SELECT id FROM orders WHERE status IN ('cancelled', 'deleted') AND holds_unit = 0 AND "
         "updated_at < ?1 ORDER BY updated_at LIMIT ?2",
         {"DELETE FROM acme_orders WHERE order_id IN ("}},
        {"SELECT id FROM orders WHERE status = 'revoked' AND holds_unit = 0 AND not_after < ?1 "
         "ORDER BY not_after LIMIT ?2",
         {"DELETE FROM acme_orders WHERE order_id IN (",
          "DELETE FROM issued_certificates WHERE order_id IN (",
          "DELETE FROM certificates WHERE upload = 0 AND order_id IN (",
          "DELETE FROM revocations WHERE order_id IN ("}},
    };
    for (const Kind& kind : kinds) {
      std::vector<std::string_view> steps = kind.with;
      steps.push_back("DELETE FROM orders WHERE id IN (");
      for (const std::string_view head : steps) {
        Result<Stmt> stmt = conn.Prepare(std::string(head) + std::string(kind.doomed) + ")");
        if (!stmt) return stmt.error();
        BindInt(*stmt, 1, before);
        BindInt(*stmt, 2, max_rows);
        if (sqlite3_step(*stmt) != SQLITE_DONE) return conn.Fail("prune released orders");
        if (head.starts_with("DELETE FROM orders ")) deleted += sqlite3_changes(conn.db());
      }
    }
    return Ok{};
  });
  if (!s) return s.error();
  return deleted;
}

Result<std::vector<cas::Order>> SqliteStore::DueOrders(int64_t now, int limit) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  // Pending orders have no certificate yet: their rows alone.
  Result<Stmt> stmt = (*conn)->Prepare(
      std::string("SELECT ") + kOrderRowColumns +
      " FROM orders WHERE status IN ('domain_verify', 'process') AND next_check_at <= ?1 "
      "ORDER BY next_check_at LIMIT ?2");
  if (!stmt) return stmt.error();
  BindInt(*stmt, 1, now);
  BindInt(*stmt, 2, limit);
  return ReadOrders(**conn, *stmt);
}

namespace {

// One statement of an order list with its values, bound in order as ?1, ?2, …
struct BoundSql {
  std::string text;
  std::vector<std::variant<int64_t, std::string>> values;

  std::string Add(std::variant<int64_t, std::string> value) {
    values.push_back(std::move(value));
    return "?" + std::to_string(values.size());
  }
  void Bind(sqlite3_stmt* stmt) const {
    for (size_t i = 0; i < values.size(); ++i) {
      const int index = static_cast<int>(i + 1);
      if (const int64_t* n = std::get_if<int64_t>(&values[i])) {
        BindInt(stmt, index, *n);
      } else {
        BindText(stmt, index, std::get<std::string>(values[i]));
      }
    }
  }
};

// The plans of `statements` (EXPLAIN QUERY PLAN's detail lines, one per step).
Result<std::vector<std::string>> ExplainAll(Connection& conn,
                                            const std::vector<BoundSql>& statements) {
  std::vector<std::string> plans;
  for (const BoundSql& sql : statements) {
    Result<Stmt> stmt = conn.Prepare("EXPLAIN QUERY PLAN " + sql.text);
    if (!stmt) return stmt.error();
    sql.Bind(*stmt);
    std::string plan;
    std::unordered_map<int64_t, int> depth;  // step id -> nesting (two spaces a level)
    int rc;
    while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) {
      const int64_t id = sqlite3_column_int64(*stmt, 0), parent = sqlite3_column_int64(*stmt, 1);
      const int level = parent == 0 ? 0 : depth[parent] + 1;
      depth[id] = level;
      plan += std::string(2 * level, ' ') + ColumnText(*stmt, 3) + "\n";
    }
    if (rc != SQLITE_DONE) return conn.Fail("explain");
    plans.push_back(std::move(plan));
  }
  return plans;
}

std::string Quoted(cas::OrderStatus status) {
  return "'" + std::string(cas::StatusName(status)) + "'";  // a fixed vocabulary
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

// WHERE terms on `orders` selecting the query's rows of account ?1 (the caller adds ?1 first).
std::string OrderFilter(const cas::OrderQuery& q, BoundSql& sql) {
  std::string where = " WHERE account_id = ?1 AND ";
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
    if (terms.empty()) terms.push_back("0");
    where += terms.size() == 1 ? terms[0] : "(" + terms[0] + " OR " + terms[1] + ")";
  }
  if (!q.keyword.empty()) {
    const std::string k = sql.Add(q.keyword);
    where += " AND (instr(domains, " + k + ") > 0 OR CAST(id AS TEXT) = " + k + ")";
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
        std::string("(SELECT COALESCE(SUM(n), 0) FROM order_counts WHERE account_id = ?1 AND ") +
        (q.statuses.empty() ? std::string(kShownStates) : "status" + InList(split.plain)) + ")");
  }
  if (split.windowed_certificate) {
    parts.push_back(
        "(SELECT COUNT(*) FROM orders WHERE account_id = ?1 AND status = 'certificate' "
        "AND not_after > " +
        sql.Add(q.not_after_above) + " AND not_after <= " + sql.Add(q.not_after_at_most) + ")");
  }
  sql.text = "SELECT ";
  for (size_t i = 0; i < parts.size(); ++i) sql.text += (i ? " + " : "") + parts[i];
  if (parts.empty()) sql.text += "0 WHERE ?1 IS NOT NULL";  // nothing listed (only kDeleted)
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
  if (seek.bound)
    where += (newest_first ? " AND created_at < " : " AND created_at >= ") + sql.Add(*seek.bound);
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
  sql.text = "SELECT bucket, SUM(n) FROM order_buckets WHERE account_id = ?1 AND level = " +
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
Result<Seek> SeekPage(Connection& conn, int64_t account_id, const cas::OrderQuery& q,
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
    Result<Stmt> stmt = conn.Prepare(sql.text);
    if (!stmt) return stmt.error();
    sql.Bind(*stmt);
    int rc = SQLITE_ROW;
    std::optional<std::pair<int64_t, int64_t>> found =
        FindBucket(walk.skip, before, [&](int64_t& bucket, int64_t& n) {
          rc = sqlite3_step(*stmt);
          if (rc != SQLITE_ROW) return false;
          bucket = sqlite3_column_int64(*stmt, 0);
          n = sqlite3_column_int64(*stmt, 1);
          return true;
        });
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return conn.Fail("read order buckets");
    return found;
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

}  // namespace

Result<cas::OrderPage> SqliteStore::ListOrders(int64_t account_id, const cas::OrderQuery& query) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  // One read transaction: the page and its count from the same snapshot.
  if (Status s = (*conn)->Step("BEGIN"); !s) return s.error();
  auto read = [&]() -> Result<cas::OrderPage> {
    cas::OrderPage page;
    const BoundSql count = CountOrdersSql(account_id, query);
    Result<Stmt> counted = (*conn)->Prepare(count.text);
    if (!counted) return counted.error();
    count.Bind(*counted);
    if (sqlite3_step(*counted) != SQLITE_ROW) return (*conn)->Fail("count orders");
    page.total = sqlite3_column_int64(*counted, 0);
    if (query.offset < 0 || query.limit <= 0 || query.offset >= page.total) return page;
    const PageWalk walk = WalkFor(page.total, query.offset, query.limit);
    Result<Seek> seek = SeekPage(**conn, account_id, query, walk, nullptr);
    if (!seek) return seek.error();
    const BoundSql rows = OrderPageSql(account_id, query, walk.newest_first, *seek, walk.take);
    Result<Stmt> stmt = (*conn)->Prepare(rows.text);
    if (!stmt) return stmt.error();
    rows.Bind(*stmt);
    Result<std::vector<cas::Order>> orders = ReadOrders(**conn, *stmt);
    if (!orders) return orders.error();
    page.orders = std::move(*orders);
    return page;
  };
  Result<cas::OrderPage> page = read();
  (void)(*conn)->Step("COMMIT");
  return page;
}

Result<std::vector<std::string>> SqliteStore::ExplainListOrders(int64_t account_id,
                                                                const cas::OrderQuery& query,
                                                                int64_t total) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  std::vector<BoundSql> statements = {CountOrdersSql(account_id, query)};
  if (query.offset >= 0 && query.limit > 0 && query.offset < total) {
    const PageWalk walk = WalkFor(total, query.offset, query.limit);
    Result<Seek> seek = SeekPage(**conn, account_id, query, walk, &statements);
    if (!seek) return seek.error();
    statements.push_back(OrderPageSql(account_id, query, walk.newest_first, *seek, walk.take));
  }
  return ExplainAll(**conn, statements);
}

Result<std::vector<cas::ListCountDrift>> SqliteStore::AuditListCounts() {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> stmt = (*conn)->Prepare(kAuditListCountsSql);
  if (!stmt) return stmt.error();
  std::vector<cas::ListCountDrift> drifts;
  int rc;
  while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) {
    drifts.push_back(cas::ListCountDrift{
        sqlite3_column_int64(*stmt, 0), ColumnText(*stmt, 1),
        static_cast<int>(sqlite3_column_int64(*stmt, 2)), sqlite3_column_int64(*stmt, 3),
        sqlite3_column_int64(*stmt, 4), sqlite3_column_int64(*stmt, 5)});
  }
  if (rc != SQLITE_DONE) return (*conn)->Fail("audit list counts");
  return drifts;
}

Result<std::vector<CounterDrift>> SqliteStore::AuditCounters() {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  // One read transaction: counters and orders from the same snapshot.
  Result<Stmt> stmt = (*conn)->Prepare(
      "SELECT u.account_id, u.product_code, u.used, u.issued, "
      "(SELECT COUNT(*) FROM orders o WHERE o.account_id = u.account_id AND "
      " o.product_code = u.product_code AND o.holds_unit = 1), "
      "(SELECT COUNT(*) FROM orders o WHERE o.account_id = u.account_id AND "
      " o.product_code = u.product_code AND o.counts_issued = 1) "
      "FROM package_usage u "
      "UNION ALL "
      "SELECT o.account_id, o.product_code, 0, 0, SUM(o.holds_unit), SUM(o.counts_issued) "
      "FROM orders o WHERE NOT EXISTS (SELECT 1 FROM package_usage u WHERE "
      "u.account_id = o.account_id AND u.product_code = o.product_code) "
      "GROUP BY o.account_id, o.product_code");
  if (!stmt) return stmt.error();
  std::vector<CounterDrift> drifts;
  int rc;
  while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) {
    CounterDrift d{
        sqlite3_column_int64(*stmt, 0), ColumnText(*stmt, 1),
        PackageCounters{0, sqlite3_column_int64(*stmt, 2), sqlite3_column_int64(*stmt, 3)},
        PackageCounters{0, sqlite3_column_int64(*stmt, 4), sqlite3_column_int64(*stmt, 5)}};
    if (d.stored.used != d.recounted.used || d.stored.issued != d.recounted.issued) {
      drifts.push_back(std::move(d));
    }
  }
  if (rc != SQLITE_DONE) return (*conn)->Fail("audit counters");
  return drifts;
}

namespace {

// Runs one prepared write that binds (account, a, b, …) and maps a uniqueness clash to
// kInvalidParameter with `taken`.
Status RunWrite(Connection& conn, sqlite3_stmt* stmt, std::string_view what,
                std::string_view taken) {
  if (sqlite3_step(stmt) == SQLITE_DONE) return Ok{};
  const int ext = sqlite3_extended_errcode(conn.db());
  if (ext == SQLITE_CONSTRAINT_PRIMARYKEY || ext == SQLITE_CONSTRAINT_UNIQUE) {
    return Error(ErrorCode::kInvalidParameter, std::string(taken));
  }
  if (ext == SQLITE_CONSTRAINT_FOREIGNKEY) {
    return Error(ErrorCode::kInvalidParameter, "No such account or user.");
  }
  return conn.Fail(what);
}

}  // namespace

Status SqliteStore::CreateUser(const User& user, const audit::Record& audit) {
  return Commit([&](Connection& conn) -> Status {
    Result<Stmt> stmt =
        conn.Prepare("INSERT INTO users (account_id, name, created_at) VALUES (?1, ?2, ?3)");
    if (!stmt) return stmt.error();
    BindInt(*stmt, 1, user.account_id);
    BindText(*stmt, 2, user.name);
    BindInt(*stmt, 3, user.created_at);
    Status s = RunWrite(conn, *stmt, "insert user", "A user with this name already exists.");
    return s ? InsertAuditRow(conn, audit) : s;
  });
}

Result<std::vector<User>> SqliteStore::ListUsers(int64_t account_id) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> stmt = (*conn)->Prepare(
      "SELECT account_id, name, created_at FROM users WHERE account_id = ?1 ORDER BY name");
  if (!stmt) return stmt.error();
  BindInt(*stmt, 1, account_id);
  std::vector<User> users;
  int rc;
  while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) {
    users.push_back(
        User{sqlite3_column_int64(*stmt, 0), ColumnText(*stmt, 1), sqlite3_column_int64(*stmt, 2)});
  }
  if (rc != SQLITE_DONE) return (*conn)->Fail("list users");
  return users;
}

Result<bool> SqliteStore::UserExists(int64_t account_id, std::string_view name) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> stmt = (*conn)->Prepare("SELECT 1 FROM users WHERE account_id = ?1 AND name = ?2");
  if (!stmt) return stmt.error();
  BindInt(*stmt, 1, account_id);
  BindText(*stmt, 2, name);
  const int rc = sqlite3_step(*stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return (*conn)->Fail("find user");
  return rc == SQLITE_ROW;
}

Status SqliteStore::DeleteUser(int64_t account_id, std::string_view name,
                               const audit::Record& audit) {
  return Commit([&](Connection& conn) -> Status {
    for (const char* sql :
         {"DELETE FROM access_keys WHERE account_id = ?1 AND user_name = ?2",
          "DELETE FROM policy_attachments WHERE account_id = ?1 AND user_name = ?2",
          "DELETE FROM users WHERE account_id = ?1 AND name = ?2"}) {
      Result<Stmt> stmt = conn.Prepare(sql);
      if (!stmt) return stmt.error();
      BindInt(*stmt, 1, account_id);
      BindText(*stmt, 2, name);
      if (sqlite3_step(*stmt) != SQLITE_DONE) return conn.Fail("delete user");
    }
    // The job's savepoint undoes the key and attachment deletes with this refusal.
    if (sqlite3_changes(conn.db()) == 0) {
      return Error(ErrorCode::kInvalidParameter, "No such user.");
    }
    return InsertAuditRow(conn, audit);
  });
}

Status SqliteStore::CreatePolicy(const PolicyRecord& policy, const audit::Record& audit) {
  return Commit([&](Connection& conn) -> Status {
    Result<Stmt> stmt = conn.Prepare(
        "INSERT INTO policies (account_id, name, document, created_at) VALUES (?1, ?2, ?3, ?4)");
    if (!stmt) return stmt.error();
    BindInt(*stmt, 1, policy.account_id);
    BindText(*stmt, 2, policy.name);
    BindText(*stmt, 3, policy.document);
    BindInt(*stmt, 4, policy.created_at);
    Status s = RunWrite(conn, *stmt, "insert policy", "A policy with this name already exists.");
    return s ? InsertAuditRow(conn, audit) : s;
  });
}

Result<std::vector<PolicyRecord>> SqliteStore::ListPolicies(int64_t account_id) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> stmt = (*conn)->Prepare(
      "SELECT account_id, name, document, created_at FROM policies WHERE account_id = ?1 "
      "ORDER BY name");
  if (!stmt) return stmt.error();
  BindInt(*stmt, 1, account_id);
  std::vector<PolicyRecord> out;
  int rc;
  while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) {
    out.push_back(PolicyRecord{sqlite3_column_int64(*stmt, 0), ColumnText(*stmt, 1),
                               ColumnText(*stmt, 2), sqlite3_column_int64(*stmt, 3)});
  }
  if (rc != SQLITE_DONE) return (*conn)->Fail("list policies");
  return out;
}

Status SqliteStore::AttachPolicy(int64_t account_id, std::string_view user, std::string_view policy,
                                 bool system, const audit::Record& audit) {
  return Commit([&](Connection& conn) -> Status {
    if (!system) {
      Result<Stmt> exists =
          conn.Prepare("SELECT 1 FROM policies WHERE account_id = ?1 AND name = ?2");
      if (!exists) return exists.error();
      BindInt(*exists, 1, account_id);
      BindText(*exists, 2, policy);
      if (sqlite3_step(*exists) != SQLITE_ROW) {
        return Error(ErrorCode::kInvalidParameter, "No such policy.");
      }
    }
    Result<Stmt> stmt = conn.Prepare(
        "INSERT INTO policy_attachments (account_id, user_name, policy_name, system) "
        "VALUES (?1, ?2, ?3, ?4)");
    if (!stmt) return stmt.error();
    BindInt(*stmt, 1, account_id);
    BindText(*stmt, 2, user);
    BindText(*stmt, 3, policy);
    BindInt(*stmt, 4, system ? 1 : 0);
    Status s = RunWrite(conn, *stmt, "attach policy", "The policy is already attached.");
    return s ? InsertAuditRow(conn, audit) : s;
  });
}

Result<bool> SqliteStore::DetachPolicy(int64_t account_id, std::string_view user,
                                       std::string_view policy, const audit::Record& audit) {
  bool detached = false;
  Status s = Commit([&](Connection& conn) -> Status {
    Result<Stmt> stmt = conn.Prepare(
        "DELETE FROM policy_attachments WHERE account_id = ?1 AND user_name = ?2 AND "
        "policy_name = ?3");
    if (!stmt) return stmt.error();
    BindInt(*stmt, 1, account_id);
    BindText(*stmt, 2, user);
    BindText(*stmt, 3, policy);
    if (sqlite3_step(*stmt) != SQLITE_DONE) return conn.Fail("detach policy");
    detached = sqlite3_changes(conn.db()) > 0;
    return detached ? InsertAuditRow(conn, audit) : Status(Ok{});
  });
  if (!s) return s.error();
  return detached;
}

Result<std::vector<std::pair<std::string, std::string>>> SqliteStore::AttachedPolicies(
    int64_t account_id, std::string_view user) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> stmt = (*conn)->Prepare(
      "SELECT a.policy_name, COALESCE(p.document, '') FROM policy_attachments a "
      "LEFT JOIN policies p ON a.system = 0 AND p.account_id = a.account_id AND "
      "p.name = a.policy_name WHERE a.account_id = ?1 AND a.user_name = ?2 ORDER BY a.policy_name");
  if (!stmt) return stmt.error();
  BindInt(*stmt, 1, account_id);
  BindText(*stmt, 2, user);
  std::vector<std::pair<std::string, std::string>> out;
  int rc;
  while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW)
    out.emplace_back(ColumnText(*stmt, 0), ColumnText(*stmt, 1));
  if (rc != SQLITE_DONE) return (*conn)->Fail("attached policies");
  return out;
}

Result<cas::Certificate> SqliteStore::InsertUpload(cas::Certificate certificate,
                                                   const audit::Record& audit,
                                                   int64_t max_uploads) {
  Status s = Commit([&](Connection& conn) -> Status {
    // The writer runs one transaction at a time: the count cannot change before the insert.
    Result<int64_t> held = CountUploads(conn, certificate.account_id, max_uploads);
    if (!held) return held.error();
    if (*held >= max_uploads) return cas::UploadsOverQuota(max_uploads);
    for (int attempt = 0;; ++attempt) {
      certificate.id = NewUploadCertId();
      certificate.instance_id = cas::UploadInstanceId(certificate.id);
      Status inserted = InsertCertificateRow(conn, certificate);
      if (inserted) break;
      if (!IsIdCollision(conn) || attempt == 3) return inserted;
    }
    audit::Record record = audit;
    record.object_id = std::to_string(certificate.id);
    return InsertAuditRow(conn, record);
  });
  if (!s) return s.error();
  return certificate;
}

Result<std::optional<cas::Certificate>> SqliteStore::FindCertificate(int64_t account_id,
                                                                     int64_t cert_id) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> stmt =
      (*conn)->Prepare(std::string("SELECT ") + kCertificateSelect + kCertificateWithChain +
                       " WHERE c.id = ?1 AND c.account_id = ?2");
  if (!stmt) return stmt.error();
  BindInt(*stmt, 1, cert_id);
  BindInt(*stmt, 2, account_id);
  const int rc = sqlite3_step(*stmt);
  if (rc == SQLITE_ROW) return std::optional<cas::Certificate>(ReadCertificate(*stmt));
  if (rc == SQLITE_DONE) return std::optional<cas::Certificate>();
  return (*conn)->Fail("find certificate");
}

Result<bool> SqliteStore::DeleteCertificate(int64_t account_id, int64_t cert_id,
                                            const audit::Record& audit) {
  bool deleted = false;
  Status s = Commit([&](Connection& conn) -> Status {
    Result<Stmt> stmt = conn.Prepare("DELETE FROM certificates WHERE id = ?1 AND account_id = ?2");
    if (!stmt) return stmt.error();
    BindInt(*stmt, 1, cert_id);
    BindInt(*stmt, 2, account_id);
    if (sqlite3_step(*stmt) != SQLITE_DONE) return conn.Fail("delete certificate");
    deleted = sqlite3_changes(conn.db()) > 0;
    return deleted ? InsertAuditRow(conn, audit) : Status(Ok{});
  });
  if (!s) return s.error();
  return deleted;
}

namespace {

constexpr int64_t kWillExpireSeconds = cas::kWillExpireSeconds;

// WHERE terms on `certificates` selecting the query's entries of account ?1. Statuses as
// cas::StatusOf defines them: revoked first, then by NotAfter against now and the 30-day window.
std::string CertificateFilter(const cas::CertificateQuery& q, BoundSql& sql) {
  std::string where = " WHERE account_id = ?1";
  if (q.upload) where += *q.upload ? " AND upload = 1" : " AND upload = 0";
  using S = cas::CertificateStatus;
  if (!(q.Wants(S::kIssued) && q.Wants(S::kWillExpire) && q.Wants(S::kExpired) &&
        q.Wants(S::kRevoked))) {
    const int64_t soon =
        CheckedAdd(q.now, kWillExpireSeconds).value_or(std::numeric_limits<int64_t>::max());
    std::vector<std::string> terms;
    if (q.Wants(S::kIssued)) terms.push_back("(revoked = 0 AND not_after > " + sql.Add(soon) + ")");
    if (q.Wants(S::kWillExpire)) {
      terms.push_back("(revoked = 0 AND not_after > " + sql.Add(q.now) +
                      " AND not_after <= " + sql.Add(soon) + ")");
    }
    if (q.Wants(S::kExpired)) {
      terms.push_back("(revoked = 0 AND not_after <= " + sql.Add(q.now) + ")");
    }
    if (q.Wants(S::kRevoked)) terms.push_back("revoked = 1");
    std::string any;
    for (const std::string& t : terms) any += (any.empty() ? "" : " OR ") + t;
    where += " AND (" + any + ")";
  }
  if (!q.keyword.empty()) {
    const std::string k = sql.Add(q.keyword);
    where += " AND (instr(lower(common_name), " + k + ") > 0 OR instr(lower(sans), " + k +
             ") > 0 OR instr(lower(instance_id), " + k + ") > 0 OR instr(lower(name), " + k +
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

BoundSql CertificatePageSql(int64_t account_id, const cas::CertificateQuery& q, bool newest_first,
                            int64_t skip, int64_t take) {
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

}  // namespace

Result<cas::CertificatePage> SqliteStore::ListCertificates(int64_t account_id,
                                                           const cas::CertificateQuery& query) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  // One read transaction: the page and its count from the same snapshot.
  if (Status s = (*conn)->Step("BEGIN"); !s) return s.error();
  auto read = [&]() -> Result<cas::CertificatePage> {
    cas::CertificatePage page;
    const BoundSql count = CountCertificatesSql(account_id, query);
    Result<Stmt> counted = (*conn)->Prepare(count.text);
    if (!counted) return counted.error();
    count.Bind(*counted);
    if (sqlite3_step(*counted) != SQLITE_ROW) return (*conn)->Fail("count certificates");
    page.total = sqlite3_column_int64(*counted, 0);
    if (query.offset < 0 || query.limit <= 0 || query.offset >= page.total) return page;
    const PageWalk walk = WalkFor(page.total, query.offset, query.limit);
    const BoundSql rows =
        CertificatePageSql(account_id, query, walk.newest_first, walk.skip, walk.take);
    Result<Stmt> stmt = (*conn)->Prepare(rows.text);
    if (!stmt) return stmt.error();
    rows.Bind(*stmt);
    int rc;
    while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) page.entries.push_back(ReadCertificate(*stmt));
    if (rc != SQLITE_DONE) return (*conn)->Fail("list certificates");
    return page;
  };
  Result<cas::CertificatePage> page = read();
  (void)(*conn)->Step("COMMIT");
  return page;
}

// Records with no issuer ('') were made before issuers were recorded: the data directory's own.
Result<std::vector<cas::Revocation>> SqliteStore::ListRevocations(std::string_view issuer_key_id,
                                                                  int64_t now) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> stmt = (*conn)->Prepare(
      std::string("SELECT ") + kRevocationColumns +
      " FROM revocations WHERE issuer_key_id IN (?1, '') AND not_after > ?2 ORDER BY serial_hex");
  if (!stmt) return stmt.error();
  BindText(*stmt, 1, issuer_key_id);
  BindInt(*stmt, 2, now);
  std::vector<cas::Revocation> out;
  int rc;
  while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) out.push_back(ReadRevocation(*stmt));
  if (rc != SQLITE_DONE) return (*conn)->Fail("list revocations");
  return out;
}

Result<cas::RevocationsVersion> SqliteStore::VersionOfRevocations(std::string_view issuer_key_id) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> stmt = (*conn)->Prepare(
      "SELECT COUNT(*), COALESCE(MAX(revoked_at), 0) FROM revocations "
      "WHERE issuer_key_id IN (?1, '')");
  if (!stmt) return stmt.error();
  BindText(*stmt, 1, issuer_key_id);
  if (sqlite3_step(*stmt) != SQLITE_ROW) return (*conn)->Fail("count revocations");
  return cas::RevocationsVersion{sqlite3_column_int64(*stmt, 0), sqlite3_column_int64(*stmt, 1)};
}

Result<std::optional<cas::IssuedSerial>> SqliteStore::FindIssuedSerial(
    std::string_view serial_hex) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  // `serial_hex <> ''` lets the planner use the partial index orders_by_serial.
  Result<Stmt> stmt = (*conn)->Prepare(
      "SELECT o.id, COALESCE(ch.pem, ''), o.not_after, r.order_id IS NOT NULL, r.order_id, "
      "r.issuer_key_id, r.serial_hex, r.revoked_at, r.reason, r.not_after "
      "FROM orders o LEFT JOIN revocations r ON r.order_id = o.id "
      "LEFT JOIN issued_certificates i ON i.order_id = o.id "
      "LEFT JOIN ca_chains ch ON ch.chain_id = i.chain_id "
      "WHERE o.serial_hex = ?1 AND o.serial_hex <> '' AND o.status IN ('certificate', 'revoked') "
      "LIMIT 1");
  if (!stmt) return stmt.error();
  BindText(*stmt, 1, serial_hex);
  const int rc = sqlite3_step(*stmt);
  if (rc == SQLITE_DONE) return std::optional<cas::IssuedSerial>();
  if (rc != SQLITE_ROW) return (*conn)->Fail("find serial");
  cas::IssuedSerial found;
  found.order_id = sqlite3_column_int64(*stmt, 0);
  found.chain_pem = ColumnText(*stmt, 1);
  found.not_after = sqlite3_column_int64(*stmt, 2);
  if (sqlite3_column_int64(*stmt, 3) != 0) found.revocation = ReadRevocation(*stmt, 4);
  return std::optional<cas::IssuedSerial>(std::move(found));
}

Status SqliteStore::InsertOperatorToken(const ops::OperatorTokenRecord& token,
                                        const audit::Record& audit) {
  return Commit([&](Connection& conn) -> Status {
    Result<Stmt> stmt = conn.Prepare(
        "INSERT INTO operator_tokens (id, name, token_hash, created_at) VALUES (?1, ?2, ?3, ?4)");
    if (!stmt) return stmt.error();
    BindText(*stmt, 1, token.id);
    BindText(*stmt, 2, token.name);
    BindText(*stmt, 3, token.token_hash);
    BindInt(*stmt, 4, token.created_at);
    if (sqlite3_step(*stmt) != SQLITE_DONE) {
      const int code = sqlite3_extended_errcode(conn.db());
      if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return InvalidParameter("Name", "an operator token that is not revoked has this name.");
      }
      return conn.Fail("insert operator token");
    }
    return InsertAuditRow(conn, audit);
  });
}

Result<std::optional<ops::OperatorTokenRecord>> SqliteStore::FindOperatorToken(
    std::string_view id) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> stmt = (*conn)->Prepare(std::string(kTokenColumns) + "WHERE id = ?1");
  if (!stmt) return stmt.error();
  BindText(*stmt, 1, id);
  const int rc = sqlite3_step(*stmt);
  if (rc == SQLITE_ROW) return std::optional<ops::OperatorTokenRecord>(ReadOperatorToken(*stmt));
  if (rc == SQLITE_DONE) return std::optional<ops::OperatorTokenRecord>();
  return (*conn)->Fail("find operator token");
}

Result<std::vector<ops::OperatorTokenRecord>> SqliteStore::ListOperatorTokens() {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> stmt = (*conn)->Prepare(std::string(kTokenColumns) + "ORDER BY created_at, id");
  if (!stmt) return stmt.error();
  std::vector<ops::OperatorTokenRecord> out;
  int rc;
  while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) out.push_back(ReadOperatorToken(*stmt));
  if (rc != SQLITE_DONE) return (*conn)->Fail("list operator tokens");
  return out;
}

Status SqliteStore::TouchOperatorToken(std::string_view id, int64_t now) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> stmt =
      (*conn)->Prepare("UPDATE operator_tokens SET last_used_at = ?2 WHERE id = ?1");
  if (!stmt) return stmt.error();
  BindText(*stmt, 1, id);
  BindInt(*stmt, 2, now);
  if (sqlite3_step(*stmt) != SQLITE_DONE) return (*conn)->Fail("touch operator token");
  return Ok{};
}

Result<bool> SqliteStore::RevokeOperatorToken(std::string_view id, int64_t now,
                                              const audit::Record& audit) {
  bool revoked = false;
  Status s = Commit([&](Connection& conn) -> Status {
    // COALESCE keeps the first revocation time when a revoked token is revoked again.
    Result<Stmt> stmt = conn.Prepare(
        "UPDATE operator_tokens SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1");
    if (!stmt) return stmt.error();
    BindText(*stmt, 1, id);
    BindInt(*stmt, 2, now);
    if (sqlite3_step(*stmt) != SQLITE_DONE) return conn.Fail("revoke operator token");
    revoked = sqlite3_changes(conn.db()) == 1;
    return revoked ? InsertAuditRow(conn, audit) : Status(Ok{});
  });
  if (!s) return s.error();
  return revoked;
}

Result<std::optional<ops::PlanGrantRecord>> SqliteStore::FindPlanGrant(std::string_view key) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  return ReadPlanGrant(**conn, key);
}

Result<ops::PlanGrantOnce> SqliteStore::GrantPlanOnce(const Plan& plan, std::string_view key,
                                                      std::string_view request_hash,
                                                      const audit::Record& audit) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  WriteTransaction txn(**conn);
  Status begun = txn.Begin();
  if (!begun) return begun.error();
  // Under the writer lock (BEGIN IMMEDIATE) the check and the inserts are one atomic step.
  Result<std::optional<ops::PlanGrantRecord>> seen = ReadPlanGrant(**conn, key);
  if (!seen) return seen.error();
  if (*seen) return ops::PlanGrantOnce{std::move(**seen), false};
  Result<Plan> stored = InsertPlanRows(**conn, plan);
  if (!stored) return stored.error();
  Result<Stmt> record = (*conn)->Prepare(
      "INSERT INTO plan_grant_keys (idempotency_key, request_hash, plan_id, created_at) "
      "VALUES (?1, ?2, ?3, ?4)");
  if (!record) return record.error();
  BindText(*record, 1, key);
  BindText(*record, 2, request_hash);
  BindInt(*record, 3, stored->id);
  BindInt(*record, 4, plan.granted_at);
  if (sqlite3_step(*record) != SQLITE_DONE) return (*conn)->Fail("insert plan grant key");
  audit::Record named = audit;
  named.object_id = std::to_string(stored->id);
  if (Status a = InsertAuditRow(**conn, named); !a) return a.error();
  Status committed = txn.Commit();
  if (!committed) return committed.error();
  return ops::PlanGrantOnce{
      ops::PlanGrantRecord{std::string(key), std::string(request_hash), std::move(*stored)}, true};
}

// --- acme::AcmeStore ------------------------------------------------------------------

namespace {

constexpr const char* kEabColumns =
    "SELECT key_id, account_id, product_code, sealed_hmac_key, single_use, names, revoked, "
    "created_at FROM acme_eab_keys ";
constexpr const char* kAcmeAccountColumns =
    "SELECT id, thumbprint, jwk, eab_key_id, account_id, product_code, deactivated, contact, "
    "created_at FROM acme_accounts ";

acme::EabKey ReadEabKey(sqlite3_stmt* s) {
  acme::EabKey k;
  k.key_id = ColumnText(s, 0);
  k.account_id = sqlite3_column_int64(s, 1);
  k.product_code = ColumnText(s, 2);
  k.sealed_hmac_key = ColumnBlob(s, 3);
  k.single_use = sqlite3_column_int(s, 4) != 0;
  const std::string names = ColumnText(s, 5);
  if (!names.empty()) k.names = SplitDomains(names);
  k.revoked = sqlite3_column_int(s, 6) != 0;
  k.created_at = sqlite3_column_int64(s, 7);
  return k;
}

acme::AcmeAccount ReadAcmeAccount(sqlite3_stmt* s) {
  acme::AcmeAccount a;
  a.id = sqlite3_column_int64(s, 0);
  a.thumbprint = ColumnText(s, 1);
  a.jwk_json = ColumnText(s, 2);
  a.eab_key_id = ColumnText(s, 3);
  a.account_id = sqlite3_column_int64(s, 4);
  a.product_code = ColumnText(s, 5);
  a.deactivated = sqlite3_column_int(s, 6) != 0;
  a.contact_json = ColumnText(s, 7);
  a.created_at = sqlite3_column_int64(s, 8);
  return a;
}

Result<std::vector<int64_t>> ReadIds(Connection& conn, sqlite3_stmt* s, std::string_view what) {
  std::vector<int64_t> ids;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) ids.push_back(sqlite3_column_int64(s, 0));
  if (rc != SQLITE_DONE) return conn.Fail(what);
  return ids;
}

}  // namespace

Result<std::string> SqliteStore::AcmeSharedSecret(std::string_view name,
                                                  std::string_view candidate) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> insert = (*conn)->Prepare(
      "INSERT INTO acme_secrets (name, value) VALUES (?1, ?2) ON CONFLICT DO NOTHING");
  if (!insert) return insert.error();
  BindText(*insert, 1, name);
  BindBlob(*insert, 2, candidate);
  if (sqlite3_step(*insert) != SQLITE_DONE) return (*conn)->Fail("insert acme secret");
  Result<Stmt> read = (*conn)->Prepare("SELECT value FROM acme_secrets WHERE name = ?1");
  if (!read) return read.error();
  BindText(*read, 1, name);
  if (sqlite3_step(*read) != SQLITE_ROW) return (*conn)->Fail("read acme secret");
  return ColumnBlob(*read, 0);
}

Status SqliteStore::InsertEabKey(const acme::EabKey& k) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> stmt = (*conn)->Prepare(
      "INSERT INTO acme_eab_keys (key_id, account_id, product_code, sealed_hmac_key, "
      "single_use, names, revoked, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  if (!stmt) return stmt.error();
  BindText(*stmt, 1, k.key_id);
  BindInt(*stmt, 2, k.account_id);
  BindText(*stmt, 3, k.product_code);
  BindBlob(*stmt, 4, k.sealed_hmac_key);
  BindInt(*stmt, 5, k.single_use ? 1 : 0);
  BindText(*stmt, 6, JoinDomains(k.names));
  BindInt(*stmt, 7, k.revoked ? 1 : 0);
  BindInt(*stmt, 8, k.created_at);
  if (sqlite3_step(*stmt) != SQLITE_DONE) {
    const int ext = sqlite3_extended_errcode((*conn)->db());
    if (ext == SQLITE_CONSTRAINT_PRIMARYKEY) {
      return Error(ErrorCode::kParamRepeat, "An EAB key with this id exists.");
    }
    if (ext == SQLITE_CONSTRAINT_FOREIGNKEY) {
      return Error(ErrorCode::kInvalidParameter, "No such account.");
    }
    return (*conn)->Fail("insert eab key");
  }
  return Ok{};
}

Result<std::optional<acme::EabKey>> SqliteStore::FindEabKey(std::string_view key_id) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> stmt = (*conn)->Prepare(std::string(kEabColumns) + "WHERE key_id = ?1");
  if (!stmt) return stmt.error();
  BindText(*stmt, 1, key_id);
  const int rc = sqlite3_step(*stmt);
  if (rc == SQLITE_DONE) return std::optional<acme::EabKey>();
  if (rc != SQLITE_ROW) return (*conn)->Fail("find eab key");
  return std::optional<acme::EabKey>(ReadEabKey(*stmt));
}

Result<std::vector<acme::EabKeyUsage>> SqliteStore::ListEabKeys(int64_t account_id) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> keys =
      (*conn)->Prepare(std::string(kEabColumns) + "WHERE account_id = ?1 ORDER BY created_at");
  if (!keys) return keys.error();
  BindInt(*keys, 1, account_id);
  std::vector<acme::EabKeyUsage> out;
  int rc;
  while ((rc = sqlite3_step(*keys)) == SQLITE_ROW) out.push_back({ReadEabKey(*keys), {}});
  if (rc != SQLITE_DONE) return (*conn)->Fail("list eab keys");
  Result<Stmt> bound = (*conn)->Prepare(
      "SELECT a.id, a.deactivated, COUNT(o.id), COALESCE(SUM(o.holds_unit), 0), "
      "COALESCE(SUM(o.counts_issued), 0) FROM acme_accounts a "
      "LEFT JOIN acme_orders m ON m.acme_account_id = a.id "
      "LEFT JOIN orders o ON o.id = m.order_id "
      "WHERE a.eab_key_id = ?1 GROUP BY a.id ORDER BY a.id");
  if (!bound) return bound.error();
  for (acme::EabKeyUsage& usage : out) {
    sqlite3_reset(*bound);
    BindText(*bound, 1, usage.key.key_id);
    while ((rc = sqlite3_step(*bound)) == SQLITE_ROW) {
      usage.accounts.push_back({sqlite3_column_int64(*bound, 0), sqlite3_column_int(*bound, 1) != 0,
                                sqlite3_column_int64(*bound, 2), sqlite3_column_int64(*bound, 3),
                                sqlite3_column_int64(*bound, 4)});
    }
    if (rc != SQLITE_DONE) return (*conn)->Fail("list eab accounts");
  }
  return out;
}

Result<bool> SqliteStore::RevokeEabKey(std::string_view key_id) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> stmt = (*conn)->Prepare("UPDATE acme_eab_keys SET revoked = 1 WHERE key_id = ?1");
  if (!stmt) return stmt.error();
  BindText(*stmt, 1, key_id);
  if (sqlite3_step(*stmt) != SQLITE_DONE) return (*conn)->Fail("revoke eab key");
  return sqlite3_changes((*conn)->db()) > 0;
}

Result<acme::AcmeAccount> SqliteStore::CreateAcmeAccount(acme::AcmeAccount account,
                                                         int64_t max_accounts) {
  // Through the group committer, as every hot write: one writer (no lock waits, no busy-handler
  // sleeps) and the commit shared with whatever else is queued. The check and the insert run in
  // one transaction under the writer, so a single-use key binds once even when two clients race.
  std::optional<acme::AcmeAccount> found;
  Status s = Commit([&](Connection& conn) -> Status {
    Result<Stmt> existing =
        conn.Prepare(std::string(kAcmeAccountColumns) + "WHERE thumbprint = ?1");
    if (!existing) return existing.error();
    BindText(*existing, 1, account.thumbprint);
    int rc = sqlite3_step(*existing);
    if (rc == SQLITE_ROW) {
      found = ReadAcmeAccount(*existing);
      return Ok{};
    }
    if (rc != SQLITE_DONE) return conn.Fail("find acme account");
    Result<Stmt> key = conn.Prepare(
        "SELECT revoked, single_use, (SELECT COUNT(*) FROM (SELECT 1 FROM acme_accounts WHERE "
        "eab_key_id = ?1 LIMIT ?2)) FROM acme_eab_keys WHERE key_id = ?1");
    if (!key) return key.error();
    BindText(*key, 1, account.eab_key_id);
    BindInt(*key, 2, max_accounts);
    rc = sqlite3_step(*key);
    if (rc == SQLITE_DONE) return Error(ErrorCode::kOrderStateError, "The EAB key does not exist.");
    if (rc != SQLITE_ROW) return conn.Fail("read eab key");
    if (sqlite3_column_int(*key, 0) != 0) {
      return Error(ErrorCode::kOrderStateError, "The EAB key was revoked.");
    }
    if (sqlite3_column_int(*key, 1) != 0 && sqlite3_column_int64(*key, 2) > 0) {
      return Error(ErrorCode::kOrderStateError, "The single-use EAB key has bound an account.");
    }
    if (sqlite3_column_int64(*key, 2) >= max_accounts)
      return acme::AccountsPerKeyRefused(max_accounts);
    Result<Stmt> insert = conn.Prepare(
        "INSERT INTO acme_accounts (thumbprint, jwk, eab_key_id, account_id, product_code, "
        "deactivated, contact, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    if (!insert) return insert.error();
    BindText(*insert, 1, account.thumbprint);
    BindText(*insert, 2, account.jwk_json);
    BindText(*insert, 3, account.eab_key_id);
    BindInt(*insert, 4, account.account_id);
    BindText(*insert, 5, account.product_code);
    BindInt(*insert, 6, account.deactivated ? 1 : 0);
    BindText(*insert, 7, account.contact_json);
    BindInt(*insert, 8, account.created_at);
    if (sqlite3_step(*insert) != SQLITE_DONE) return conn.Fail("insert acme account");
    account.id = sqlite3_last_insert_rowid(conn.db());
    return Ok{};
  });
  if (!s) return s.error();
  if (found) return std::move(*found);
  return account;
}

Result<std::optional<acme::AcmeAccount>> SqliteStore::FindAcmeAccount(int64_t id) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> stmt = (*conn)->Prepare(std::string(kAcmeAccountColumns) + "WHERE id = ?1");
  if (!stmt) return stmt.error();
  BindInt(*stmt, 1, id);
  const int rc = sqlite3_step(*stmt);
  if (rc == SQLITE_DONE) return std::optional<acme::AcmeAccount>();
  if (rc != SQLITE_ROW) return (*conn)->Fail("find acme account");
  return std::optional<acme::AcmeAccount>(ReadAcmeAccount(*stmt));
}

Result<std::optional<acme::AcmeAccount>> SqliteStore::FindAcmeAccountByThumbprint(
    std::string_view tp) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> stmt = (*conn)->Prepare(std::string(kAcmeAccountColumns) + "WHERE thumbprint = ?1");
  if (!stmt) return stmt.error();
  BindText(*stmt, 1, tp);
  const int rc = sqlite3_step(*stmt);
  if (rc == SQLITE_DONE) return std::optional<acme::AcmeAccount>();
  if (rc != SQLITE_ROW) return (*conn)->Fail("find acme account");
  return std::optional<acme::AcmeAccount>(ReadAcmeAccount(*stmt));
}

Status SqliteStore::UpdateAcmeAccount(const acme::AcmeAccount& a) {
  return Commit([&](Connection& conn) -> Status {
    Result<Stmt> stmt = conn.Prepare(
        "UPDATE acme_accounts SET thumbprint = ?2, jwk = ?3, deactivated = ?4, contact = ?5 "
        "WHERE id = ?1");
    if (!stmt) return stmt.error();
    BindInt(*stmt, 1, a.id);
    BindText(*stmt, 2, a.thumbprint);
    BindText(*stmt, 3, a.jwk_json);
    BindInt(*stmt, 4, a.deactivated ? 1 : 0);
    BindText(*stmt, 5, a.contact_json);
    if (sqlite3_step(*stmt) != SQLITE_DONE) {
      if (sqlite3_extended_errcode(conn.db()) == SQLITE_CONSTRAINT_UNIQUE) {
        return Error(ErrorCode::kParamRepeat, "The key belongs to another account.");
      }
      return conn.Fail("update acme account");
    }
    return Ok{};
  });
}

Status SqliteStore::InsertAcmeOrder(const acme::AcmeOrder& o) {
  return Commit([&](Connection& conn) -> Status {
    Result<Stmt> stmt = conn.Prepare(
        "INSERT INTO acme_orders (order_id, acme_account_id, identifiers, authz, created_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!stmt) return stmt.error();
    BindInt(*stmt, 1, o.order_id);
    BindInt(*stmt, 2, o.acme_account_id);
    BindText(*stmt, 3, o.identifiers_key);
    BindText(*stmt, 4, o.authz_json);
    BindInt(*stmt, 5, o.created_at);
    if (sqlite3_step(*stmt) != SQLITE_DONE) return conn.Fail("insert acme order");
    return Ok{};
  });
}

Result<std::optional<acme::AcmeOrder>> SqliteStore::FindAcmeOrder(int64_t order_id) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> stmt = (*conn)->Prepare(
      "SELECT order_id, acme_account_id, identifiers, authz, created_at FROM acme_orders "
      "WHERE order_id = ?1");
  if (!stmt) return stmt.error();
  BindInt(*stmt, 1, order_id);
  const int rc = sqlite3_step(*stmt);
  if (rc == SQLITE_DONE) return std::optional<acme::AcmeOrder>();
  if (rc != SQLITE_ROW) return (*conn)->Fail("find acme order");
  return std::optional<acme::AcmeOrder>(
      acme::AcmeOrder{sqlite3_column_int64(*stmt, 0), sqlite3_column_int64(*stmt, 1),
                      ColumnText(*stmt, 2), ColumnText(*stmt, 3), sqlite3_column_int64(*stmt, 4)});
}

Status SqliteStore::UpdateAcmeOrderAuthz(int64_t order_id, std::string_view authz_json) {
  return Commit([&](Connection& conn) -> Status {
    Result<Stmt> stmt = conn.Prepare("UPDATE acme_orders SET authz = ?2 WHERE order_id = ?1");
    if (!stmt) return stmt.error();
    BindInt(*stmt, 1, order_id);
    BindText(*stmt, 2, authz_json);
    if (sqlite3_step(*stmt) != SQLITE_DONE) return conn.Fail("update acme order");
    return Ok{};
  });
}

Result<std::vector<int64_t>> SqliteStore::AcmeOrdersWithNames(int64_t acme_account_id,
                                                              std::string_view identifiers_key,
                                                              int limit) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> stmt = (*conn)->Prepare(
      "SELECT order_id FROM acme_orders WHERE acme_account_id = ?1 AND identifiers = ?2 "
      "ORDER BY created_at DESC, order_id DESC LIMIT ?3");
  if (!stmt) return stmt.error();
  BindInt(*stmt, 1, acme_account_id);
  BindText(*stmt, 2, identifiers_key);
  BindInt(*stmt, 3, limit);
  return ReadIds(**conn, *stmt, "list acme orders");
}

Result<std::vector<int64_t>> SqliteStore::AcmeAccountOrders(int64_t acme_account_id, int limit) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> stmt = (*conn)->Prepare(
      "SELECT order_id FROM acme_orders WHERE acme_account_id = ?1 "
      "ORDER BY created_at DESC, order_id DESC LIMIT ?2");
  if (!stmt) return stmt.error();
  BindInt(*stmt, 1, acme_account_id);
  BindInt(*stmt, 2, limit);
  return ReadIds(**conn, *stmt, "list acme orders");
}

Result<std::optional<int64_t>> SqliteStore::AcmeOrderIdBySerial(std::string_view serial) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> stmt = (*conn)->Prepare(
      "SELECT c.order_id FROM certificates c JOIN acme_orders m ON m.order_id = c.order_id "
      "WHERE c.serial = ?1 AND c.order_id <> 0");
  if (!stmt) return stmt.error();
  BindText(*stmt, 1, serial);
  const int rc = sqlite3_step(*stmt);
  if (rc == SQLITE_DONE) return std::optional<int64_t>();
  if (rc != SQLITE_ROW) return (*conn)->Fail("find order by serial");
  return std::optional<int64_t>(sqlite3_column_int64(*stmt, 0));
}

Result<std::vector<std::string>> SqliteStore::ExplainListCertificates(
    int64_t account_id, const cas::CertificateQuery& query, int64_t total) {
  std::vector<BoundSql> statements = {CountCertificatesSql(account_id, query)};
  if (query.offset >= 0 && query.limit > 0 && query.offset < total) {
    const PageWalk walk = WalkFor(total, query.offset, query.limit);
    statements.push_back(
        CertificatePageSql(account_id, query, walk.newest_first, walk.skip, walk.take));
  }
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  return ExplainAll(**conn, statements);
}

// --- ops::MetricsStore ------------------------------------------------------------------

Status SqliteStore::Ping() {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> stmt = (*conn)->Prepare("SELECT 1");
  if (!stmt) return stmt.error();
  if (sqlite3_step(*stmt) != SQLITE_ROW) return (*conn)->Fail("ping");
  return Ok{};
}

Result<std::vector<ops::StateCount>> SqliteStore::CountOrdersByState() {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  // Reads the per-(account, state) counts migration 8's triggers keep, not the orders.
  Result<Stmt> stmt =
      (*conn)->Prepare("SELECT status, SUM(n) FROM order_counts GROUP BY status HAVING SUM(n) > 0");
  if (!stmt) return stmt.error();
  std::vector<ops::StateCount> out;
  int rc;
  while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) {
    out.push_back({ColumnText(*stmt, 0), sqlite3_column_int64(*stmt, 1)});
  }
  if (rc != SQLITE_DONE) return (*conn)->Fail("count orders by state");
  return out;
}

Result<std::vector<ops::PlanUnits>> SqliteStore::CountPlanUnits(int64_t now, bool per_account) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  const std::string account = per_account ? "account_id" : "0";
  Result<Stmt> stmt = (*conn)->Prepare(
      "SELECT " + account +
      " AS a, product_code, SUM(granted), SUM(used), SUM(issued) FROM ("
      " SELECT account_id, product_code, count AS granted, 0 AS used, 0 AS issued FROM plans"
      "  WHERE expires_at IS NULL OR expires_at > ?1"
      " UNION ALL"
      " SELECT account_id, product_code, 0, used, issued FROM package_usage"
      ") GROUP BY a, product_code ORDER BY a, product_code");
  if (!stmt) return stmt.error();
  BindInt(*stmt, 1, now);
  std::vector<ops::PlanUnits> out;
  int rc;
  while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) {
    out.push_back({sqlite3_column_int64(*stmt, 0), ColumnText(*stmt, 1),
                   sqlite3_column_int64(*stmt, 2), sqlite3_column_int64(*stmt, 3),
                   sqlite3_column_int64(*stmt, 4)});
  }
  if (rc != SQLITE_DONE) return (*conn)->Fail("count plan units");
  return out;
}

Result<ops::SoonestExpiry> SqliteStore::FindSoonestExpiry(int64_t now) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  // One probe per source of its partial index (migration 9).
  Result<Stmt> stmt = (*conn)->Prepare(
      "SELECT (SELECT MIN(not_after) FROM certificates WHERE upload = 0 AND revoked = 0 AND "
      "not_after > ?1), (SELECT MIN(not_after) FROM certificates WHERE upload = 1 AND "
      "revoked = 0 AND not_after > ?1)");
  if (!stmt) return stmt.error();
  BindInt(*stmt, 1, now);
  if (sqlite3_step(*stmt) != SQLITE_ROW) return (*conn)->Fail("find soonest expiry");
  return ops::SoonestExpiry{ColumnOptionalInt(*stmt, 0), ColumnOptionalInt(*stmt, 1)};
}

// --- ops::AuditLog ----------------------------------------------------------------------

Status SqliteStore::AppendAudit(const audit::Record& record) {
  // A refusal changes nothing else: its row joins the next shared commit.
  return Commit([&](Connection& conn) { return InsertAuditRow(conn, record); });
}

Result<std::vector<audit::Record>> SqliteStore::ReadAudit(const ops::AuditQuery& query) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  return ReadAuditRows(**conn, query);
}

Result<int64_t> SqliteStore::PruneAudit(int64_t before, int64_t max_rows) {
  int64_t deleted = 0;
  // Through the group committer, so a prune batch is one more job between requests' writes.
  Status s = Commit([&](Connection& conn) -> Status {
    Result<Stmt> stmt = conn.Prepare(
        "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE time < ?1 "
        "ORDER BY time LIMIT ?2)");
    if (!stmt) return stmt.error();
    BindInt(*stmt, 1, before);
    BindInt(*stmt, 2, max_rows);
    if (sqlite3_step(*stmt) != SQLITE_DONE) return conn.Fail("prune audit records");
    deleted = sqlite3_changes(conn.db());
    return Ok{};
  });
  if (!s) return s.error();
  return deleted;
}

Result<std::vector<int64_t>> SqliteStore::OrdersWithoutCreationRecord(int64_t limit) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  // NOT IN over an uncorrelated subquery: SQLite builds the set of named orders once, so the
  // check is one pass over each table. Orders older than the oldest record kept (written before
  // the trail existed, or pruned) have nothing to be checked against.
  Result<Stmt> stmt = (*conn)->Prepare(
      "SELECT id FROM orders WHERE created_at >= (SELECT MIN(time) FROM audit_log) AND id NOT IN "
      "(SELECT CAST(object_id AS INTEGER) FROM audit_log WHERE object_type = 'OrderId' AND "
      "result = 'OK') ORDER BY id LIMIT ?1");
  if (!stmt) return stmt.error();
  BindInt(*stmt, 1, limit);
  std::vector<int64_t> ids;
  int rc;
  while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) ids.push_back(sqlite3_column_int64(*stmt, 0));
  if (rc != SQLITE_DONE) return (*conn)->Fail("orders without creation record");
  return ids;
}

}  // namespace certplan::store::sqlite
