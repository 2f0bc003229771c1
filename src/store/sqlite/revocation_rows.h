#pragma once

#include "cas/revocation.h"
#include "store/sqlite/sqlite_handles.h"

namespace certplan::store::sqlite {

// The column list every revocation SELECT uses, in the order ReadRevocation() expects.
extern const char* const kRevocationColumns;

// Reads the current row (selected with kRevocationColumns, from column `first` on).
cas::Revocation ReadRevocation(sqlite3_stmt* stmt, int first = 0);

// Records a revocation inside the caller's transaction; a second record for the order is
// ignored (the first time stands).
Status InsertRevocationRow(Connection& conn, const cas::Revocation& r);

}  // namespace certplan::store::sqlite
