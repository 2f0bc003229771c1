#pragma once

#include <initializer_list>
#include <string_view>

#include "cas/orders.h"
#include "core/result.h"
#include "rpc/params.h"

namespace certplan::api {

// Decodes the parameters shared by the Create* operations (spec §3.4) into an Application:
// `required` names must be present (kMissingParameter, checked first, in order); ValidateType
// must be exactly DNS or FILE; Tags.N.Key/Value with N = 1…20, key 1–128 and value ≤ 128
// characters (kInvalidParameter).
Result<cas::Application> DecodeApplication(const rpc::Params& params, cas::OrderOrigin origin,
                                           std::initializer_list<std::string_view> required);

// Tags.N.Key/Value as a JSON array text (`[{"Key":…,"Value":…}]`).
Result<std::string> DecodeTags(const rpc::Params& params);

// OrderId: required, a positive integer.
Result<int64_t> DecodeOrderId(const rpc::Params& params);

}  // namespace certplan::api
