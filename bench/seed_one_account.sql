-- One-account scale fixture for bench/scale_one_account.sh: :orders issued orders of the one
-- account :account (a stopped node's demo account), rows sized like real ones (CSR; certificate
-- and chain PEM stored apart, as the store keeps them), one second apart so every page is the same in every run. Written straight into
-- the SQLite file (the count triggers of migration 5 keep order_counts as Create* would).
-- Parameters are set with sqlite3's `.parameter set` before this file is read.
PRAGMA synchronous = OFF;
BEGIN;
INSERT INTO plans (account_id, product_code, count, granted_at)
  VALUES (:account, 'geotrust-dv-1-starter', :orders, 1700000000);
INSERT OR IGNORE INTO package_usage (account_id, product_code, used, issued)
  VALUES (:account, 'geotrust-dv-1-starter', 0, 0);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :orders)
INSERT INTO orders (id, account_id, product_code, origin, status, validate_type, domains, token,
  csr_pem, serial_hex, not_before, not_after, issued_at, holds_unit,
  counts_issued, created_at, updated_at, validation_deadline, next_check_at)
SELECT 10000000000 + i * 7919, :account, 'geotrust-dv-1-starter', 0, 'certificate', 'DNS',
  'n' || i || '.example.com', hex(randomblob(16)),
  printf('%.550c', 'C'), hex(randomblob(16)),
  1700000000, 1731536000, 1700000000, 1, 1, 1600000000 + i, 1700000000, 1700259200, 1700000000
FROM n;
-- Each order's certificate, stored once (migration 11): its leaf, and the one CA chain.
INSERT INTO ca_chains (pem) SELECT printf('%.700c', 'I')
  WHERE NOT EXISTS (SELECT 1 FROM ca_chains WHERE pem = printf('%.700c', 'I'));
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :orders)
INSERT INTO issued_certificates (order_id, leaf_pem, chain_id)
SELECT 10000000000 + i * 7919, printf('%.750c', 'L'),
  (SELECT chain_id FROM ca_chains WHERE pem = printf('%.700c', 'I'))
FROM n;
UPDATE package_usage SET used = used + :orders, issued = issued + :orders
  WHERE account_id = :account AND product_code = 'geotrust-dv-1-starter';
COMMIT;
