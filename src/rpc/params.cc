#include "rpc/params.h"

#include <charconv>

#include <nlohmann/json.hpp>

#include "rpc/percent.h"

namespace certplan::rpc {

Result<std::vector<Params::Pair>> DecodeUrlEncoded(std::string_view text) {
  std::vector<Params::Pair> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t amp = text.find('&', pos);
    if (amp == std::string_view::npos) amp = text.size();
    std::string_view part = text.substr(pos, amp - pos);
    pos = amp + 1;
    if (part.empty()) continue;
    const size_t eq = part.find('=');
    std::string_view raw_name = part.substr(0, eq);
    std::string_view raw_value = eq == std::string_view::npos ? "" : part.substr(eq + 1);
    std::optional<std::string> name = PercentDecode(raw_name);
    if (!name || !IsValidUtf8(*name)) {
      return InvalidParameter(name ? std::string_view(*name) : raw_name,
                              "the parameter name is not valid percent-encoded UTF-8.");
    }
    std::optional<std::string> value = PercentDecode(raw_value);
    if (!value || !IsValidUtf8(*value)) {
      return InvalidParameter(*name, "the value is not valid percent-encoded UTF-8.");
    }
    if (name->empty()) return InvalidParameter("", "a parameter has an empty name.");
    out.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

Result<Params> Params::Decode(std::string_view query, std::string_view form_body) {
  Result<std::vector<Pair>> from_body = DecodeUrlEncoded(form_body);
  if (!from_body) return from_body.error();
  return Decode(query, std::move(*from_body));
}

Result<Params> Params::Decode(std::string_view query, std::vector<Pair> body) {
  Params params;
  Result<std::vector<Pair>> from_query = DecodeUrlEncoded(query);
  if (!from_query) return from_query.error();
  // A name given twice is ambiguous: which value did the client sign, which should we act on?
  for (const std::vector<Pair>* source : {&*from_query, &body}) {
    for (const Pair& p : *source) {
      if (!params.all_.emplace(p.first, p.second).second) {
        return InvalidParameter(p.first, "the parameter is given more than once.");
      }
    }
  }
  params.query_ = std::move(*from_query);
  return params;
}

namespace {

// A scalar member's text: strings as they are, numbers and booleans as their JSON text.
std::optional<std::string> ScalarText(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number() || v.is_boolean()) return v.dump();
  return std::nullopt;
}

}  // namespace

Result<std::vector<Params::Pair>> DecodeJsonBody(std::string_view body) {
  const nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return InvalidParameter("body", "a JSON body must be one JSON object.");
  }
  std::vector<Params::Pair> out;
  for (const auto& [name, value] : doc.items()) {
    if (name.empty()) return InvalidParameter("", "a parameter has an empty name.");
    if (std::optional<std::string> text = ScalarText(value)) {
      out.emplace_back(name, std::move(*text));
      continue;
    }
    if (!value.is_array()) {
      return InvalidParameter(name, "only strings, numbers, booleans and arrays are read.");
    }
    // Arrays flatten as the RPC style spells repeated parameters: Name.N, or Name.N.Key.
    size_t index = 0;
    for (const nlohmann::json& element : value) {
      const std::string prefix = name + "." + std::to_string(++index);
      if (std::optional<std::string> text = ScalarText(element)) {
        out.emplace_back(prefix, std::move(*text));
        continue;
      }
      if (!element.is_object())
        return InvalidParameter(name, "array elements must be scalars or objects.");
      for (const auto& [key, inner] : element.items()) {
        std::optional<std::string> text = ScalarText(inner);
        if (!text) return InvalidParameter(name, "objects in arrays may hold scalars only.");
        out.emplace_back(prefix + "." + key, std::move(*text));
      }
    }
  }
  return out;
}

std::optional<std::string_view> Params::Raw(std::string_view name) const {
  auto it = all_.find(name);
  if (it == all_.end()) return std::nullopt;
  return std::string_view(it->second);
}

std::optional<std::string_view> Params::Get(std::string_view name) const {
  std::optional<std::string_view> v = Raw(name);
  if (v && v->empty()) return std::nullopt;
  return v;
}

Result<std::string_view> Params::Require(std::string_view name) const {
  std::optional<std::string_view> v = Get(name);
  if (!v) return MissingParameter(name);
  return *v;
}

Result<std::optional<int64_t>> Params::GetInt64(std::string_view name) const {
  std::optional<std::string_view> v = Get(name);
  if (!v) return std::optional<int64_t>();
  int64_t out = 0;
  const char* end = v->data() + v->size();
  auto [ptr, ec] = std::from_chars(v->data(), end, out);
  if (ec != std::errc() || ptr != end) return InvalidParameter(name, "it must be an integer.");
  return std::optional<int64_t>(out);
}

Result<std::optional<int64_t>> Params::GetInt64In(std::string_view name, int64_t min,
                                                  int64_t max) const {
  std::optional<std::string_view> v = Get(name);
  if (!v) return std::optional<int64_t>();
  int64_t out = 0;
  const char* end = v->data() + v->size();
  auto [ptr, ec] = std::from_chars(v->data(), end, out);
  if (ec != std::errc() || ptr != end || out < min || out > max) {
    return InvalidParameter(name, "it must be an integer from " + std::to_string(min) + " to " +
                                      std::to_string(max) + ".");
  }
  return std::optional<int64_t>(out);
}

}  // namespace certplan::rpc
