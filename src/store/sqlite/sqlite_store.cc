#include "store/sqlite/sqlite_store.h"

#include "store/sqlite/migrations.h"

namespace certplan::store::sqlite {

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

Result<Account> SqliteStore::CreateAccount(int64_t id, std::string_view name, int64_t now) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> stmt =
      (*conn)->Prepare("INSERT INTO accounts (id, name, created_at) VALUES (?1, ?2, ?3)");
  if (!stmt) return stmt.error();
  BindInt(*stmt, 1, id);
  BindText(*stmt, 2, name);
  BindInt(*stmt, 3, now);
  if (sqlite3_step(*stmt) != SQLITE_DONE) {
    if (sqlite3_extended_errcode((*conn)->db()) == SQLITE_CONSTRAINT_UNIQUE) {
      return Error(ErrorCode::kInvalidParameter, "An account with this name already exists.");
    }
    return (*conn)->Fail("insert account");
  }
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

Status SqliteStore::InsertAccessKey(const AccessKey& key) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> stmt = (*conn)->Prepare(
      "INSERT INTO access_keys (id, account_id, user_name, sealed_secret, enabled, created_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!stmt) return stmt.error();
  BindText(*stmt, 1, key.id);
  BindInt(*stmt, 2, key.account_id);
  BindText(*stmt, 3, key.user_name);
  BindBlob(*stmt, 4, key.sealed_secret);
  BindInt(*stmt, 5, key.enabled ? 1 : 0);
  BindInt(*stmt, 6, key.created_at);
  if (sqlite3_step(*stmt) != SQLITE_DONE) return (*conn)->Fail("insert access key");
  return Ok{};
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

Result<bool> SqliteStore::SetAccessKeyEnabled(std::string_view id, bool enabled) {
  Result<Lease> conn = Acquire();
  if (!conn) return conn.error();
  Result<Stmt> stmt = (*conn)->Prepare("UPDATE access_keys SET enabled = ?2 WHERE id = ?1");
  if (!stmt) return stmt.error();
  BindText(*stmt, 1, id);
  BindInt(*stmt, 2, enabled ? 1 : 0);
  if (sqlite3_step(*stmt) != SQLITE_DONE) return (*conn)->Fail("update access key");
  return sqlite3_changes((*conn)->db()) > 0;
}

Result<Plan> SqliteStore::GrantPlan(const Plan& plan) {
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

}  // namespace certplan::store::sqlite
