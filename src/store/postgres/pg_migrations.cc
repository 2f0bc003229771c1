#include "store/postgres/pg_migrations.h"

#include <iterator>
#include <string>

namespace certplan::store::postgres {
namespace {

// Append only; version N is kMigrations[N - 1]. Same meaning as the SQLite schema.
constexpr const char* kMigrations[] = {
    // 1: accounts, AccessKeys, plans, package usage counters.
    R"sql(
CREATE TABLE accounts (
  id         BIGINT PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL
);
CREATE TABLE access_keys (
  id            TEXT PRIMARY KEY,
  account_id    BIGINT NOT NULL REFERENCES accounts(id),
  user_name     TEXT NOT NULL DEFAULT '',
  sealed_secret TEXT NOT NULL,
  enabled       BOOLEAN NOT NULL,
  created_at    BIGINT NOT NULL
);
CREATE INDEX access_keys_by_account ON access_keys(account_id);
CREATE TABLE plans (
  id           BIGSERIAL PRIMARY KEY,
  account_id   BIGINT NOT NULL REFERENCES accounts(id),
  product_code TEXT NOT NULL,
  count        BIGINT NOT NULL CHECK (count > 0),
  granted_at   BIGINT NOT NULL,
  expires_at   BIGINT
);
CREATE INDEX plans_by_package ON plans(account_id, product_code);
CREATE TABLE package_usage (
  account_id   BIGINT NOT NULL REFERENCES accounts(id),
  product_code TEXT NOT NULL,
  used         BIGINT NOT NULL DEFAULT 0 CHECK (used >= 0),
  issued       BIGINT NOT NULL DEFAULT 0 CHECK (issued >= 0 AND issued <= used),
  PRIMARY KEY (account_id, product_code)
);
)sql",
    // 2: certificate orders.
    R"sql(
CREATE TABLE orders (
  id                  BIGINT PRIMARY KEY,
  account_id          BIGINT NOT NULL REFERENCES accounts(id),
  product_code        TEXT NOT NULL,
  origin              INTEGER NOT NULL,
  status              TEXT NOT NULL,
  validate_type       TEXT NOT NULL,
  domains             TEXT NOT NULL,
  token               TEXT NOT NULL,
  csr_pem             TEXT NOT NULL DEFAULT '',
  sealed_private_key  TEXT NOT NULL DEFAULT '',
  certificate_pem     TEXT NOT NULL DEFAULT '',
  chain_pem           TEXT NOT NULL DEFAULT '',
  serial_hex          TEXT NOT NULL DEFAULT '',
  not_before          BIGINT NOT NULL DEFAULT 0,
  not_after           BIGINT NOT NULL DEFAULT 0,
  issued_at           BIGINT NOT NULL DEFAULT 0,
  holds_unit          BOOLEAN NOT NULL,
  counts_issued       BOOLEAN NOT NULL,
  username            TEXT NOT NULL DEFAULT '',
  phone               TEXT NOT NULL DEFAULT '',
  email               TEXT NOT NULL DEFAULT '',
  company_name        TEXT NOT NULL DEFAULT '',
  tags_json           TEXT NOT NULL DEFAULT '[]',
  created_at          BIGINT NOT NULL,
  updated_at          BIGINT NOT NULL,
  validation_deadline BIGINT NOT NULL,
  next_check_at       BIGINT NOT NULL,
  attempts            BIGINT NOT NULL DEFAULT 0,
  renewed_from        BIGINT NOT NULL DEFAULT 0,
  failure_reason      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX orders_by_account ON orders(account_id, id);
CREATE INDEX orders_due ON orders(next_check_at) WHERE status IN ('domain_verify', 'process');
)sql",
    // 3: RAM users, custom policies, attachments; the shared nonce window.
    R"sql(
CREATE TABLE users (
  account_id BIGINT NOT NULL REFERENCES accounts(id),
  name       TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (account_id, name)
);
CREATE TABLE policies (
  account_id BIGINT NOT NULL REFERENCES accounts(id),
  name       TEXT NOT NULL,
  document   TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (account_id, name)
);
CREATE TABLE policy_attachments (
  account_id  BIGINT NOT NULL,
  user_name   TEXT NOT NULL,
  policy_name TEXT NOT NULL,
  system      BOOLEAN NOT NULL,
  PRIMARY KEY (account_id, user_name, policy_name),
  FOREIGN KEY (account_id, user_name) REFERENCES users(account_id, name)
);
-- Unlogged: a crash empties it, like a restart empties the in-process guard; it need not
-- cost a WAL flush on every read request.
CREATE UNLOGGED TABLE nonces (
  access_key_id TEXT NOT NULL,
  nonce         TEXT NOT NULL,
  expires_at    BIGINT NOT NULL,
  PRIMARY KEY (access_key_id, nonce)
);
CREATE INDEX nonces_by_expiry ON nonces(expires_at);
)sql",
    // 4: the certificate repository: uploads and issued certificates in one table.
    R"sql(
CREATE TABLE certificates (
  id                BIGINT PRIMARY KEY,
  account_id        BIGINT NOT NULL REFERENCES accounts(id),
  name              TEXT NOT NULL,
  upload            BOOLEAN NOT NULL,
  order_id          BIGINT NOT NULL DEFAULT 0,
  instance_id       TEXT NOT NULL,
  resource_group_id TEXT NOT NULL DEFAULT '',
  chain_pem         TEXT NOT NULL,
  sealed_key        TEXT NOT NULL DEFAULT '',
  common_name       TEXT NOT NULL DEFAULT '',
  sans              TEXT NOT NULL DEFAULT '',
  issuer            TEXT NOT NULL DEFAULT '',
  org_name          TEXT NOT NULL DEFAULT '',
  province          TEXT NOT NULL DEFAULT '',
  city              TEXT NOT NULL DEFAULT '',
  country           TEXT NOT NULL DEFAULT '',
  not_before        BIGINT NOT NULL,
  not_after         BIGINT NOT NULL,
  fingerprint       TEXT NOT NULL,
  sha256            TEXT NOT NULL,
  serial            TEXT NOT NULL,
  algorithm         TEXT NOT NULL,
  key_bits          BIGINT NOT NULL,
  revoked           BOOLEAN NOT NULL DEFAULT false,
  created_at        BIGINT NOT NULL,
  tags_json         TEXT NOT NULL DEFAULT '[]',
  CONSTRAINT certificates_name_unique UNIQUE (account_id, name)
);
CREATE INDEX certificates_by_account ON certificates(account_id, created_at, id);
CREATE INDEX certificates_by_order ON certificates(order_id) WHERE order_id <> 0;
)sql",
    // 5: the audit trail: one row per state-changing call, written in the transaction of the
    // change (ops/audit_log.h). Read by account and time, pruned by time; never updated.
    R"sql(
