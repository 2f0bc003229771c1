#include "store/postgres/pg_migrations.h"

#include <algorithm>
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
    // 5: revocation records (CRL entries, OCSP answers), kept apart from the repository entry
    // (which a DeleteUserCertificate removes), and issued certificates found by serial.
    R"sql(
CREATE TABLE revocations (
  order_id      BIGINT PRIMARY KEY,
  issuer_key_id TEXT NOT NULL,
  serial_hex    TEXT NOT NULL,
  revoked_at    BIGINT NOT NULL,
  reason        INTEGER NOT NULL DEFAULT 0,
  not_after     BIGINT NOT NULL
);
CREATE INDEX revocations_by_issuer ON revocations(issuer_key_id, not_after);
CREATE INDEX orders_by_serial ON orders(serial_hex) WHERE serial_hex <> '';
-- Orders revoked before this version: revoked is final, so the last update is the revocation.
INSERT INTO revocations (order_id, issuer_key_id, serial_hex, revoked_at, reason, not_after)
  SELECT id, '', serial_hex, updated_at, 0, not_after FROM orders
  WHERE status = 'revoked' AND serial_hex <> '';
)sql",
    // 6: operator tokens (only their SHA-256) and plan grants made under an idempotency key.
    R"sql(
CREATE TABLE operator_tokens (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  token_hash   TEXT NOT NULL,
  created_at   BIGINT NOT NULL,
  last_used_at BIGINT,
  revoked_at   BIGINT
);
CREATE UNIQUE INDEX operator_tokens_active_name ON operator_tokens(name)
  WHERE revoked_at IS NULL;
CREATE TABLE plan_grant_keys (
  idempotency_key TEXT PRIMARY KEY,
  request_hash    TEXT NOT NULL,
  plan_id         BIGINT NOT NULL REFERENCES plans(id),
  created_at      BIGINT NOT NULL
);
)sql",
    // 7: the ACME (RFC 8555) front: EAB keys bound to (account, ProductCode), ACME accounts, the
    // ACME
    // view of certplan orders, and shared secrets (the nonce key every node uses).
    R"sql(
CREATE TABLE acme_secrets (
  name  TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE acme_eab_keys (
  key_id          TEXT PRIMARY KEY,
  account_id      BIGINT NOT NULL REFERENCES accounts(id),
  product_code    TEXT NOT NULL,
  sealed_hmac_key TEXT NOT NULL,
  single_use      BOOLEAN NOT NULL,
  names           TEXT NOT NULL,
  revoked         BOOLEAN NOT NULL DEFAULT false,
  created_at      BIGINT NOT NULL
);
CREATE INDEX acme_eab_keys_by_account ON acme_eab_keys(account_id, created_at);
CREATE TABLE acme_accounts (
  id           BIGSERIAL PRIMARY KEY,
  thumbprint   TEXT NOT NULL UNIQUE,
  jwk          TEXT NOT NULL,
  eab_key_id   TEXT NOT NULL REFERENCES acme_eab_keys(key_id),
  account_id   BIGINT NOT NULL,
  product_code TEXT NOT NULL,
  deactivated  BOOLEAN NOT NULL DEFAULT false,
  contact      TEXT NOT NULL,
  created_at   BIGINT NOT NULL
);
CREATE INDEX acme_accounts_by_eab ON acme_accounts(eab_key_id);
CREATE TABLE acme_orders (
  order_id        BIGINT PRIMARY KEY,
  acme_account_id BIGINT NOT NULL,
  identifiers     TEXT NOT NULL,
  authz           TEXT NOT NULL,
  created_at      BIGINT NOT NULL
);
CREATE INDEX acme_orders_by_account ON acme_orders(acme_account_id, identifiers, created_at);
)sql",
    // 8: lists paged in the store (issue #12 fault 9). Orders: per-(account, status) counts kept
    // by triggers, and the same per bucket of created_at (2^12 s and 2^20 s; a deep page finds
    // where it starts from them, store/order_list.h); a partial index for the default list (every
    // state but deleted and cancelled) and one by state, both in list order and covering what the
    // filters read. Certificates: a list index covering the filter columns, and what the list
    // shows of an issued entry's order (its ProductCode, whether certplan holds its key) copied
    // onto the entry.
    // The count triggers are deferred to the commit: a transaction takes its package_usage row
    // before any order_counts or order_buckets row (Create* and the worker's batches alike), so
    // the kinds of row are always locked in the same order and cannot deadlock each other.
    R"sql(
