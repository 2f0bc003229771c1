#pragma once

#include "store/sqlite/sqlite_handles.h"

namespace certplan::store::sqlite {

// Brings the schema to the newest version, applying each numbered migration not yet applied
// (PRAGMA user_version) in one IMMEDIATE transaction, so concurrent starts serialise and a
// failed migration leaves the previous version intact.
Status Migrate(Connection& conn);

}  // namespace certplan::store::sqlite
