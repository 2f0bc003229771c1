// The caller the unit tests name when they change state through the domain or a store port.
#pragma once

#include <cstdint>
#include <string>

#include "core/audit.h"

namespace certplan::testing {

inline audit::Actor TestActor(std::string action = "test") {
  return audit::Actor{audit::PrincipalType::kCli, "test", "", "", "", std::move(action)};
}

// A successful call's record at `time` on `account_id`.
inline audit::Record TestRecord(int64_t account_id = 0, int64_t time = 1) {
  return audit::Succeeded(TestActor(), time, account_id, "");
}

}  // namespace certplan::testing
