#include "api/application_params.h"
#include "api/order_actions.h"
#include "cas/domain_checker.h"

namespace certplan::api {

Result<rpc::Reply> DescribeCertificateState(Context& ctx, const rpc::Params& params) {
  Result<int64_t> id = DecodeOrderId(params);
  if (!id) return id.error();
  Result<cas::Order> order = ctx.services.orders.Describe(ctx.principal.account_id, *id);
  if (!order) return order.error();
  rpc::Reply reply = rpc::Reply::object();
  reply["Type"] = cas::TypeName(*order);
  const bool pending = order->status == cas::OrderStatus::kDomainVerify ||
                       order->status == cas::OrderStatus::kProcess;
  if (pending) reply["ValidateType"] = cas::ValidateTypeName(order->validate_type);
  if (order->status == cas::OrderStatus::kDomainVerify) {
    reply["Domain"] = order->domains.front();
    if (order->validate_type == cas::ValidateType::kDns) {
      reply["RecordType"] = "TXT";
      reply["RecordDomain"] = "_dnsauth";
      reply["RecordValue"] = order->token;
    } else {
      reply["Uri"] = cas::kFileAuthPath;
      reply["Content"] = order->token;
    }
  }
  if (order->status == cas::OrderStatus::kCertificate) {
    reply["Certificate"] = order->certificate_pem + order->chain_pem;
    Result<std::string> key = ctx.services.orders.PrivateKeyOf(*order);
    if (!key) return key.error();
    if (!key->empty()) reply["PrivateKey"] = *key;
    reply["CertId"] = std::to_string(order->id);
  }
  return reply;
}

}  // namespace certplan::api