CREATE TABLE audit_log (
  id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  time           BIGINT NOT NULL,
  request_id     TEXT NOT NULL DEFAULT '',
  account_id     BIGINT NOT NULL,
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
CREATE FUNCTION audit_log_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit records are append-only'; END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_update();
)sql",
};

}  // namespace

Status Migrate(PgConnection& conn) {
  Result<PgResultPtr> begin = conn.Exec("BEGIN");
  if (!begin) return begin.error();
  auto fail = [&](const Error& e) {
    (void)conn.Exec("ROLLBACK");
    return Status(e);
  };
  // One lock id for certplan's schema: concurrent starts wait here, then see the new version.
  for (const char* sql :
       {"SELECT pg_advisory_xact_lock(7366831)",
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)"}) {
    Result<PgResultPtr> r = conn.Exec(sql);
    if (!r) return fail(r.error());
  }
  Result<PgResultPtr> current =
      conn.Exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  if (!current) return fail(current.error());
  const int64_t version = Int(current->get(), 0, 0);
  constexpr int64_t kLatest = std::size(kMigrations);
  if (version > kLatest) {
    return fail(
        Error(ErrorCode::kServiceUnavailable, "The store is not available.",
              "database schema version " + std::to_string(version) + " is newer than this binary"));
  }
  for (int64_t v = version + 1; v <= kLatest; ++v) {
    Result<PgResultPtr> r = conn.Exec(kMigrations[v - 1]);
    if (!r) return fail(r.error());
    r = conn.Exec("INSERT INTO schema_migrations (version) VALUES ($1)", {std::to_string(v)});
    if (!r) return fail(r.error());
  }
  Result<PgResultPtr> commit = conn.Exec("COMMIT");
  if (!commit) return commit.error();
  return Ok{};
}

}  // namespace certplan::store::postgres
