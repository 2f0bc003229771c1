// CreateCertificateForPackageRequest, CreateCertificateRequest, CreateCertificateWithCsrRequest
// and RenewCertificateOrderForPackageRequest: each success takes one unit of quota.
#include "api/application_params.h"
#include "api/order_actions.h"

namespace certplan::api {
namespace {

Result<rpc::Reply> Apply(Context& ctx, const rpc::Params& params, cas::OrderOrigin origin,
                         std::initializer_list<std::string_view> required) {
  Result<cas::Application> application = DecodeApplication(params, origin, required);
  if (!application) return application.error();
  Result<cas::Order> order =
      ctx.services.orders.Apply(ctx.principal.account_id, *application, ctx.actor);
  if (!order) return order.error();
  rpc::Reply reply = rpc::Reply::object();
  reply["OrderId"] = order->id;
  return reply;
}

}  // namespace

Result<rpc::Reply> CreateCertificateForPackageRequest(Context& ctx, const rpc::Params& params) {
  return Apply(ctx, params, cas::OrderOrigin::kForPackage, {});
}

Result<rpc::Reply> CreateCertificateRequest(Context& ctx, const rpc::Params& params) {
  return Apply(ctx, params, cas::OrderOrigin::kGeneratedKey,
               {"Domain", "Email", "Phone", "Username", "ValidateType"});
}

Result<rpc::Reply> CreateCertificateWithCsrRequest(Context& ctx, const rpc::Params& params) {
  return Apply(ctx, params, cas::OrderOrigin::kWithCsr,
               {"Csr", "Email", "Phone", "Username", "ValidateType"});
}

Result<rpc::Reply> RenewCertificateOrderForPackageRequest(Context& ctx, const rpc::Params& params) {
  Result<int64_t> id = DecodeOrderId(params);
  if (!id) return id.error();
  Result<std::string> tags = DecodeTags(params);
  if (!tags) return tags.error();
  const std::string csr(params.Get("Csr").value_or(""));
  Result<cas::Order> order = ctx.services.orders.Renew(ctx.principal.account_id, *id, csr,
                                                       *tags == "[]" ? "" : *tags, ctx.actor);
  if (!order) return order.error();
  rpc::Reply reply = rpc::Reply::object();
  reply["OrderId"] = order->id;
  return reply;
}

}  // namespace certplan::api
