#pragma once

#include <string>
#include <string_view>

#include "core/error.h"
#include "rpc/reply.h"
#include "rpc/request.h"

namespace certplan::rpc {

enum class Format { kJson, kXml };

// What every rendered answer needs besides its body.
struct AnswerMeta {
  std::string request_id;
  std::string_view host_id;  // public host name, no port
  Format format = Format::kJson;
};

// Every body is valid UTF-8 JSON or XML 1.0 whatever bytes the values hold (they can carry
// client bytes): JSON replaces ill-formed UTF-8 with U+FFFD and escapes controls; XML escapes
// &<>"' as well, replaces ill-formed UTF-8 with U+FFFD and drops characters XML 1.0 forbids.

// A success: JSON object, or XML with root <{action}Response> (spec §1.5). RequestId is set
// here, as body field and `x-acs-request-id` header.
Response RenderSuccess(std::string_view action, Reply reply, const AnswerMeta& meta);

// The Alibaba error envelope (spec §2.1) with the status ToWire() gives. kInternal sends a
// generic message; `detail` never leaves the process.
Response RenderError(const Error& error, const AnswerMeta& meta);

}  // namespace certplan::rpc
