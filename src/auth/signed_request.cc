#include "auth/signed_request.h"

#include <algorithm>

#include "auth/canonical_request.h"
#include "auth/crypto.h"

namespace certplan::auth {
namespace {

constexpr std::string_view kV3Prefixes[] = {"ACS3-HMAC-SHA256 ", "ACS3-HMAC-SM3 ",
                                            "ACS3-RSA-SHA256 "};

// Headers a V3 signature must cover (spec §1.3 step 6).
constexpr std::string_view kRequiredSigned[] = {
    "host",       "x-acs-action",          "x-acs-content-sha256",
    "x-acs-date", "x-acs-signature-nonce", "x-acs-version"};

Error Incomplete(std::string_view why) {
  std::string msg = "The request signature does not conform to Aliyun standards: ";
  msg += why;
  return Error(ErrorCode::kIncompleteSignature, std::move(msg));
}

Error UnsupportedMethod(std::string_view what) {
  std::string msg = "The specified signature method \"";
  msg += what;
  msg += "\" is not supported.";
  return Error(ErrorCode::kInvalidSignatureMethod, std::move(msg));
}

// Parses `Credential=AK,SignedHeaders=a;b,Signature=hex` (no spaces after commas).
Status ParseV3Fields(std::string_view rest, SignedRequest& claim) {
  std::string_view credential, signed_headers, signature;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view field = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const size_t eq = field.find('=');
    if (eq == std::string_view::npos) return Incomplete("malformed Authorization header.");
    std::string_view key = field.substr(0, eq), value = field.substr(eq + 1);
    if (key == "Credential") {
      credential = value;
    } else if (key == "SignedHeaders") {
      signed_headers = value;
    } else if (key == "Signature") {
      signature = value;
    } else {
      return Incomplete("unknown field in the Authorization header.");
    }
  }
  if (credential.empty() || signed_headers.empty() || signature.empty()) {
    return Incomplete("Authorization needs Credential, SignedHeaders and Signature.");
  }
  claim.access_key_id = credential;
  claim.signature = signature;
  claim.signed_headers_text = signed_headers;
  claim.signed_headers.reserve(
      static_cast<size_t>(std::count(signed_headers.begin(), signed_headers.end(), ';')) + 1);
  size_t pos = 0;
  while (pos <= signed_headers.size()) {
    size_t semi = signed_headers.find(';', pos);
    if (semi == std::string_view::npos) semi = signed_headers.size();
    claim.signed_headers.emplace_back(signed_headers.substr(pos, semi - pos));
    pos = semi + 1;
  }
  return Ok{};
}

Status CheckSignedHeaderSet(const SignedRequest& claim, const rpc::Request& request) {
  const auto& names = claim.signed_headers;
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string_view n = names[i];
    if (n.empty() || std::any_of(n.begin(), n.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
      return Incomplete("SignedHeaders must be lower-case names.");
    }
    if (i > 0 && !(names[i - 1] < n)) return Incomplete("SignedHeaders must be sorted.");
  }
  auto is_signed = [&](std::string_view h) {
    return std::binary_search(names.begin(), names.end(), h);
  };
  for (std::string_view h : kRequiredSigned) {
    if (!is_signed(h))
      return Incomplete(std::string("header ") + std::string(h) + " is not signed.");
  }
  if (!request.body.empty() && request.HasHeader("content-type") && !is_signed("content-type")) {
    return Incomplete("header content-type is not signed.");
  }
  for (std::string_view h : {"x-acs-security-token", "x-acs-accesskey-id"}) {
    if (request.HasHeader(h) && !is_signed(h)) {
      return Incomplete(std::string("header ") + std::string(h) + " is not signed.");
    }
  }
  return Ok{};
}

Result<SignedRequest> ParseV3(const rpc::Request& request, std::string_view authorization) {
  SignedRequest claim;
  claim.scheme = Scheme::kV3;
  const size_t space = authorization.find(' ');
  claim.algorithm = authorization.substr(0, space);
  if (claim.algorithm == "ACS3-RSA-SHA256") {
    // Needs a registered public key per AccessKey, which certplan does not keep yet (spec §1.3).
    return UnsupportedMethod(claim.algorithm);
  }
  Status fields = ParseV3Fields(authorization.substr(space + 1), claim);
  if (!fields) return fields.error();
  Status set = CheckSignedHeaderSet(claim, request);
  if (!set) return set.error();
  claim.action = request.Header("x-acs-action");
  claim.version = request.Header("x-acs-version");
  claim.timestamp = request.Header("x-acs-date");
  claim.nonce = request.Header("x-acs-signature-nonce");
  claim.has_security_token = request.HasHeader("x-acs-security-token");
  return claim;
}

Result<SignedRequest> ParseV1(const rpc::Params& params) {
  SignedRequest claim;
  claim.scheme = Scheme::kV1;
  claim.action = params.Raw("Action").value_or("");
  claim.version = params.Raw("Version").value_or("");
  claim.signature = params.Raw("Signature").value_or("");
  std::string_view method = params.Raw("SignatureMethod").value_or("");
  if (method.empty()) return MissingParameter("SignatureMethod");
  if (method != "HMAC-SHA1") return UnsupportedMethod(method);
  std::string_view version = params.Raw("SignatureVersion").value_or("");
  if (version.empty()) return MissingParameter("SignatureVersion");
  if (version != "1.0")
    return UnsupportedMethod(std::string("SignatureVersion ") + std::string(version));
  std::string_view type = params.Raw("SignatureType").value_or("");
  if (!type.empty()) return UnsupportedMethod(std::string("SignatureType ") + std::string(type));
  claim.algorithm = method;
  claim.access_key_id = params.Raw("AccessKeyId").value_or("");
  claim.timestamp = params.Raw("Timestamp").value_or("");
  claim.nonce = params.Raw("SignatureNonce").value_or("");
  claim.has_security_token = params.Raw("SecurityToken").has_value();
  if (claim.access_key_id.empty()) return MissingParameter("AccessKeyId");
  if (claim.timestamp.empty()) return MissingParameter("Timestamp");
  if (claim.nonce.empty()) return MissingParameter("SignatureNonce");
  return claim;
}

Digest DigestOf(std::string_view algorithm) {
  return algorithm == "ACS3-HMAC-SM3" ? Digest::kSm3 : Digest::kSha256;
}

Error Mismatch(std::string_view string_to_sign) {
  std::string msg =
      "Specified signature is not matched with our calculation. server string to sign is:";
  msg += string_to_sign;
  return Error(ErrorCode::kSignatureDoesNotMatch, std::move(msg));
}

Status VerifyV3(const SignedRequest& claim, const rpc::Request& request, const rpc::Params& params,
                std::string_view secret) {
  const Digest digest = DigestOf(claim.algorithm);
  std::string_view content_hash = request.Header("x-acs-content-sha256");
  if (HexDigestText(digest, request.body).view() != content_hash) {
    return Error(ErrorCode::kSignatureDoesNotMatch,
                 "The x-acs-content-sha256 header does not match the request body.");
  }
  // The thread's canonical-request buffer keeps its capacity from one request to the next (up
  // to kKeptCanonicalBytes: a large query's is given back).
  constexpr size_t kKeptCanonicalBytes = 16 * 1024;
  thread_local std::string canonical;
  canonical.clear();
  AppendCanonicalRequestV3(canonical, request, params.query(), claim.signed_headers,
                           claim.signed_headers_text, content_hash);
  const HexText canonical_hash = HexDigestText(digest, canonical);
  if (canonical.capacity() > kKeptCanonicalBytes) canonical = std::string();
  std::string string_to_sign;
  string_to_sign.reserve(claim.algorithm.size() + 1 + canonical_hash.size);
  string_to_sign += claim.algorithm;
  string_to_sign += '\n';
  string_to_sign += canonical_hash.view();
  // V3 keys the HMAC with the secret alone (no '&', unlike V1).
  if (!ConstantTimeEquals(HexHmacText(digest, secret, string_to_sign).view(), claim.signature)) {
    return Mismatch(string_to_sign);
  }
  return Ok{};
}

Status VerifyV1(const SignedRequest& claim, const rpc::Request& request, const rpc::Params& params,
                std::string_view secret) {
  ParamPairs sorted;
  sorted.reserve(params.all().size());
  for (const auto& [name, value] : params.all()) {
    if (name != "Signature") sorted.emplace_back(name, value);
  }
  const std::string string_to_sign = StringToSignV1(request.method, CanonicalizedQueryV1(sorted));
  std::string key(secret);
  key += '&';
  if (!ConstantTimeEquals(Base64HmacSha1(key, string_to_sign), claim.signature)) {
    return Mismatch(string_to_sign);
  }
  return Ok{};
}

}  // namespace

Result<SignedRequest> ParseSignedRequest(const rpc::Request& request, const rpc::Params& params) {
  std::string_view authorization = request.Header("authorization");
  if (request.HasHeader("authorization")) {
    for (std::string_view prefix : kV3Prefixes) {
      if (authorization.substr(0, prefix.size()) == prefix) return ParseV3(request, authorization);
    }
    return UnsupportedMethod(authorization.substr(0, authorization.find(' ')));
  }
  if (params.Raw("Signature")) return ParseV1(params);
  return MissingParameter("Signature");
}

Status VerifySignature(const SignedRequest& claim, const rpc::Request& request,
                       const rpc::Params& params, std::string_view secret) {
  return claim.scheme == Scheme::kV3 ? VerifyV3(claim, request, params, secret)
                                     : VerifyV1(claim, request, params, secret);
}

}  // namespace certplan::auth
