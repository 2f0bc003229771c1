#pragma once

#include <cstdint>

#include "core/result.h"

namespace certplan {

// Housekeeping deletes in bounded batches, so no one transaction holds the writer long: calls
// `one_batch()` — which deletes at most `batch` rows (of each kind it serves) and returns how
// many it deleted — until a call deletes fewer than `batch`. Returns the total, or the first
// error (batches already deleted stay deleted).
template <typename OneBatch>
Result<int64_t> DeleteInBatches(int64_t batch, OneBatch one_batch) {
  int64_t total = 0;
  for (;;) {
    Result<int64_t> deleted = one_batch();
    if (!deleted) return deleted.error();
    total += *deleted;
    if (*deleted < batch) return total;
  }
}

}  // namespace certplan
