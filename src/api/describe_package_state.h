#pragma once

#include "api/context.h"
#include "core/result.h"
#include "rpc/params.h"
#include "rpc/reply.h"

namespace certplan::api {

// DescribePackageState (seed; spec §3.4): the caller's TotalCount, UsedCount and IssuedCount
// for ProductCode (default digicert-free-1-free). kInvalidParameter for an unknown code.
Result<rpc::Reply> DescribePackageState(Context& ctx, const rpc::Params& params);

}  // namespace certplan::api
