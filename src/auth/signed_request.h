#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "rpc/params.h"
#include "rpc/request.h"

namespace certplan::auth {

enum class Scheme { kV3, kV1 };

// What a request claims about itself before anything is checked: which scheme signed it, with
// which key, for which Action. Parsed per spec §1.2 — the scheme is decided by the credential,
// never by x-acs-* headers (pop-core sends those unsigned on V1 requests too).
struct SignedRequest {
  Scheme scheme = Scheme::kV3;
  std::string algorithm;  // "ACS3-HMAC-SHA256", "ACS3-HMAC-SM3", "HMAC-SHA1"
  std::string action;     // empty when absent
  std::string version;    // empty when absent
  std::string access_key_id;
  std::string timestamp;  // as sent
  std::string nonce;
  std::string signature;
  bool has_security_token = false;
  // V3 only: SignedHeaders as sent, and split.
  std::string signed_headers_text;
  std::vector<std::string> signed_headers;
};

// Decides the scheme and extracts the claim. Errors: kInvalidSignatureMethod (unsupported
// scheme or algorithm), kIncompleteSignature (Authorization unparsable, a required header
// unsigned, SignedHeaders not lower-case ascending), kMissingParameter (no signature at all,
// or a V1 common parameter absent).
Result<SignedRequest> ParseSignedRequest(const rpc::Request& request, const rpc::Params& params);

// Checks the signature over the request with the caller's secret. kSignatureDoesNotMatch when
// it differs (or, for V3, when x-acs-content-sha256 is not the body's digest).
Status VerifySignature(const SignedRequest& claim, const rpc::Request& request,
                       const rpc::Params& params, std::string_view secret);

}  // namespace certplan::auth
