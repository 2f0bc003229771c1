#include "api/repository_actions.h"

namespace certplan::api {

Result<rpc::Reply> DeleteUserCertificate(Context& ctx, const rpc::Params& params) {
  Result<int64_t> id = DecodeCertId(params);
  if (!id) return id.error();
  if (Status s = ctx.services.certificates.Delete(ctx.principal.account_id, *id, ctx.actor); !s) {
    return s.error();
  }
  return rpc::Reply::object();
}

}  // namespace certplan::api
