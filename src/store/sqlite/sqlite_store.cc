#include "store/sqlite/sqlite_store.h"

#include "store/order_codec.h"
#include "store/sqlite/audit_rows.h"
#include "store/sqlite/certificate_rows.h"
#include "store/sqlite/migrations.h"
#include "store/sqlite/order_rows.h"

namespace certplan::store::sqlite {

using cas::CounterDrift;
using cas::PackageCounters;
using cas::PendingTransition;
using cas::Plan;
using iam::AccessKey;
using iam::Account;
using iam::PolicyRecord;
using iam::User;

// Returns its connection to the pool when it goes out of scope.
class SqliteStore::Lease {
 public:
  Lease(SqliteStore* store, std::unique_ptr<Connection> conn)
      : store_(store), conn_(std::move(conn)) {}
  Lease(Lease&&) = default;
  ~Lease() {
    if (conn_) store_->Release(std::move(conn_));
  }
  Connection* operator->() { return conn_.get(); }
  Connection& operator*() { return *conn_; }

 private:
  SqliteStore* store_;
  std::unique_ptr<Connection> conn_;
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
  {
    std::scoped_lock lock(mu_);
    if (!idle_.empty()) {
      std::unique_ptr<Connection> conn = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(conn));
    }
  }
  Result<std::unique_ptr<Connection>> conn = Connection::Open(path_);
  if (!conn) return conn.error();
  return Lease(this, std::move(*conn));
}

void SqliteStore::Release(std::unique_ptr<Connection> conn) {
  std::scoped_lock lock(mu_);
  idle_.push_back(std::move(conn));
}

