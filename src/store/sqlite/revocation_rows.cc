#include "store/sqlite/revocation_rows.h"

namespace certplan::store::sqlite {

const char* const kRevocationColumns =
    "order_id, issuer_key_id, serial_hex, revoked_at, reason, not_after";

cas::Revocation ReadRevocation(sqlite3_stmt* s, int first) {
  cas::Revocation r;
  r.order_id = sqlite3_column_int64(s, first);
  r.issuer_key_id = ColumnText(s, first + 1);
  r.serial_hex = ColumnText(s, first + 2);
  r.revoked_at = sqlite3_column_int64(s, first + 3);
  r.reason = static_cast<cas::RevocationReason>(sqlite3_column_int(s, first + 4));
  r.not_after = sqlite3_column_int64(s, first + 5);
  return r;
}

Status InsertRevocationRow(Connection& conn, const cas::Revocation& r) {
  Result<Stmt> stmt = conn.Prepare(std::string("INSERT OR IGNORE INTO revocations (") +
                                   kRevocationColumns + ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!stmt) return stmt.error();
  BindInt(*stmt, 1, r.order_id);
  BindText(*stmt, 2, r.issuer_key_id);
  BindText(*stmt, 3, r.serial_hex);
  BindInt(*stmt, 4, r.revoked_at);
  BindInt(*stmt, 5, static_cast<int64_t>(r.reason));
  BindInt(*stmt, 6, r.not_after);
  if (sqlite3_step(*stmt) != SQLITE_DONE) return conn.Fail("insert revocation");
  return Ok{};
}

}  // namespace certplan::store::sqlite
