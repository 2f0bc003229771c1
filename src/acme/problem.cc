#include "acme/problem.h"

namespace certplan::acme {
namespace {

struct TypeInfo {
  std::string_view name;
  int status;
};

TypeInfo Info(ProblemType type) {
  switch (type) {
    case ProblemType::kMalformed: return {"malformed", 400};
    case ProblemType::kBadNonce: return {"badNonce", 400};
    case ProblemType::kUnauthorized: return {"unauthorized", 403};
    case ProblemType::kBadSignatureAlgorithm: return {"badSignatureAlgorithm", 400};
    case ProblemType::kBadPublicKey: return {"badPublicKey", 400};
    case ProblemType::kAccountDoesNotExist: return {"accountDoesNotExist", 400};
    case ProblemType::kExternalAccountRequired: return {"externalAccountRequired", 400};
    case ProblemType::kRejectedIdentifier: return {"rejectedIdentifier", 400};
    case ProblemType::kUnsupportedIdentifier: return {"unsupportedIdentifier", 400};
    case ProblemType::kOrderNotReady: return {"orderNotReady", 403};
    case ProblemType::kBadCsr: return {"badCSR", 400};
    case ProblemType::kAlreadyRevoked: return {"alreadyRevoked", 400};
    case ProblemType::kBadRevocationReason: return {"badRevocationReason", 400};
    case ProblemType::kInvalidContact: return {"invalidContact", 400};
    case ProblemType::kUnsupportedContact: return {"unsupportedContact", 400};
    case ProblemType::kIncorrectResponse: return {"incorrectResponse", 403};
    case ProblemType::kConnection: return {"connection", 400};
    case ProblemType::kDns: return {"dns", 400};
    case ProblemType::kRateLimited: return {"rateLimited", 429};
    case ProblemType::kServerInternal: return {"serverInternal", 500};
  }
  return {"serverInternal", 500};
}

}  // namespace

std::string ProblemTypeUrn(ProblemType type) {
  return "urn:ietf:params:acme:error:" + std::string(Info(type).name);
}

int ProblemStatus(const Problem& problem) {
  return problem.status != 0 ? problem.status : Info(problem.type).status;
}

Problem FromError(const Error& error) {
  switch (error.code) {
    case ErrorCode::kInternal:
      return Problem{ProblemType::kServerInternal, "The server could not complete the request."};
    case ErrorCode::kServiceUnavailable:
      return Problem{ProblemType::kServerInternal, "The store is not available.", 503};
    default: return Problem{ProblemType::kMalformed, error.message};
  }
}

}  // namespace certplan::acme
