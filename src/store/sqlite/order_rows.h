#pragma once

#include "cas/order.h"
#include "store/sqlite/sqlite_handles.h"

namespace certplan::store::sqlite {

// An order's certificate is stored once, apart from the order: its leaf in issued_certificates
// (append-only, one row per issued order), its CA's chain once per chain in ca_chains.

// The columns an order SELECT reads, in the order ReadOrder() expects, from kOrderWithCertificate
// (the order's row with its certificate and chain joined).
extern const char* const kOrderColumns;
extern const char* const kOrderWithCertificate;  // " FROM orders LEFT JOIN …"
// The same columns read from `orders` alone: the certificate and chain are left empty (lists,
// and pending orders, which have none).
extern const char* const kOrderRowColumns;

// Reads the current row (selected with kOrderColumns or kOrderRowColumns) into an Order.
cas::Order ReadOrder(sqlite3_stmt* stmt);

// Binds every stored column of the order's row but id as ?2 … ?28 (?1 is the id) for INSERT and
// UPDATE; the certificate and chain are not in the row (StoreIssuedCertificate).
void BindOrder(sqlite3_stmt* stmt, const cas::Order& order);

// The INSERT and UPDATE statements that use BindOrder's numbering.
extern const char* const kInsertOrder;
extern const char* const kUpdateOrder;  // … WHERE id = ?1 AND status = ?29

// Stores the certificate of an order that was just issued (its certificate_pem, and its
// chain_pem under the chain's one ca_chains row, added when new), inside the caller's
// transaction.
Status StoreIssuedCertificate(Connection& conn, const cas::Order& order);

}  // namespace certplan::store::sqlite
