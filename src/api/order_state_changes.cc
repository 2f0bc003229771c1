// CancelOrderRequest, CancelCertificateForPackageRequest, DeleteCertificateRequest: one state
// change each (spec §4.2), RequestId only in the answer.
#include "api/application_params.h"
#include "api/order_actions.h"

namespace certplan::api {
namespace {

using Change = Status (cas::Orders::*)(int64_t, int64_t, const audit::Actor&);

Result<rpc::Reply> ChangeOrder(Context& ctx, const rpc::Params& params, Change change) {
  Result<int64_t> id = DecodeOrderId(params);
  if (!id) return id.error();
  Status s = (ctx.services.orders.*change)(ctx.principal.account_id, *id, ctx.actor);
  if (!s) return s.error();
  return rpc::Reply::object();
}

}  // namespace

Result<rpc::Reply> CancelOrderRequest(Context& ctx, const rpc::Params& params) {
  return ChangeOrder(ctx, params, &cas::Orders::Cancel);
}

Result<rpc::Reply> CancelCertificateForPackageRequest(Context& ctx, const rpc::Params& params) {
  return ChangeOrder(ctx, params, &cas::Orders::CancelForPackage);
}

Result<rpc::Reply> DeleteCertificateRequest(Context& ctx, const rpc::Params& params) {
  return ChangeOrder(ctx, params, &cas::Orders::Delete);
}

}  // namespace certplan::api
