#include "api/describe_package_state.h"

namespace certplan::api {

Result<rpc::Reply> DescribePackageState(Context& ctx, const rpc::Params& params) {
  std::string_view product = params.Get("ProductCode").value_or("");
  Result<cas::PackageState> state = ctx.services.plans.Describe(ctx.principal.account_id, product);
  if (!state) return state.error();
  rpc::Reply reply = rpc::Reply::object();
  reply["ProductCode"] = state->product_code;
  reply["TotalCount"] = state->total;
  reply["UsedCount"] = state->used;
  reply["IssuedCount"] = state->issued;
  return reply;
}

}  // namespace certplan::api
