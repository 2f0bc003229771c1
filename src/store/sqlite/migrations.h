#pragma once

#include <cstdint>
#include <limits>

#include "store/sqlite/sqlite_handles.h"

namespace certplan::store::sqlite {

// Brings the schema to the newest version, applying each numbered migration not yet applied
// (PRAGMA user_version) in one IMMEDIATE transaction, so concurrent starts serialise and a
// failed migration leaves the previous version intact.
// `up_to`: stop after that version (tests build a store as an older binary left it).
Status Migrate(Connection& conn, int64_t up_to = std::numeric_limits<int64_t>::max());

}  // namespace certplan::store::sqlite
