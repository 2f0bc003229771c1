#pragma once

#include <string_view>

#include "revocation/revocation_status.h"
#include "rpc/request.h"

namespace certplan::revocation {

// Whether the listeners hand `path` (still percent-encoded) to HandleRevocationRequest: every
// path under kPathPrefix.
bool IsRevocationPath(std::string_view path);

// Answers one request under kPathPrefix, without authentication (relying parties are
// anonymous), and writes its access-log line:
//   GET  /pki/crl          200 application/pkix-crl, the CRL in force (never signed per request);
//                          503 with Retry-After before the first is signed
//   GET  /pki/issuer.crt   200 application/pkix-cert, the issuing CA
//   POST /pki/ocsp         Content-Type application/ocsp-request, else 415; the body is the
//                          DER OCSPRequest
//   GET  /pki/ocsp/<req>   <req>: the DER OCSPRequest in base64, percent-encoded (RFC 6960
//                          Appendix A.1)
// An OCSP request is answered 200 application/ocsp-response even when refused: the refusal is
// the OCSPResponse's status (malformedRequest for bytes that are not a request, base64 that
// does not decode, more than the limits; unauthorized for another issuer). Another method gets
// 405 (with Allow), another path 404, both text/plain.
rpc::Response HandleRevocationRequest(const RevocationStatus& status, const rpc::Request& request);

}  // namespace certplan::revocation
