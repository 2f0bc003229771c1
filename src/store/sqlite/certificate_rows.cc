#include "store/sqlite/certificate_rows.h"

#include <algorithm>

#include "store/order_codec.h"

namespace certplan::store::sqlite {

const char* const kCertificateColumns =
    "id, account_id, name, upload, order_id, instance_id, resource_group_id, chain_pem, "
    "sealed_key, common_name, sans, issuer, org_name, province, city, country, not_before, "
    "not_after, fingerprint, sha256, serial, algorithm, key_bits, revoked, created_at, tags_json, "
    "product_code, has_key";

const char* const kCertificateSelect =
    "c.id, c.account_id, c.name, c.upload, c.order_id, c.instance_id, c.resource_group_id, "
    "COALESCE(NULLIF(c.chain_pem, ''), i.leaf_pem || ch.pem, ''), c.sealed_key, c.common_name, "
    "c.sans, c.issuer, c.org_name, c.province, c.city, c.country, c.not_before, c.not_after, "
    "c.fingerprint, c.sha256, c.serial, c.algorithm, c.key_bits, c.revoked, c.created_at, "
    "c.tags_json, c.product_code, c.has_key";

const char* const kCertificateWithChain =
    " FROM certificates c LEFT JOIN issued_certificates i ON c.order_id <> 0 AND "
    "i.order_id = c.order_id LEFT JOIN ca_chains ch ON ch.chain_id = i.chain_id";

const char* const kCertificateListColumns =
    "id, account_id, name, upload, order_id, instance_id, resource_group_id, '', "
    "sealed_key, common_name, sans, issuer, org_name, province, city, country, not_before, "
    "not_after, fingerprint, sha256, serial, algorithm, key_bits, revoked, created_at, tags_json, "
    "product_code, has_key";

cas::Certificate ReadCertificate(sqlite3_stmt* s) {
  cas::Certificate c;
  c.id = sqlite3_column_int64(s, 0);
  c.account_id = sqlite3_column_int64(s, 1);
  c.name = ColumnText(s, 2);
  c.upload = sqlite3_column_int64(s, 3) != 0;
  c.order_id = sqlite3_column_int64(s, 4);
  c.instance_id = ColumnText(s, 5);
  c.resource_group_id = ColumnText(s, 6);
  c.chain_pem = ColumnText(s, 7);
  c.sealed_key = ColumnBlob(s, 8);
  c.common_name = ColumnText(s, 9);
  const std::string sans = ColumnText(s, 10);
  if (!sans.empty()) c.sans = SplitDomains(sans);
  c.issuer = ColumnText(s, 11);
  c.org_name = ColumnText(s, 12);
  c.province = ColumnText(s, 13);
  c.city = ColumnText(s, 14);
  c.country = ColumnText(s, 15);
  c.not_before = sqlite3_column_int64(s, 16);
  c.not_after = sqlite3_column_int64(s, 17);
  c.fingerprint = ColumnText(s, 18);
  c.sha256 = ColumnText(s, 19);
  c.serial = ColumnText(s, 20);
  c.algorithm = ColumnText(s, 21);
  c.key_bits = sqlite3_column_int64(s, 22);
  c.revoked = sqlite3_column_int64(s, 23) != 0;
  c.created_at = sqlite3_column_int64(s, 24);
  c.tags_json = ColumnText(s, 25);
  c.product_code = ColumnText(s, 26);
  c.has_key = sqlite3_column_int64(s, 27) != 0;
  return c;
}

Status InsertCertificateRow(Connection& conn, const cas::Certificate& c,
                            std::string_view order_chain) {
  Result<Stmt> stmt = conn.Prepare(
      std::string("INSERT INTO certificates (") + kCertificateColumns +
      ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
      "?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28)");
  if (!stmt) return stmt.error();
  sqlite3_stmt* s = *stmt;
  BindInt(s, 1, c.id);
  BindInt(s, 2, c.account_id);
  BindText(s, 3, c.name);
  BindInt(s, 4, c.upload ? 1 : 0);
  BindInt(s, 5, c.order_id);
  BindText(s, 6, c.instance_id);
  BindText(s, 7, c.resource_group_id);
  const bool with_order =
      !c.upload && c.order_id != 0 && !order_chain.empty() && c.chain_pem == order_chain;
  BindText(s, 8, with_order ? std::string_view() : std::string_view(c.chain_pem));
  BindBlob(s, 9, c.sealed_key);
  BindText(s, 10, c.common_name);
  BindText(s, 11, JoinDomains(c.sans));
  BindText(s, 12, c.issuer);
  BindText(s, 13, c.org_name);
  BindText(s, 14, c.province);
  BindText(s, 15, c.city);
  BindText(s, 16, c.country);
  BindInt(s, 17, c.not_before);
  BindInt(s, 18, c.not_after);
  BindText(s, 19, c.fingerprint);
  BindText(s, 20, c.sha256);
  BindText(s, 21, c.serial);
  BindText(s, 22, c.algorithm);
  BindInt(s, 23, c.key_bits);
  BindInt(s, 24, c.revoked ? 1 : 0);
  BindInt(s, 25, c.created_at);
  BindText(s, 26, c.tags_json);
  BindText(s, 27, c.product_code);
  BindInt(s, 28, c.has_key ? 1 : 0);
  if (sqlite3_step(s) == SQLITE_DONE) return Ok{};
  if (sqlite3_extended_errcode(conn.db()) == SQLITE_CONSTRAINT_UNIQUE) {
    return Error(ErrorCode::kParamRepeat, "The certificate name already exists.");
  }
  return conn.Fail("insert certificate");
}

bool IsIdCollision(Connection& conn) {
  return sqlite3_extended_errcode(conn.db()) == SQLITE_CONSTRAINT_PRIMARYKEY;
}

Result<int64_t> CountUploads(Connection& conn, int64_t account_id, int64_t at_most) {
  Result<Stmt> stmt = conn.Prepare(
      "SELECT COUNT(*) FROM (SELECT 1 FROM certificates WHERE account_id = ?1 AND upload = 1 "
      "LIMIT ?2)");
  if (!stmt) return stmt.error();
  BindInt(*stmt, 1, account_id);
  BindInt(*stmt, 2, at_most);
  if (sqlite3_step(*stmt) != SQLITE_ROW) return conn.Fail("count uploads");
  return static_cast<int64_t>(sqlite3_column_int64(*stmt, 0));
}

Status MarkOrderCertificateRevoked(Connection& conn, int64_t order_id) {
  Result<Stmt> stmt = conn.Prepare("UPDATE certificates SET revoked = 1 WHERE order_id = ?1");
  if (!stmt) return stmt.error();
  BindInt(*stmt, 1, order_id);
  if (sqlite3_step(*stmt) != SQLITE_DONE) return conn.Fail("mark certificate revoked");
  return Ok{};
}

}  // namespace certplan::store::sqlite
