// Parameter decoding (rpc/params.cc, rpc/percent.cc): the URL query and a form body as the
// gateway decodes them. Input: the query, then '\n', then the body (no '\n': no body).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "rpc/params.h"
#include "rpc/percent.h"

using certplan::Result;
using certplan::rpc::Params;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const std::string_view query = input.substr(0, newline);
  const std::string_view body =
      newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);

  // Encoding is total and decoding inverts it, for any bytes.
  const std::string encoded = certplan::rpc::PercentEncode(input);
  for (char c : encoded) {
    FUZZ_CHECK((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_' || c == '.' || c == '~' || c == '%');
  }
  const std::optional<std::string> decoded = certplan::rpc::PercentDecode(encoded, false);
  FUZZ_CHECK(decoded && *decoded == input);
  (void)certplan::rpc::IsValidUtf8(input);
  (void)certplan::rpc::PercentDecode(query, true);

  Result<Params> params = Params::Decode(query, body);
  if (!params) {
    FUZZ_CHECK(params.error().code == certplan::ErrorCode::kInvalidParameter);
    return 0;
  }
  // Every query pair is in all(), valid UTF-8 with a non-empty name.
  for (const auto& [name, value] : params->query()) {
    FUZZ_CHECK(!name.empty() && certplan::rpc::IsValidUtf8(name) &&
               certplan::rpc::IsValidUtf8(value));
    FUZZ_CHECK(params->Raw(name) == std::optional<std::string_view>(value));
  }
  FUZZ_CHECK(params->query().size() <= params->all().size());
  // Re-encoding what was decoded and decoding again gives the same parameters.
  std::string again;
  for (const auto& [name, value] : params->all()) {
    if (!again.empty()) again += '&';
    again += certplan::rpc::PercentEncode(name);
    again += '=';
    again += certplan::rpc::PercentEncode(value);
    (void)params->Get(name);
    (void)params->Require(name);
    (void)params->GetInt64(name);
  }
  Result<Params> reparsed = Params::Decode(again, "");
  FUZZ_CHECK(reparsed && reparsed->all() == params->all());
  return 0;
}
