#pragma once

#include <string_view>

#include "core/error.h"

namespace certplan::rpc {

struct WireError {
  int status;
  std::string_view code;
};

// The only place an ErrorCode becomes an HTTP status and a wire `Code` (spec/cas-api.md §2).
WireError ToWire(ErrorCode code);

}  // namespace certplan::rpc
