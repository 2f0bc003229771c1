#pragma once

#include "api/context.h"
#include "core/result.h"
#include "rpc/params.h"
#include "rpc/reply.h"

namespace certplan::api {

// The order operations of spec §3.4; each answers with the fields the SDK models read.
// Create*: OrderId (a number). Errors as cas::Orders documents.
Result<rpc::Reply> CreateCertificateForPackageRequest(Context& ctx, const rpc::Params& params);
Result<rpc::Reply> CreateCertificateRequest(Context& ctx, const rpc::Params& params);
Result<rpc::Reply> CreateCertificateWithCsrRequest(Context& ctx, const rpc::Params& params);
Result<rpc::Reply> RenewCertificateOrderForPackageRequest(Context& ctx, const rpc::Params& params);
// RequestId only.
Result<rpc::Reply> CancelOrderRequest(Context& ctx, const rpc::Params& params);
Result<rpc::Reply> CancelCertificateForPackageRequest(Context& ctx, const rpc::Params& params);
Result<rpc::Reply> DeleteCertificateRequest(Context& ctx, const rpc::Params& params);
// Type and the fields of the order's state (spec §3.4 table).
Result<rpc::Reply> DescribeCertificateState(Context& ctx, const rpc::Params& params);
// CertificateOrderList, CurrentPage, ShowSize, TotalCount.
Result<rpc::Reply> ListUserCertificateOrder(Context& ctx, const rpc::Params& params);

}  // namespace certplan::api
