#pragma once

#include <vector>

#include "core/audit.h"
#include "ops/audit_log.h"
#include "store/sqlite/sqlite_handles.h"

namespace certplan::store::sqlite {

// Appends `r` inside the caller's transaction (its id assigned by SQLite).
Status InsertAuditRow(Connection& conn, const audit::Record& r);

// One page of an account's trail (ops::AuditLog::ReadAudit).
Result<std::vector<audit::Record>> ReadAuditRows(Connection& conn, const ops::AuditQuery& q);

}  // namespace certplan::store::sqlite
