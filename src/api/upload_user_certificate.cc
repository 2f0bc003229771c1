#include "api/application_params.h"
#include "api/repository_actions.h"

namespace certplan::api {

Result<rpc::Reply> UploadUserCertificate(Context& ctx, const rpc::Params& params) {
  cas::Upload upload;
  upload.name = std::string(params.Get("Name").value_or(""));
  upload.cert_pem = std::string(params.Get("Cert").value_or(""));
  upload.key_pem = std::string(params.Get("Key").value_or(""));
  upload.resource_group_id = std::string(params.Get("ResourceGroupId").value_or(""));
  Result<std::string> tags = DecodeTags(params);  // the limits of the order Actions (§7.3)
  if (!tags) return tags.error();
  upload.tags_json = std::move(*tags);
  // SM2 dual certificates come in their own parameters; v1 holds none (§7.3). Name first, as
  // §7.3 orders the checks.
  if (!params.Get("Name")) return MissingParameter("Name");
  if (upload.cert_pem.empty() && upload.key_pem.empty() &&
      (params.Get("SignCert") || params.Get("EncryptCert"))) {
    return Error(ErrorCode::kCertificateAlgorithmNotSupported,
                 "SM2 dual certificates (SignCert/EncryptCert) are not supported; upload Cert and "
                 "Key.");
  }
  Result<cas::Certificate> stored =
      ctx.services.certificates.Upload(ctx.principal.account_id, upload, ctx.actor);
  if (!stored) return stored.error();
  return rpc::Reply{{"CertId", stored->id}, {"ResourceId", stored->instance_id}};
}

}  // namespace certplan::api
