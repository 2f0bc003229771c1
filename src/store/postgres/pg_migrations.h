#pragma once

#include <cstdint>
#include <limits>

#include "store/postgres/pg_handles.h"

namespace certplan::store::postgres {

// Applies the numbered migrations not yet applied, inside one transaction holding an advisory
// lock, so several nodes starting at once apply each migration exactly once.
// `up_to`: stop after that version (tests build a store as an older binary left it).
Status Migrate(PgConnection& conn, int64_t up_to = std::numeric_limits<int64_t>::max());

}  // namespace certplan::store::postgres