Result<Account> SqliteStore::CreateAccount(int64_t id, std::string_view name, int64_t now,
                                           const audit::Record& audit) {
  // Every write goes through the group committer: the change and its audit record in one
  // transaction, the commit shared with whatever else is queued.
  Status s = committer_->Run([&](Connection& conn) -> Status {
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
  return committer_->Run([&](Connection& conn) -> Status {
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
  Status s = committer_->Run([&](Connection& conn) -> Status {
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
  Result<Stmt> insert = (*conn)->Prepare(
      "INSERT INTO plans (account_id, product_code, count, granted_at, expires_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5)");
  if (!insert) return insert.error();
  BindInt(*insert, 1, plan.account_id);
  BindText(*insert, 2, plan.product_code);
  BindInt(*insert, 3, plan.count);
  BindInt(*insert, 4, plan.granted_at);
  BindOptionalInt(*insert, 5, plan.expires_at);
  if (sqlite3_step(*insert) != SQLITE_DONE) return (*conn)->Fail("insert plan");
  Plan stored = plan;
  stored.id = sqlite3_last_insert_rowid((*conn)->db());
  // The usage row exists from the first grant on, so quota takes are a plain UPDATE.
  Result<Stmt> usage = (*conn)->Prepare(
      "INSERT OR IGNORE INTO package_usage (account_id, product_code) VALUES (?1, ?2)");
  if (!usage) return usage.error();
  BindInt(*usage, 1, plan.account_id);
  BindText(*usage, 2, plan.product_code);
  if (sqlite3_step(*usage) != SQLITE_DONE) return (*conn)->Fail("insert package usage");
  audit::Record record = audit;
  record.object_id = std::to_string(stored.id);
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

// Takes one unit and inserts the order on `conn`, inside the caller's transaction.
Status TakeQuotaAndInsert(Connection& conn, cas::Order& order, int64_t now) {
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
  Status s = committer_->Run([&](Connection& conn) -> Status {
    if (Status taken = TakeQuotaAndInsert(conn, order, now); !taken) return taken;
    audit::Record record = audit;
    record.object_id = std::to_string(order.id);
    return InsertAuditRow(conn, record);
  });
  if (!s) return s.error();
  return order;
}

Result<std::optional<cas::Order>> SqliteStore::FindOrder(int64_t account_id, int64_t order_id) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> stmt = (*conn)->Prepare(
      std::string("SELECT ") + kOrderColumns +
      " FROM orders WHERE id = ?1 AND (?2 = 0 OR account_id = ?2) AND status <> 'deleted'");
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
  BindText(*update, 31, cas::StatusName(expected));
  if (sqlite3_step(*update) != SQLITE_DONE) return conn.Fail("update order");
  // Compare-and-set on the state: a concurrent cancel and issuance cannot both win.
  if (sqlite3_changes(conn.db()) != 1) {
    return Error(ErrorCode::kOrderStateError, "The order changed state meanwhile; retry.");
  }
  // The repository entry lands with the issuance, and learns of a revocation with it.
  if (t.certificate) {
    if (Status s = InsertCertificateRow(conn, *t.certificate); !s) return s;
  }
  if (t.order.status == cas::OrderStatus::kRevoked) {
    if (Status s = MarkOrderCertificateRevoked(conn, t.order.id); !s) return s;
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
  return committer_->Run([&](Connection& conn) { return StoreTransition(conn, t, expected); });
}

std::vector<Status> SqliteStore::ApplyTransitions(const std::vector<PendingTransition>& batch) {
  std::vector<Status> results(batch.size(), Status(Ok{}));
  Status committed = committer_->Run([&](Connection& conn) -> Status {
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

Result<std::vector<cas::Order>> SqliteStore::DueOrders(int64_t now, int limit) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> stmt = (*conn)->Prepare(
      std::string("SELECT ") + kOrderColumns +
      " FROM orders WHERE status IN ('domain_verify', 'process') AND next_check_at <= ?1 "
      "ORDER BY next_check_at LIMIT ?2");
  if (!stmt) return stmt.error();
  BindInt(*stmt, 1, now);
  BindInt(*stmt, 2, limit);
  return ReadOrders(**conn, *stmt);
}

Result<std::vector<cas::Order>> SqliteStore::ListOrders(int64_t account_id,
                                                        std::string_view keyword) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> stmt = (*conn)->Prepare(
      std::string("SELECT ") + kOrderColumns +
      " FROM orders WHERE account_id = ?1 AND status <> 'deleted' AND (?2 = '' OR "
      "instr(domains, ?2) > 0 OR CAST(id AS TEXT) = ?2) ORDER BY created_at DESC, id DESC");
  if (!stmt) return stmt.error();
  BindInt(*stmt, 1, account_id);
  BindText(*stmt, 2, keyword);
  return ReadOrders(**conn, *stmt);
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
  return committer_->Run([&](Connection& conn) -> Status {
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
  return committer_->Run([&](Connection& conn) -> Status {
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
  return committer_->Run([&](Connection& conn) -> Status {
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
  return committer_->Run([&](Connection& conn) -> Status {
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
  Status s = committer_->Run([&](Connection& conn) -> Status {
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
                                                   const audit::Record& audit) {
  Status s = committer_->Run([&](Connection& conn) -> Status {
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
  Result<Stmt> stmt = (*conn)->Prepare(std::string("SELECT ") + kCertificateColumns +
                                       " FROM certificates WHERE id = ?1 AND account_id = ?2");
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
  Status s = committer_->Run([&](Connection& conn) -> Status {
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

Result<cas::CertificatePage> SqliteStore::ListCertificates(int64_t account_id,
                                                           const cas::CertificateQuery& query) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  // One read transaction: the page and its count from the same snapshot.
  if (Status s = (*conn)->Step("BEGIN"); !s) return s.error();
  auto read = [&]() -> Result<cas::CertificatePage> {
    cas::CertificatePage page;
    Result<Stmt> count =
        (*conn)->Prepare(std::string("SELECT COUNT(*) FROM certificates") + kCertificateFilter);
    if (!count) return count.error();
    BindCertificateFilter(*count, account_id, query);
    if (sqlite3_step(*count) != SQLITE_ROW) return (*conn)->Fail("count certificates");
    page.total = sqlite3_column_int64(*count, 0);
    Result<Stmt> stmt = (*conn)->Prepare(std::string("SELECT ") + kCertificateColumns +
                                         " FROM certificates" + kCertificateFilter +
                                         " ORDER BY created_at DESC, id DESC LIMIT ?9 OFFSET ?10");
    if (!stmt) return stmt.error();
    BindCertificateFilter(*stmt, account_id, query);
    BindInt(*stmt, 9, query.limit);
    BindInt(*stmt, 10, query.offset);
    int rc;
    while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) page.entries.push_back(ReadCertificate(*stmt));
    if (rc != SQLITE_DONE) return (*conn)->Fail("list certificates");
    return page;
  };
  Result<cas::CertificatePage> page = read();
  (void)(*conn)->Step("COMMIT");
  return page;
}

Status SqliteStore::AppendAudit(const audit::Record& record) {
  // A refusal changes nothing else: its row joins the next shared commit.
  return committer_->Run([&](Connection& conn) { return InsertAuditRow(conn, record); });
}

Result<std::vector<audit::Record>> SqliteStore::ReadAudit(const ops::AuditQuery& query) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  return ReadAuditRows(**conn, query);
}

Result<int64_t> SqliteStore::PruneAudit(int64_t before, int64_t max_rows) {
  int64_t deleted = 0;
  // Through the group committer, so a prune batch is one more job between requests' writes.
  Status s = committer_->Run([&](Connection& conn) -> Status {
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
