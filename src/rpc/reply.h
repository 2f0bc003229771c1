#pragma once

#include <nlohmann/json.hpp>

namespace certplan::rpc {

// The body of a successful answer, fields in the order they are set. RequestId is added by
// the renderer. Numbers stay JSON numbers (spec §1.5: Go's int64 fields reject strings).
using Reply = nlohmann::ordered_json;

}  // namespace certplan::rpc
