#pragma once

#include "cas/certificate.h"
#include "cas/certificate_store.h"
#include "store/sqlite/sqlite_handles.h"

namespace certplan::store::sqlite {

// The column list every certificate SELECT uses, in the order ReadCertificate() expects.
extern const char* const kCertificateColumns;

// Reads the current row (selected with kCertificateColumns).
cas::Certificate ReadCertificate(sqlite3_stmt* stmt);

// Inserts `c` (id included) inside the caller's transaction. kParamRepeat when the account
// already has an entry of that name; kInternal (SQLITE_CONSTRAINT_PRIMARYKEY in the detail's
// errcode) on an id collision, told apart by IsIdCollision().
Status InsertCertificateRow(Connection& conn, const cas::Certificate& c);
bool IsIdCollision(Connection& conn);

// How many uploads the account holds, counted up to `at_most` (the caller's cap: the scan stops
// there), inside the caller's transaction.
Result<int64_t> CountUploads(Connection& conn, int64_t account_id, int64_t at_most);

// Marks the entry an order was issued as revoked, inside the caller's transaction.
Status MarkOrderCertificateRevoked(Connection& conn, int64_t order_id);

}  // namespace certplan::store::sqlite