CREATE TABLE order_counts (
  account_id BIGINT NOT NULL,
  status     TEXT NOT NULL,
  n          BIGINT NOT NULL,
  PRIMARY KEY (account_id, status)
);
INSERT INTO order_counts (account_id, status, n)
  SELECT account_id, status, COUNT(*) FROM orders GROUP BY account_id, status;
CREATE TABLE order_buckets (
  account_id BIGINT NOT NULL,
  status     TEXT NOT NULL,
  level      INTEGER NOT NULL,
  bucket     BIGINT NOT NULL,
  n          BIGINT NOT NULL,
  PRIMARY KEY (account_id, status, level, bucket)
);
INSERT INTO order_buckets (account_id, status, level, bucket, n)
  SELECT account_id, status, 0, created_at >> 12, COUNT(*) FROM orders
  GROUP BY account_id, status, created_at >> 12;
INSERT INTO order_buckets (account_id, status, level, bucket, n)
  SELECT account_id, status, 1, created_at >> 20, COUNT(*) FROM orders
  GROUP BY account_id, status, created_at >> 20;
CREATE FUNCTION order_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    UPDATE order_counts SET n = n - 1 WHERE account_id = OLD.account_id AND status = OLD.status;
    UPDATE order_buckets SET n = n - 1 WHERE account_id = OLD.account_id AND status = OLD.status
      AND ((level = 0 AND bucket = OLD.created_at >> 12) OR (level = 1 AND bucket = OLD.created_at >> 20));
    DELETE FROM order_buckets WHERE account_id = OLD.account_id AND status = OLD.status AND n = 0
      AND ((level = 0 AND bucket = OLD.created_at >> 12) OR (level = 1 AND bucket = OLD.created_at >> 20));
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO order_counts (account_id, status, n) VALUES (NEW.account_id, NEW.status, 1)
      ON CONFLICT (account_id, status) DO UPDATE SET n = order_counts.n + 1;
    INSERT INTO order_buckets (account_id, status, level, bucket, n)
      VALUES (NEW.account_id, NEW.status, 0, NEW.created_at >> 12, 1),
             (NEW.account_id, NEW.status, 1, NEW.created_at >> 20, 1)
      ON CONFLICT (account_id, status, level, bucket) DO UPDATE SET n = order_buckets.n + 1;
  END IF;
  RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER order_counts_insert AFTER INSERT ON orders
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION order_counts_track();
CREATE CONSTRAINT TRIGGER order_counts_update AFTER UPDATE OF account_id, status, created_at
  ON orders DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.account_id IS DISTINCT FROM NEW.account_id
        OR OLD.created_at IS DISTINCT FROM NEW.created_at)
  EXECUTE FUNCTION order_counts_track();
CREATE CONSTRAINT TRIGGER order_counts_delete AFTER DELETE ON orders
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION order_counts_track();
CREATE INDEX orders_shown ON orders(account_id, created_at, id, status)
  WHERE status NOT IN ('deleted', 'cancelled');
CREATE INDEX orders_by_status ON orders(account_id, status, created_at, id, not_after);
ALTER TABLE certificates ADD COLUMN product_code TEXT NOT NULL DEFAULT '';
ALTER TABLE certificates ADD COLUMN has_key BOOLEAN NOT NULL DEFAULT false;
UPDATE certificates SET has_key = true WHERE upload;
UPDATE certificates c SET product_code = o.product_code, has_key = o.sealed_private_key <> ''
  FROM orders o WHERE o.id = c.order_id AND NOT c.upload;
