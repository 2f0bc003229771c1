#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "core/error.h"

namespace certplan::acme {

// The RFC 8555 §6.7 error types certplan answers (urn:ietf:params:acme:error:<name>).
enum class ProblemType {
  kMalformed,
  kBadNonce,
  kUnauthorized,
  kBadSignatureAlgorithm,
  kBadPublicKey,
  kAccountDoesNotExist,
  kExternalAccountRequired,
  kRejectedIdentifier,
  kUnsupportedIdentifier,
  kOrderNotReady,
  kBadCsr,
  kAlreadyRevoked,
  kBadRevocationReason,
  kInvalidContact,
  kUnsupportedContact,
  kIncorrectResponse,
  kConnection,
  kDns,
  kRateLimited,
  kServerInternal,
};

// One problem document (RFC 7807 + RFC 8555 §6.7): type, HTTP status, a detail for the client.
struct Problem {
  ProblemType type;
  std::string detail;
  int status = 0;  // 0: the type's usual status
};

// "urn:ietf:params:acme:error:badNonce", …
std::string ProblemTypeUrn(ProblemType type);
// The HTTP status a problem is answered with (its own, or the type's usual one).
int ProblemStatus(const Problem& problem);
// A problem for a domain or store error: kInternal/kServiceUnavailable become serverInternal
// (500/503, the detail kept for the log only), anything else malformed with its message.
Problem FromError(const Error& error);

// The value or the problem (the ACME front's Result).
template <typename T>
class [[nodiscard]] Outcome {
 public:
  Outcome(T value) : v_(std::move(value)) {}
  Outcome(Problem problem) : v_(std::move(problem)) {}
  explicit operator bool() const { return v_.index() == 0; }
  T& operator*() { return std::get<0>(v_); }
  T* operator->() { return &std::get<0>(v_); }
  const Problem& problem() const { return std::get<1>(v_); }

 private:
  std::variant<T, Problem> v_;
};

}  // namespace certplan::acme
