// Signature parsing and canonicalization (auth/signed_request.cc, auth/canonical_request.cc):
// the scheme and claim from the Authorization header or the V1 parameters, the V3 canonical
// request, the V1 string to sign, and verification with a fixed secret.
//
// Input, a request in a compact form (fuzz/make_seeds.js writes the seeds):
//   METHOD SP QUERY '\n'  { NAME ':' VALUE '\n' }  '\n'  BODY
// Header names are lower-cased as the HTTP layer does; the body is a form when content-type
// says so, as in the gateway. CERTPLAN_FUZZ_PRINT=1 prints each verification's outcome.
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "auth/canonical_request.h"
#include "auth/crypto.h"
#include "auth/signed_request.h"
#include "fuzz_check.h"
#include "fuzz_key.h"
#include "rpc/params.h"
#include "rpc/request.h"

namespace certplan::fuzz {
namespace {

rpc::Request ReadRequest(std::string_view in) {
  rpc::Request req;
  auto next_line = [&in]() {
    const size_t nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    return line;
  };
  const std::string_view first = next_line();
  const size_t space = first.find(' ');
  req.method = std::string(first.substr(0, space));
  if (space != std::string_view::npos) req.query = std::string(first.substr(space + 1));
  req.path.assign(1, '/');  // not `= "/"`: GCC 12 bug 105329, a false -Wrestrict at -O3
  while (!in.empty()) {
    const std::string_view line = next_line();
    if (line.empty()) break;
    const size_t colon = line.find(':');
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const std::string_view value =
        colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
    req.headers.emplace_back(std::move(name), std::string(value));
  }
  req.body = std::string(in);
  req.peer_ip = "127.0.0.1";
  return req;
}

bool IsForm(const rpc::Request& req) {
  return req.Header("content-type").starts_with("application/x-www-form-urlencoded");
}

int TestOneInput(const uint8_t* data, size_t size) {
  const rpc::Request req = ReadRequest(std::string_view(reinterpret_cast<const char*>(data), size));
  Result<rpc::Params> params =
      rpc::Params::Decode(req.query, IsForm(req) ? std::string_view(req.body) : std::string_view());
  if (!params) return 0;

  // The canonical query depends on the pairs, not on their order.
  auth::ParamPairs pairs(params->query().begin(), params->query().end());
  const std::string canonical_query = auth::CanonicalQuery(pairs);
  std::reverse(pairs.begin(), pairs.end());
  FUZZ_CHECK(auth::CanonicalQuery(pairs) == canonical_query);

  Result<auth::SignedRequest> claim = auth::ParseSignedRequest(req, *params);
  if (!claim) {
    const ErrorCode code = claim.error().code;
    FUZZ_CHECK(code == ErrorCode::kInvalidSignatureMethod ||
               code == ErrorCode::kIncompleteSignature || code == ErrorCode::kMissingParameter);
    return 0;
  }
  Status verified = auth::VerifySignature(*claim, req, *params, kAccessKeySecret);
  if (std::getenv("CERTPLAN_FUZZ_PRINT")) {
    std::fprintf(stderr, "%.*s %.*s: %s\n", static_cast<int>(claim->algorithm.size()),
                 claim->algorithm.data(), static_cast<int>(claim->action.size()),
                 claim->action.data(), verified ? "verified" : verified.error().message.c_str());
  }
  FUZZ_CHECK(verified || verified.error().code == ErrorCode::kSignatureDoesNotMatch);

  // What a client computes from the same parts must verify: the server's check is consistent
  // with its own canonical form for every request it accepts as well-formed.
  auth::SignedRequest resigned = *claim;
  std::string signature;  // what resigned.signature views
  if (claim->scheme == auth::Scheme::kV3) {
    FUZZ_CHECK(std::is_sorted(claim->signed_headers.begin(), claim->signed_headers.end()));
    std::vector<std::string_view> names(claim->signed_headers.begin(), claim->signed_headers.end());
    const std::string headers = auth::CanonicalHeaders(req, names);
    if (std::none_of(req.headers.begin(), req.headers.end(),
                     [](const auto& h) { return h.second.find('\n') != std::string::npos; })) {
      FUZZ_CHECK(static_cast<size_t>(std::count(headers.begin(), headers.end(), '\n')) ==
                 names.size());
    }
    const auth::Digest digest =
        claim->algorithm == "ACS3-HMAC-SM3" ? auth::Digest::kSm3 : auth::Digest::kSha256;
    const std::string body_hash = auth::HexDigest(digest, req.body);
    const std::string canonical = auth::CanonicalRequestV3(req, params->query(), names,
                                                           claim->signed_headers_text, body_hash);
    signature =
        auth::HexHmac(digest, kAccessKeySecret,
                      std::string(claim->algorithm) + "\n" + auth::HexDigest(digest, canonical));
    resigned.signature = signature;
    // The body hash is a header; when it is not the body's, nothing can verify.
    const bool hash_matches = req.Header("x-acs-content-sha256") == body_hash;
    FUZZ_CHECK(bool(auth::VerifySignature(resigned, req, *params, kAccessKeySecret)) ==
               hash_matches);
  } else {
    auth::ParamPairs sorted;
    for (const auto& [name, value] : params->all()) {
      if (name != "Signature") sorted.emplace_back(name, value);
    }
    const std::string to_sign =
        auth::StringToSignV1(req.method, auth::CanonicalizedQueryV1(sorted));
    signature = auth::Base64HmacSha1(std::string(kAccessKeySecret) + "&", to_sign);
    resigned.signature = signature;
    FUZZ_CHECK(auth::VerifySignature(resigned, req, *params, kAccessKeySecret));
  }
  return 0;
}

}  // namespace
}  // namespace certplan::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return certplan::fuzz::TestOneInput(data, size);
}
