#pragma once

#include <string_view>

#include "cas/certificate.h"
#include "cas/certificate_store.h"
#include "store/sqlite/sqlite_handles.h"

namespace certplan::store::sqlite {

// The stored columns of an entry, in the order ReadCertificate() expects (INSERT's list).
extern const char* const kCertificateColumns;
// An entry as FindCertificate reads it: an issued entry's chain (stored once, with its order:
// issued_certificates and ca_chains) joined back in. Used as "SELECT " + kCertificateSelect +
// kCertificateWithChain + " WHERE …" with the certificates table named `c`.
extern const char* const kCertificateSelect;
extern const char* const kCertificateWithChain;  // " FROM certificates c LEFT JOIN …"
// The columns as lists read them, from `certificates` alone: chain_pem left empty.
extern const char* const kCertificateListColumns;

// Reads the current row (selected with any of the column lists above).
cas::Certificate ReadCertificate(sqlite3_stmt* stmt);

// Inserts `c` (id included) inside the caller's transaction. An issued entry whose chain is its
// order's certificate and chain (`order_chain`, stored with the order) keeps none of its own.
// kParamRepeat when the account already has an entry of that name; kInternal
// (SQLITE_CONSTRAINT_PRIMARYKEY in the detail's errcode) on an id collision, told apart by
// IsIdCollision().
Status InsertCertificateRow(Connection& conn, const cas::Certificate& c,
                            std::string_view order_chain = {});
bool IsIdCollision(Connection& conn);

// How many uploads the account holds, counted up to `at_most` (the caller's cap: the scan stops
// there), inside the caller's transaction.
Result<int64_t> CountUploads(Connection& conn, int64_t account_id, int64_t at_most);

// Marks the entry an order was issued as revoked, inside the caller's transaction.
Status MarkOrderCertificateRevoked(Connection& conn, int64_t order_id);

}  // namespace certplan::store::sqlite
