#include "api/repository_actions.h"

namespace certplan::api {

Result<int64_t> DecodeCertId(const rpc::Params& params) {
  Result<std::optional<int64_t>> id = params.GetInt64("CertId");
  if (!id) return id.error();
  if (!*id) return MissingParameter("CertId");
  if (**id <= 0) return InvalidParameter("CertId", "it must be a positive integer.");
  return **id;
}

Result<rpc::Reply> GetUserCertificateDetail(Context& ctx, const rpc::Params& params) {
  Result<int64_t> id = DecodeCertId(params);
  if (!id) return id.error();
  bool filter = false;
  if (std::optional<std::string_view> f = params.Get("CertFilter")) {
    std::string lower(*f);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower != "true" && lower != "false") {
      return InvalidParameter("CertFilter", "use true or false.");
    }
    filter = lower == "true";
  }
  Result<cas::CertificateDetail> detail =
      ctx.services.certificates.Get(ctx.principal.account_id, *id);
  if (!detail) return detail.error();
  const cas::Certificate& c = detail->entry;
  const int64_t now = ctx.clock.NowSeconds();
  rpc::Reply chain = rpc::Reply::array();
  for (const pki::ChainElement& e : detail->chain) {
    chain.push_back({{"CommonName", e.common_name},
                     {"IssuerCommonName", e.issuer_common_name},
                     {"NotBefore", e.not_before * 1000},
                     {"NotAfter", e.not_after * 1000},
                     {"RemainDay", std::max<int64_t>(0, (e.not_after - now) / 86400)}});
  }
  rpc::Reply reply = {{"Id", c.id}, {"Name", c.name}};
  if (!filter) {
    reply["Cert"] = c.chain_pem;
    if (!detail->key_pem.empty()) reply["Key"] = detail->key_pem;
  }
  reply["CertChain"] = std::move(chain);
  reply["CertIdentifier"] = repository_view::CertIdentifier(c);
  reply["Common"] = c.common_name;
  reply["Sans"] = repository_view::Sans(c);
  reply["Issuer"] = c.issuer;
  if (!c.org_name.empty()) reply["OrgName"] = c.org_name;
  if (!c.province.empty()) reply["Province"] = c.province;
  if (!c.city.empty()) reply["City"] = c.city;
  if (!c.country.empty()) reply["Country"] = c.country;
  reply["StartDate"] = repository_view::Date(c.not_before);
  reply["EndDate"] = repository_view::Date(c.not_after);
  reply["NotBefore"] = c.not_before * 1000;
  reply["NotAfter"] = c.not_after * 1000;
  reply["Expired"] = now >= c.not_after;
  reply["Fingerprint"] = c.fingerprint;
  reply["Sha2"] = c.sha256;
  reply["CertSha2"] = c.sha256;
  reply["SerialNo"] = c.serial;
  reply["Algorithm"] = c.algorithm;
  reply["BuyInAliyun"] = !c.upload;
  reply["InstanceId"] = c.instance_id;
  if (!c.upload) reply["OrderId"] = c.order_id;
  reply["ResourceGroupId"] = c.resource_group_id;
  // Stored as [{"Key","Value"}]; the wire names them TagKey and TagValue (§7.4).
  rpc::Reply tags = rpc::Reply::array();
  const nlohmann::json stored = nlohmann::json::parse(c.tags_json, nullptr, false);
  if (stored.is_array()) {
    for (const nlohmann::json& t : stored) {
      tags.push_back({{"TagKey", t.value("Key", "")}, {"TagValue", t.value("Value", "")}});
    }
  }
  reply["Tags"] = std::move(tags);
  return reply;
}

}  // namespace certplan::api
