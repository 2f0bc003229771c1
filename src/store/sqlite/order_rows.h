#pragma once

#include "cas/order.h"
#include "store/sqlite/sqlite_handles.h"

namespace certplan::store::sqlite {

// The column list every order SELECT uses, in the order ReadOrder() expects.
extern const char* const kOrderColumns;

// Reads the current row (selected with kOrderColumns) into an Order.
cas::Order ReadOrder(sqlite3_stmt* stmt);

// Binds every column but id as ?2 … ?30 (?1 is the id) for INSERT and UPDATE.
void BindOrder(sqlite3_stmt* stmt, const cas::Order& order);

// The INSERT and UPDATE statements that use BindOrder's numbering.
extern const char* const kInsertOrder;
extern const char* const kUpdateOrder;  // … WHERE id = ?1 AND status = ?31

}  // namespace certplan::store::sqlite
