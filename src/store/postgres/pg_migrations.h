#pragma once

#include "store/postgres/pg_handles.h"

namespace certplan::store::postgres {

// Applies the numbered migrations not yet applied, inside one transaction holding an advisory
// lock, so several nodes starting at once apply each migration exactly once.
Status Migrate(PgConnection& conn);

}  // namespace certplan::store::postgres
