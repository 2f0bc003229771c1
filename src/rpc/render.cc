#include "rpc/render.h"

#include "core/utf8.h"
#include "rpc/errors.h"

namespace certplan::rpc {
namespace {

constexpr std::string_view kJsonType = "application/json;charset=utf-8";
// cas20200407 parses XML only with exactly this content-type (spec §1.5).
constexpr std::string_view kXmlType = "text/xml;charset=utf-8";
constexpr std::string_view kRecommendBase = "https://certplan.dev/docs/errors?q=";

// XML 1.0 §2.2 Char: what a document may contain at all, even escaped.
bool IsXmlChar(char32_t cp) {
  return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
         (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

// Values can hold client bytes (HostId is the Host header, messages quote parameters): the
// document stays well-formed UTF-8 XML whatever they are. Bytes that are not well-formed
// UTF-8 become U+FFFD; characters XML 1.0 does not allow (most C0 controls, U+FFFE/U+FFFF)
// are dropped.
void AppendXmlEscaped(std::string& out, std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const char32_t cp = utf8::Next(text, i);
    switch (cp) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (IsXmlChar(cp)) utf8::Append(out, cp);
    }
  }
}

void AppendXmlValue(std::string& out, std::string_view name, const Reply& value);

void AppendXmlElement(std::string& out, std::string_view name, const Reply& value) {
  // An array is one repeated element per item, named after the array (spec §1.5).
  if (value.is_array()) {
    for (const Reply& item : value) AppendXmlElement(out, name, item);
    return;
  }
  out += '<';
  out += name;
  out += '>';
  AppendXmlValue(out, name, value);
  out += "</";
  out += name;
  out += '>';
}

void AppendXmlValue(std::string& out, std::string_view, const Reply& value) {
  if (value.is_object()) {
    for (auto it = value.begin(); it != value.end(); ++it) AppendXmlElement(out, it.key(), *it);
  } else if (value.is_string()) {
    AppendXmlEscaped(out, value.get_ref<const std::string&>());
  } else if (!value.is_null()) {
    out += value.dump();
  }
}

Response Render(std::string_view root, const Reply& body, const AnswerMeta& meta, int status) {
  Response r;
  r.status = status;
  r.headers.emplace_back("x-acs-request-id", meta.request_id);
  if (meta.format == Format::kXml) {
    r.content_type = kXmlType;
    r.body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
    AppendXmlElement(r.body, root, body);
  } else {
    r.content_type = kJsonType;
    r.body = body.dump(-1, ' ', false, Reply::error_handler_t::replace);
  }
  return r;
}

}  // namespace

Response RenderSuccess(std::string_view action, Reply reply, const AnswerMeta& meta) {
  Reply body = Reply::object();
  body["RequestId"] = meta.request_id;
  for (auto& [key, value] : reply.items()) body[key] = std::move(value);
  std::string root(action);
  root += "Response";
  return Render(root, body, meta, 200);
}

Response RenderError(const Error& error, const AnswerMeta& meta) {
  const WireError wire = ToWire(error.code);
  Reply body = Reply::object();
  body["RequestId"] = meta.request_id;
  body["HostId"] = meta.host_id;
  body["Code"] = wire.code;
  body["Message"] = error.message;
  std::string recommend(kRecommendBase);
  recommend += wire.code;
  recommend += "&requestId=";
  recommend += meta.request_id;
  body["Recommend"] = recommend;
  if (error.access_denied) {
    const AccessDenied& d = *error.access_denied;
    body["AccessDeniedDetail"] = {{"AuthAction", d.auth_action},
                                  {"AuthPrincipalType", d.principal_type},
                                  {"AuthPrincipalOwnerId", d.principal_owner_id},
                                  {"AuthPrincipalDisplayName", d.principal_display_name},
                                  {"PolicyType", d.policy_type},
                                  {"NoPermissionType", d.no_permission_type}};
  }
  Response response = Render("Error", body, meta, wire.status);
  if (error.retry_after_ms) {
    response.headers.emplace_back("x-acs-retry-after", std::to_string(*error.retry_after_ms));
  }
  return response;
}

}  // namespace certplan::rpc
