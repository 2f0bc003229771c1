#include "revocation/http_endpoints.h"

#include <algorithm>
#include <cctype>
#include <chrono>

#include "core/log.h"
#include "pki/der.h"
#include "rpc/percent.h"

namespace certplan::revocation {
namespace {

// What one request was, for its log line.
struct Outcome {
  std::string_view kind;  // crl, issuer, ocsp, other
  std::string code;       // the OCSP response status, or the HTTP outcome
  std::string detail;
};

rpc::Response Text(int status, std::string body) {
  rpc::Response r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body) + "\n";
  return r;
}

rpc::Response MethodNotAllowed(std::string_view allow, Outcome& outcome) {
  outcome.code = "MethodNotAllowed";
  rpc::Response r = Text(405, "Method not allowed; use " + std::string(allow) + ".");
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

rpc::Response Der(std::string_view content_type, std::string body) {
  rpc::Response r;
  r.content_type = std::string(content_type);
  r.body = std::move(body);
  return r;
}

// The media type without parameters, lower-cased.
std::string MediaType(std::string_view header) {
  std::string_view type = header.substr(0, header.find(';'));
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  while (!type.empty() && type.front() == ' ') type.remove_prefix(1);
  std::string out(type);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

rpc::Response Ocsp(const RevocationStatus& status, std::string_view der, Outcome& outcome) {
  pki::OcspAnswer answer = status.AnswerOcsp(der);
  outcome.code = std::string(pki::OcspOutcomeName(answer.outcome));
  if (outcome.detail.empty()) outcome.detail = std::move(answer.detail);
  return Der("application/ocsp-response", std::move(answer.der));
}

rpc::Response Route(const RevocationStatus& status, const rpc::Request& request, Outcome& outcome) {
  const std::string_view path = request.path;
  const std::string_view method = request.method;
  if (path == kCrlPath) {
    outcome.kind = "crl";
    if (method != "GET") return MethodNotAllowed("GET", outcome);
    std::shared_ptr<const PublishedCrl> crl = status.crl();
    if (!crl) {
      outcome.code = "ServiceUnavailable";
      rpc::Response r = Text(503, "The CRL is not signed yet (the store is unreachable); retry.");
      r.headers.emplace_back("Retry-After", "5");
      return r;
    }
    outcome.code = "OK";
    return Der("application/pkix-crl", crl->der);
  }
  if (path == kIssuerPath) {
    outcome.kind = "issuer";
    if (method != "GET") return MethodNotAllowed("GET", outcome);
    outcome.code = "OK";
    return Der("application/pkix-cert", status.issuer_der());
  }
  if (path == kOcspPath) {
    outcome.kind = "ocsp";
    if (method != "POST") return MethodNotAllowed("POST", outcome);
    if (MediaType(request.Header("content-type")) != "application/ocsp-request") {
      outcome.code = "UnsupportedMediaType";
      return Text(415, "Send the DER OCSPRequest as Content-Type: application/ocsp-request.");
    }
    return Ocsp(status, request.body, outcome);
  }
  if (path.starts_with(std::string(kOcspPath) + "/")) {
    outcome.kind = "ocsp";
    if (method != "GET") return MethodNotAllowed("GET", outcome);
    // Base64 may hold '/', so everything after the prefix is the request.
    std::optional<std::string> b64 =
        rpc::PercentDecode(path.substr(kOcspPath.size() + 1), /*plus_is_space=*/false);
    std::optional<std::string> der = b64 ? pki::Base64Decode(*b64) : std::nullopt;
    if (!der) {
      outcome.detail = "the GET path is not percent-encoded base64";
      return Ocsp(status, {}, outcome);  // answered malformedRequest
    }
    return Ocsp(status, *der, outcome);
  }
  outcome.kind = "other";
  outcome.code = "NotFound";
  return Text(404, "Not found. Revocation status is served at " + std::string(kCrlPath) + ", " +
                       std::string(kOcspPath) + " and " + std::string(kIssuerPath) + ".");
}

}  // namespace

bool IsRevocationPath(std::string_view path) { return path.starts_with(kPathPrefix); }

rpc::Response HandleRevocationRequest(const RevocationStatus& status, const rpc::Request& request) {
  const auto start = std::chrono::steady_clock::now();
  Outcome outcome;
  rpc::Response response = Route(status, request, outcome);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now() - start)
                          .count();
  log::Line line(log::Level::kInfo, "request");
  line.Str("action", "pki:" + std::string(outcome.kind))
      .Str("method", request.method)
      .Str("code", outcome.code)
      .Int("status", response.status)
      .Int("latency_us", micros);
  if (!outcome.detail.empty()) line.Str("detail", outcome.detail);
  line.Write();
  return response;
}

}  // namespace certplan::revocation
