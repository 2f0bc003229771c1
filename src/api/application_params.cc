#include "api/application_params.h"

#include <nlohmann/json.hpp>

namespace certplan::api {
namespace {

constexpr int kMaxTags = 20;

size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

Result<std::optional<cas::ValidateType>> DecodeValidateType(const rpc::Params& params) {
  std::optional<std::string_view> v = params.Get("ValidateType");
  if (!v) return std::optional<cas::ValidateType>();
  if (*v == "DNS") return std::optional(cas::ValidateType::kDns);
  if (*v == "FILE") return std::optional(cas::ValidateType::kFile);
  return InvalidParameter("ValidateType", "use DNS or FILE.");
}

}  // namespace

Result<std::string> DecodeTags(const rpc::Params& params) {
  nlohmann::ordered_json tags = nlohmann::ordered_json::array();
  for (const auto& [name, value] : params.all()) {
    if (name.rfind("Tags.", 0) != 0) continue;
    const size_t dot = name.find('.', 5);
    const std::string index =
        name.substr(5, dot == std::string::npos ? std::string::npos : dot - 5);
    const std::string field = dot == std::string::npos ? "" : name.substr(dot + 1);
    int n = 0;
    for (char c : index) n = (c >= '0' && c <= '9' && n < 1000) ? n * 10 + (c - '0') : 1000;
    if (index.empty() || n < 1 || n > kMaxTags || (field != "Key" && field != "Value")) {
      return InvalidParameter(name, "use Tags.N.Key and Tags.N.Value with N from 1 to 20.");
    }
  }
  for (int n = 1; n <= kMaxTags; ++n) {
    const std::string prefix = "Tags." + std::to_string(n) + ".";
    std::optional<std::string_view> key = params.Get(prefix + "Key");
    std::optional<std::string_view> value = params.Raw(prefix + "Value");
    if (!key && !value) continue;
    if (!key) return MissingParameter(prefix + "Key");
    if (Utf8Length(*key) > 128) return InvalidParameter(prefix + "Key", "at most 128 characters.");
    if (value && Utf8Length(*value) > 128) {
      return InvalidParameter(prefix + "Value", "at most 128 characters.");
    }
    tags.push_back({{"Key", *key}, {"Value", value.value_or("")}});
  }
  return tags.dump();
}

Result<cas::Application> DecodeApplication(const rpc::Params& params, cas::OrderOrigin origin,
                                           std::initializer_list<std::string_view> required) {
  for (std::string_view name : required) {
    if (!params.Get(name)) return MissingParameter(name);
  }
  cas::Application a;
  a.origin = origin;
  Result<std::optional<cas::ValidateType>> type = DecodeValidateType(params);
  if (!type) return type.error();
  a.validate_type = *type;
  Result<std::string> tags = DecodeTags(params);
  if (!tags) return tags.error();
  a.tags_json = std::move(*tags);
  a.product_code = params.Get("ProductCode").value_or("");
  a.domain = params.Get("Domain").value_or("");
  a.csr_pem = params.Get("Csr").value_or("");
  a.contact = {std::string(params.Get("Username").value_or("")),
               std::string(params.Get("Phone").value_or("")),
               std::string(params.Get("Email").value_or("")),
               std::string(params.Get("CompanyName").value_or(""))};
  return a;
}

Result<int64_t> DecodeOrderId(const rpc::Params& params) {
  Result<std::optional<int64_t>> id = params.GetInt64("OrderId");
  if (!id) return id.error();
  if (!*id) return MissingParameter("OrderId");
  if (**id <= 0) return InvalidParameter("OrderId", "it must be a positive integer.");
  return **id;
}

}  // namespace certplan::api
