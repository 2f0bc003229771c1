#include "store/sqlite/migrations.h"

#include <string>

namespace certplan::store::sqlite {
namespace {

// Append only: a released migration never changes; version N is kMigrations[N - 1].
constexpr const char* kMigrations[] = {
    // 1: accounts, AccessKeys, plans and the per-package usage counters.
    R"sql(
CREATE TABLE accounts (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL
);
CREATE TABLE access_keys (
  id            TEXT PRIMARY KEY,
  account_id    INTEGER NOT NULL REFERENCES accounts(id),
  user_name     TEXT NOT NULL DEFAULT '',
  sealed_secret BLOB NOT NULL,
  enabled       INTEGER NOT NULL,
  created_at    INTEGER NOT NULL
);
CREATE INDEX access_keys_by_account ON access_keys(account_id);
CREATE TABLE plans (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id   INTEGER NOT NULL REFERENCES accounts(id),
  product_code TEXT NOT NULL,
  count        INTEGER NOT NULL CHECK (count > 0),
  granted_at   INTEGER NOT NULL,
  expires_at   INTEGER
);
CREATE INDEX plans_by_package ON plans(account_id, product_code);
CREATE TABLE package_usage (
  account_id   INTEGER NOT NULL REFERENCES accounts(id),
  product_code TEXT NOT NULL,
  used         INTEGER NOT NULL DEFAULT 0 CHECK (used >= 0),
  issued       INTEGER NOT NULL DEFAULT 0 CHECK (issued >= 0 AND issued <= used),
  PRIMARY KEY (account_id, product_code)
) WITHOUT ROWID;
)sql",
    // 2: certificate orders.
    R"sql(
CREATE TABLE orders (
  id                  INTEGER PRIMARY KEY,
  account_id          INTEGER NOT NULL REFERENCES accounts(id),
  product_code        TEXT NOT NULL,
  origin              INTEGER NOT NULL,
  status              TEXT NOT NULL,
  validate_type       TEXT NOT NULL,
  domains             TEXT NOT NULL,
  token               TEXT NOT NULL,
  csr_pem             TEXT NOT NULL DEFAULT '',
  sealed_private_key  BLOB NOT NULL DEFAULT x'',
  certificate_pem     TEXT NOT NULL DEFAULT '',
  chain_pem           TEXT NOT NULL DEFAULT '',
  serial_hex          TEXT NOT NULL DEFAULT '',
  not_before          INTEGER NOT NULL DEFAULT 0,
  not_after           INTEGER NOT NULL DEFAULT 0,
  issued_at           INTEGER NOT NULL DEFAULT 0,
  holds_unit          INTEGER NOT NULL,
  counts_issued       INTEGER NOT NULL,
  username            TEXT NOT NULL DEFAULT '',
  phone               TEXT NOT NULL DEFAULT '',
  email               TEXT NOT NULL DEFAULT '',
  company_name        TEXT NOT NULL DEFAULT '',
  tags_json           TEXT NOT NULL DEFAULT '[]',
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL,
  validation_deadline INTEGER NOT NULL,
  next_check_at       INTEGER NOT NULL,
  attempts            INTEGER NOT NULL DEFAULT 0,
  renewed_from        INTEGER NOT NULL DEFAULT 0,
  failure_reason      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX orders_by_account ON orders(account_id, id);
CREATE INDEX orders_due ON orders(next_check_at) WHERE status IN ('domain_verify', 'process');
)sql",
    // 3: RAM users, custom policies and attachments.
    R"sql(
CREATE TABLE users (
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  name       TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, name)
) WITHOUT ROWID;
CREATE TABLE policies (
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  name       TEXT NOT NULL,
  document   TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, name)
) WITHOUT ROWID;
CREATE TABLE policy_attachments (
  account_id  INTEGER NOT NULL,
  user_name   TEXT NOT NULL,
  policy_name TEXT NOT NULL,
  system      INTEGER NOT NULL,
  PRIMARY KEY (account_id, user_name, policy_name),
  FOREIGN KEY (account_id, user_name) REFERENCES users(account_id, name)
) WITHOUT ROWID;
)sql",
    // 4: the certificate repository: uploads and issued certificates in one table.
    R"sql(
