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
// Every text is a view into the request's headers (V3) or the parameters (V1) it was parsed
// from, so a claim is valid only while both live (the read path copies none of it).
struct SignedRequest {
  Scheme scheme = Scheme::kV3;
  std::string_view algorithm;  // "ACS3-HMAC-SHA256", "ACS3-HMAC-SM3", "HMAC-SHA1"
  std::string_view action;     // empty when absent
  std::string_view version;    // empty when absent
  std::string_view access_key_id;
  std::string_view timestamp;  // as sent
  std::string_view nonce;
  std::string_view signature;
  bool has_security_token = false;
  // V3 only: SignedHeaders as sent, and split.
  std::string_view signed_headers_text;
  std::vector<std::string_view> signed_headers;
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
