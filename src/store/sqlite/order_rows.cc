#include "store/sqlite/order_rows.h"

#include "store/order_codec.h"

namespace certplan::store::sqlite {

const char* const kOrderColumns =
    "id, account_id, product_code, origin, status, validate_type, domains, token, csr_pem, "
    "sealed_private_key, COALESCE(issued_certificates.leaf_pem, ''), COALESCE(ca_chains.pem, ''), "
    "serial_hex, not_before, not_after, issued_at, holds_unit, counts_issued, username, phone, "
    "email, company_name, tags_json, created_at, updated_at, validation_deadline, next_check_at, "
    "attempts, renewed_from, failure_reason";

const char* const kOrderWithCertificate =
    " FROM orders LEFT JOIN issued_certificates ON issued_certificates.order_id = orders.id "
    "LEFT JOIN ca_chains ON ca_chains.chain_id = issued_certificates.chain_id";

const char* const kOrderRowColumns =
    "id, account_id, product_code, origin, status, validate_type, domains, token, csr_pem, "
    "sealed_private_key, '', '', serial_hex, not_before, not_after, issued_at, holds_unit, "
    "counts_issued, username, phone, email, company_name, tags_json, created_at, updated_at, "
    "validation_deadline, next_check_at, attempts, renewed_from, failure_reason";

const char* const kInsertOrder =
    "INSERT INTO orders (id, account_id, product_code, origin, status, validate_type, domains, "
    "token, csr_pem, sealed_private_key, serial_hex, not_before, not_after, issued_at, "
    "holds_unit, counts_issued, username, phone, email, company_name, tags_json, created_at, "
    "updated_at, validation_deadline, next_check_at, attempts, renewed_from, failure_reason) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
    "?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28)";

const char* const kUpdateOrder =
    "UPDATE orders SET account_id = ?2, product_code = ?3, origin = ?4, status = ?5, "
    "validate_type = ?6, domains = ?7, token = ?8, csr_pem = ?9, sealed_private_key = ?10, "
    "serial_hex = ?11, not_before = ?12, not_after = ?13, issued_at = ?14, holds_unit = ?15, "
    "counts_issued = ?16, username = ?17, phone = ?18, email = ?19, company_name = ?20, "
    "tags_json = ?21, created_at = ?22, updated_at = ?23, validation_deadline = ?24, "
    "next_check_at = ?25, attempts = ?26, renewed_from = ?27, failure_reason = ?28 "
    "WHERE id = ?1 AND status = ?29";

cas::Order ReadOrder(sqlite3_stmt* s) {
  cas::Order o;
  o.id = sqlite3_column_int64(s, 0);
  o.account_id = sqlite3_column_int64(s, 1);
  o.product_code = ColumnText(s, 2);
  o.origin = static_cast<cas::OrderOrigin>(sqlite3_column_int(s, 3));
  o.status = cas::ParseStatusName(ColumnText(s, 4)).value_or(cas::OrderStatus::kDeleted);
  o.validate_type = ColumnText(s, 5) == "FILE" ? cas::ValidateType::kFile : cas::ValidateType::kDns;
  o.domains = SplitDomains(ColumnText(s, 6));
  o.token = ColumnText(s, 7);
  o.csr_pem = ColumnText(s, 8);
  o.sealed_private_key = ColumnBlob(s, 9);
  o.certificate_pem = ColumnText(s, 10);
  o.chain_pem = ColumnText(s, 11);
  o.serial_hex = ColumnText(s, 12);
  o.not_before = sqlite3_column_int64(s, 13);
  o.not_after = sqlite3_column_int64(s, 14);
  o.issued_at = sqlite3_column_int64(s, 15);
  o.holds_unit = sqlite3_column_int64(s, 16) != 0;
  o.counts_issued = sqlite3_column_int64(s, 17) != 0;
  o.contact = {ColumnText(s, 18), ColumnText(s, 19), ColumnText(s, 20), ColumnText(s, 21)};
  o.tags_json = ColumnText(s, 22);
  o.created_at = sqlite3_column_int64(s, 23);
  o.updated_at = sqlite3_column_int64(s, 24);
  o.validation_deadline = sqlite3_column_int64(s, 25);
  o.next_check_at = sqlite3_column_int64(s, 26);
  o.attempts = sqlite3_column_int64(s, 27);
  o.renewed_from = sqlite3_column_int64(s, 28);
  o.failure_reason = ColumnText(s, 29);
  return o;
}

void BindOrder(sqlite3_stmt* s, const cas::Order& o) {
  BindInt(s, 1, o.id);
  BindInt(s, 2, o.account_id);
  BindText(s, 3, o.product_code);
  BindInt(s, 4, static_cast<int64_t>(o.origin));
  BindText(s, 5, cas::StatusName(o.status));
  BindText(s, 6, cas::ValidateTypeName(o.validate_type));
  BindText(s, 7, JoinDomains(o.domains));
  BindText(s, 8, o.token);
  BindText(s, 9, o.csr_pem);
  BindBlob(s, 10, o.sealed_private_key);
  BindText(s, 11, o.serial_hex);
  BindInt(s, 12, o.not_before);
  BindInt(s, 13, o.not_after);
  BindInt(s, 14, o.issued_at);
  BindInt(s, 15, o.holds_unit ? 1 : 0);
  BindInt(s, 16, o.counts_issued ? 1 : 0);
  BindText(s, 17, o.contact.username);
  BindText(s, 18, o.contact.phone);
  BindText(s, 19, o.contact.email);
  BindText(s, 20, o.contact.company_name);
  BindText(s, 21, o.tags_json);
  BindInt(s, 22, o.created_at);
  BindInt(s, 23, o.updated_at);
  BindInt(s, 24, o.validation_deadline);
  BindInt(s, 25, o.next_check_at);
  BindInt(s, 26, o.attempts);
  BindInt(s, 27, o.renewed_from);
  BindText(s, 28, o.failure_reason);
}

Status StoreIssuedCertificate(Connection& conn, const cas::Order& o) {
  // A deployment has one chain per issuing CA it ever used: the table stays a handful of rows,
  // so finding the chain by its text reads them all, with no index to keep.
  Result<Stmt> find = conn.Prepare("SELECT chain_id FROM ca_chains WHERE pem = ?1 LIMIT 1");
  if (!find) return find.error();
  BindText(*find, 1, o.chain_pem);
  int64_t chain_id = 0;
  const int rc = sqlite3_step(*find);
  if (rc == SQLITE_ROW) {
    chain_id = sqlite3_column_int64(*find, 0);
  } else if (rc == SQLITE_DONE) {
    Result<Stmt> add = conn.Prepare("INSERT INTO ca_chains (pem) VALUES (?1)");
    if (!add) return add.error();
    BindText(*add, 1, o.chain_pem);
    if (sqlite3_step(*add) != SQLITE_DONE) return conn.Fail("insert chain");
    chain_id = sqlite3_last_insert_rowid(conn.db());
  } else {
    return conn.Fail("find chain");
  }
  Result<Stmt> insert = conn.Prepare(
      "INSERT INTO issued_certificates (order_id, leaf_pem, chain_id) VALUES (?1, ?2, ?3)");
  if (!insert) return insert.error();
  BindInt(*insert, 1, o.id);
  BindText(*insert, 2, o.certificate_pem);
  BindInt(*insert, 3, chain_id);
  if (sqlite3_step(*insert) != SQLITE_DONE) return conn.Fail("insert issued certificate");
  return Ok{};
}

}  // namespace certplan::store::sqlite