CREATE TABLE certificates (
  id                INTEGER PRIMARY KEY,
  account_id        INTEGER NOT NULL REFERENCES accounts(id),
  name              TEXT NOT NULL,
  upload            INTEGER NOT NULL,
  order_id          INTEGER NOT NULL DEFAULT 0,
  instance_id       TEXT NOT NULL,
  resource_group_id TEXT NOT NULL DEFAULT '',
  chain_pem         TEXT NOT NULL,
  sealed_key        BLOB NOT NULL DEFAULT x'',
  common_name       TEXT NOT NULL DEFAULT '',
  sans              TEXT NOT NULL DEFAULT '',
  issuer            TEXT NOT NULL DEFAULT '',
  org_name          TEXT NOT NULL DEFAULT '',
  province          TEXT NOT NULL DEFAULT '',
  city              TEXT NOT NULL DEFAULT '',
  country           TEXT NOT NULL DEFAULT '',
  not_before        INTEGER NOT NULL,
  not_after         INTEGER NOT NULL,
  fingerprint       TEXT NOT NULL,
  sha256            TEXT NOT NULL,
  serial            TEXT NOT NULL,
  algorithm         TEXT NOT NULL,
  key_bits          INTEGER NOT NULL,
  revoked           INTEGER NOT NULL DEFAULT 0,
  created_at        INTEGER NOT NULL,
  tags_json         TEXT NOT NULL DEFAULT '[]',
  UNIQUE (account_id, name)
);
CREATE INDEX certificates_by_account ON certificates(account_id, created_at, id);
CREATE INDEX certificates_by_order ON certificates(order_id) WHERE order_id <> 0;
)sql",
    // 5: the audit trail: one row per state-changing call, written in the transaction of the
    // change (ops/audit_log.h). Read by account and time, pruned by time; never updated.
    R"sql(
CREATE TABLE audit_log (
  id             INTEGER PRIMARY KEY,
  time           INTEGER NOT NULL,
  request_id     TEXT NOT NULL DEFAULT '',
  account_id     INTEGER NOT NULL,
  principal_type TEXT NOT NULL,
  principal      TEXT NOT NULL DEFAULT '',
  access_key_id  TEXT NOT NULL DEFAULT '',
  source_ip      TEXT NOT NULL DEFAULT '',
  action         TEXT NOT NULL,
  object_type    TEXT NOT NULL DEFAULT '',
  object_id      TEXT NOT NULL DEFAULT '',
  result         TEXT NOT NULL
);
CREATE INDEX audit_log_by_account ON audit_log(account_id, time, id);
CREATE INDEX audit_log_by_time ON audit_log(time);
CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
)sql",
};

Result<int64_t> SchemaVersion(Connection& conn) {
  Result<Stmt> stmt = conn.Prepare("PRAGMA user_version");
  if (!stmt) return stmt.error();
  if (sqlite3_step(*stmt) != SQLITE_ROW) return conn.Fail("read schema version");
  return static_cast<int64_t>(sqlite3_column_int64(*stmt, 0));
}

}  // namespace

Status Migrate(Connection& conn) {
  Status begin = conn.Exec("BEGIN IMMEDIATE");
  if (!begin) return begin;
  Result<int64_t> current = SchemaVersion(conn);
  if (!current) {
    (void)conn.Exec("ROLLBACK");
    return current.error();
  }
  const int64_t version = *current;
  constexpr int64_t kLatest = std::size(kMigrations);
  if (version > kLatest) {
    (void)conn.Exec("ROLLBACK");
    return Error(ErrorCode::kServiceUnavailable, "The store is not available.",
                 "database schema version " + std::to_string(version) +
                     " is newer than this binary (" + std::to_string(kLatest) + ")");
  }
  for (int64_t v = version + 1; v <= kLatest; ++v) {
    Status s = conn.Exec(kMigrations[v - 1]);
    if (s) s = conn.Exec("PRAGMA user_version=" + std::to_string(v));
    if (!s) {
      (void)conn.Exec("ROLLBACK");
      return s;
    }
  }
  return conn.Exec("COMMIT");
}

}  // namespace certplan::store::sqlite
