#include "store/sqlite/order_rows.h"

#include "store/order_codec.h"

namespace certplan::store::sqlite {

const char* const kOrderColumns =
    "id, account_id, product_code, origin, status, validate_type, domains, token, csr_pem, "
    "sealed_private_key, certificate_pem, chain_pem, serial_hex, not_before, not_after, issued_at, "
    "holds_unit, counts_issued, username, phone, email, company_name, tags_json, created_at, "
    "updated_at, validation_deadline, next_check_at, attempts, renewed_from, failure_reason";

const char* const kInsertOrder =
    "INSERT INTO orders (id, account_id, product_code, origin, status, validate_type, domains, "
    "token, csr_pem, sealed_private_key, certificate_pem, chain_pem, serial_hex, not_before, "
    "not_after, issued_at, holds_unit, counts_issued, username, phone, email, company_name, "
    "tags_json, created_at, updated_at, validation_deadline, next_check_at, attempts, "
    "renewed_from, failure_reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
    "?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30)";

const char* const kUpdateOrder =
    "UPDATE orders SET account_id = ?2, product_code = ?3, origin = ?4, status = ?5, "
    "validate_type = ?6, domains = ?7, token = ?8, csr_pem = ?9, sealed_private_key = ?10, "
    "certificate_pem = ?11, chain_pem = ?12, serial_hex = ?13, not_before = ?14, not_after = ?15, "
    "issued_at = ?16, holds_unit = ?17, counts_issued = ?18, username = ?19, phone = ?20, "
    "email = ?21, company_name = ?22, tags_json = ?23, created_at = ?24, updated_at = ?25, "
    "validation_deadline = ?26, next_check_at = ?27, attempts = ?28, renewed_from = ?29, "
    "failure_reason = ?30 WHERE id = ?1 AND status = ?31";

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
  BindText(s, 11, o.certificate_pem);
  BindText(s, 12, o.chain_pem);
  BindText(s, 13, o.serial_hex);
  BindInt(s, 14, o.not_before);
  BindInt(s, 15, o.not_after);
  BindInt(s, 16, o.issued_at);
  BindInt(s, 17, o.holds_unit ? 1 : 0);
  BindInt(s, 18, o.counts_issued ? 1 : 0);
  BindText(s, 19, o.contact.username);
  BindText(s, 20, o.contact.phone);
  BindText(s, 21, o.contact.email);
  BindText(s, 22, o.contact.company_name);
  BindText(s, 23, o.tags_json);
  BindInt(s, 24, o.created_at);
  BindInt(s, 25, o.updated_at);
  BindInt(s, 26, o.validation_deadline);
  BindInt(s, 27, o.next_check_at);
  BindInt(s, 28, o.attempts);
  BindInt(s, 29, o.renewed_from);
  BindText(s, 30, o.failure_reason);
}

}  // namespace certplan::store::sqlite