DROP INDEX certificates_by_account;
CREATE INDEX certificates_list ON certificates(account_id, created_at, id, upload, revoked, not_after);
)sql",
    // 9: what the metrics read at scrape time: the soonest expiry of live certificates, one index
    // probe per source (orders by state come from migration 8's order_counts). Partial indexes on
    // not_after alone: a list query (account first, upload a bound parameter) can never use them.
    R"sql(
CREATE INDEX certificates_issued_by_expiry ON certificates(not_after) WHERE NOT revoked AND NOT upload;
CREATE INDEX certificates_uploaded_by_expiry ON certificates(not_after) WHERE NOT revoked AND upload;
)sql",
    // 10: the audit trail: one row per state-changing call, written in the transaction of the
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
    // 11: Create* batches (issue #14) count the orders they insert themselves, one counter update
    // per batch, after every package_usage row they take: a transaction that sets
    // certplan.orders_counted (set_config, local to it) is not counted again by the insert
    // trigger. Every other insert (an import, a bulk load) is counted as before.
    R"sql(
DROP TRIGGER order_counts_insert ON orders;
CREATE CONSTRAINT TRIGGER order_counts_insert AFTER INSERT ON orders
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (current_setting('certplan.orders_counted', true) IS DISTINCT FROM 'on')
  EXECUTE FUNCTION order_counts_track();
)sql",
    // 12: each certificate stored once (issue #14): an issued order's leaf in an append-only
    // table of its own, its CA's chain once per chain, neither in the order's row (which no
    // longer grows at issuance) nor again in the repository entry (whose chain is the order's).
    // Existing orders and entries move over unchanged.
    R"sql(
CREATE TABLE ca_chains (
  chain_id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  pem      TEXT NOT NULL
);
CREATE TABLE issued_certificates (
  order_id BIGINT PRIMARY KEY,
  leaf_pem TEXT NOT NULL,
  chain_id BIGINT NOT NULL REFERENCES ca_chains(chain_id)
);
INSERT INTO ca_chains (pem)
  SELECT DISTINCT chain_pem FROM orders WHERE status IN ('certificate', 'revoked') OR
    certificate_pem <> '';
INSERT INTO issued_certificates (order_id, leaf_pem, chain_id)
  SELECT o.id, o.certificate_pem, (SELECT MIN(ch.chain_id) FROM ca_chains ch WHERE ch.pem = o.chain_pem)
  FROM orders o WHERE o.status IN ('certificate', 'revoked') OR o.certificate_pem <> '';
UPDATE certificates c SET chain_pem = '' FROM issued_certificates i
  JOIN ca_chains ch ON ch.chain_id = i.chain_id
  WHERE NOT c.upload AND c.order_id <> 0 AND i.order_id = c.order_id
    AND c.chain_pem = i.leaf_pem || ch.pem;
ALTER TABLE orders DROP COLUMN certificate_pem, DROP COLUMN chain_pem;
)sql",
    // 13: orders that gave their unit back (cancelled or deleted, holding nothing) by when they
    // did, for their retention (limits.released_order_retention_days): the pruner finds the oldest
    // without reading the table.
    R"sql(
CREATE INDEX orders_released ON orders(updated_at)
  WHERE status IN ('cancelled', 'deleted') AND NOT holds_unit;
)sql",
    // 14: orders revoked with their unit given back, by when their certificate expires: they go
    // with their certificate, repository entry and revocation record that long after it expired.
    R"sql(
CREATE INDEX orders_refunded_revoked ON orders(not_after)
  WHERE status = 'revoked' AND NOT holds_unit;
)sql",
};

}  // namespace

Status Migrate(PgConnection& conn, int64_t up_to) {
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
  for (int64_t v = version + 1; v <= std::min(kLatest, up_to); ++v) {
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
