#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rpc/request.h"

namespace certplan::auth {

using ParamPairs = std::vector<std::pair<std::string, std::string>>;

// V3 CanonicalQuery (spec §1.3 step 2): decoded query pairs sorted by name then value,
// `enc(name)=enc(value)` joined by `&`; empty when there are none.
std::string CanonicalQuery(ParamPairs pairs);

// V3 CanonicalHeaders (step 3) for the given signed header names (lower-case, ascending):
// `name:value\n` each, values trimmed; a repeated header's values trimmed, sorted, joined by ','.
std::string CanonicalHeaders(const rpc::Request& request,
                             const std::vector<std::string_view>& signed_headers);

// The whole V3 CanonicalRequest (step 1).
std::string CanonicalRequestV3(const rpc::Request& request, const ParamPairs& query,
                               const std::vector<std::string_view>& signed_headers,
                               std::string_view signed_headers_text,
                               std::string_view hashed_payload);
// The same, appended to `out`.
void AppendCanonicalRequestV3(std::string& out, const rpc::Request& request,
                              const ParamPairs& query,
                              const std::vector<std::string_view>& signed_headers,
                              std::string_view signed_headers_text,
                              std::string_view hashed_payload);

// V1 canonicalized query (spec §1.4): every parameter but `Signature`, sorted by name.
std::string CanonicalizedQueryV1(const ParamPairs& sorted_params);
// V1 StringToSign: `METHOD&%2F&` + enc(canonicalized query).
std::string StringToSignV1(std::string_view method, std::string_view canonicalized_query);

}  // namespace certplan::auth
