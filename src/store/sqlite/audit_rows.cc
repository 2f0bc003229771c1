#include "store/sqlite/audit_rows.h"

namespace certplan::store::sqlite {

Status InsertAuditRow(Connection& conn, const audit::Record& r) {
  Result<Stmt> stmt = conn.Prepare(
      "INSERT INTO audit_log (time, request_id, account_id, principal_type, principal, "
      "access_key_id, source_ip, action, object_type, object_id, result) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
  if (!stmt) return stmt.error();
  BindInt(*stmt, 1, r.time);
  BindText(*stmt, 2, r.actor.request_id);
  BindInt(*stmt, 3, r.account_id);
  BindText(*stmt, 4, audit::PrincipalTypeName(r.actor.type));
  BindText(*stmt, 5, r.actor.principal);
  BindText(*stmt, 6, r.actor.access_key_id);
  BindText(*stmt, 7, r.actor.source_ip);
  BindText(*stmt, 8, r.actor.action);
  BindText(*stmt, 9, r.object_type);
  BindText(*stmt, 10, r.object_id);
  BindText(*stmt, 11, r.result);
  if (sqlite3_step(*stmt) != SQLITE_DONE) return conn.Fail("insert audit record");
  return Ok{};
}

Result<std::vector<audit::Record>> ReadAuditRows(Connection& conn, const ops::AuditQuery& q) {
  // The (account_id, time, id) index serves the range and the order; the cursor is a row value
  // so a page never repeats or skips records that share a second.
  Result<Stmt> stmt = conn.Prepare(
      "SELECT id, time, request_id, account_id, principal_type, principal, access_key_id, "
      "source_ip, action, object_type, object_id, result FROM audit_log "
      "WHERE account_id = ?1 AND time >= ?2 AND time < ?3 AND (time, id) > (?4, ?5) "
      "ORDER BY time, id LIMIT ?6");
  if (!stmt) return stmt.error();
  BindInt(*stmt, 1, q.account_id);
  BindInt(*stmt, 2, q.since);
  BindInt(*stmt, 3, q.until);
  BindInt(*stmt, 4, q.after_time);
  BindInt(*stmt, 5, q.after_id);
  BindInt(*stmt, 6, q.limit);
  std::vector<audit::Record> out;
  int rc;
  while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) {
    audit::Record r;
    r.id = sqlite3_column_int64(*stmt, 0);
    r.time = sqlite3_column_int64(*stmt, 1);
    r.actor.request_id = ColumnText(*stmt, 2);
    r.account_id = sqlite3_column_int64(*stmt, 3);
    r.actor.type = audit::ParsePrincipalTypeName(ColumnText(*stmt, 4));
    r.actor.principal = ColumnText(*stmt, 5);
    r.actor.access_key_id = ColumnText(*stmt, 6);
    r.actor.source_ip = ColumnText(*stmt, 7);
    r.actor.action = ColumnText(*stmt, 8);
    r.object_type = ColumnText(*stmt, 9);
    r.object_id = ColumnText(*stmt, 10);
    r.result = ColumnText(*stmt, 11);
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return conn.Fail("read audit records");
  return out;
}

}  // namespace certplan::store::sqlite
