-- Scale fixture for bench/run.sh: :accounts accounts with a plan each and :orders issued orders
-- spread over them, rows sized like real ones (CSR; certificate and chain PEM
-- stored apart, as the store keeps them). Written straight
-- into a stopped node's SQLite file: through the API a million orders would take minutes.
-- Parameters are set with sqlite3's `.parameter set` before this file is read.
PRAGMA synchronous = OFF;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :accounts)
INSERT INTO accounts (id, name, created_at) SELECT 1000000000 + i, 'bench-' || i, 1700000000 FROM n;
-- Each order's certificate, stored once (migration 11): its leaf, and the one CA chain.
INSERT INTO ca_chains (pem) SELECT printf('%.700c', 'I')
  WHERE NOT EXISTS (SELECT 1 FROM ca_chains WHERE pem = printf('%.700c', 'I'));
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :orders)
INSERT INTO issued_certificates (order_id, leaf_pem, chain_id)
SELECT 10000000000 + i * 7919, printf('%.750c', 'L'),
  (SELECT chain_id FROM ca_chains WHERE pem = printf('%.700c', 'I'))
FROM n;
INSERT INTO plans (account_id, product_code, count, granted_at)
  SELECT id, 'geotrust-dv-1-starter', 1000000, 1700000000 FROM accounts WHERE name LIKE 'bench-%';
INSERT INTO package_usage (account_id, product_code, used, issued)
  SELECT id, 'geotrust-dv-1-starter', 0, 0 FROM accounts WHERE name LIKE 'bench-%';
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :orders)
INSERT INTO orders (id, account_id, product_code, origin, status, validate_type, domains, token,
  csr_pem, serial_hex, not_before, not_after, issued_at, holds_unit,
  counts_issued, created_at, updated_at, validation_deadline, next_check_at)
SELECT 10000000000 + i * 7919, 1000000001 + (i % :accounts), 'geotrust-dv-1-starter', 0,
  'certificate', 'DNS', 'n' || i || '.example.com', hex(randomblob(16)),
  printf('%.550c', 'C'), hex(randomblob(16)),
  1700000000, 1731536000, 1700000000, 1, 1, 1700000000, 1700000000, 1700259200, 1700000000
FROM n;
UPDATE package_usage SET used = (SELECT count(*) FROM orders o WHERE o.account_id =
  package_usage.account_id), issued = (SELECT count(*) FROM orders o WHERE o.account_id =
  package_usage.account_id) WHERE account_id IN (SELECT id FROM accounts WHERE name LIKE 'bench-%');
COMMIT;
