#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

namespace certplan::pki {

// What the records say about one serial of the issuer the responder answers for.
enum class OcspCertState { kGood, kRevoked, kUnknown };
struct OcspCertStatus {
  OcspCertState state = OcspCertState::kUnknown;
  int64_t revoked_at = 0;  // kRevoked: epoch seconds
  int reason = 0;          // kRevoked: CRLReason; 0 (unspecified) is left out of the answer
};
// Looks a serial (as SerialHex prints it: upper-case hex) up. An error makes the whole answer
// tryLater (kServiceUnavailable) or internalError (anything else).
using OcspLookup = std::function<Result<OcspCertStatus>(const std::string& serial_hex)>;

// The OCSPResponse's responseStatus (RFC 6960 §4.2.1), for the log and the tests.
enum class OcspOutcome {
  kSuccessful,
  kMalformedRequest,
  kInternalError,
  kTryLater,
  kUnauthorized,
};
std::string_view OcspOutcomeName(OcspOutcome outcome);

struct OcspAnswer {
  OcspOutcome outcome = OcspOutcome::kInternalError;
  std::string der;     // the OCSPResponse, always set (an unsuccessful one has no body)
  std::string detail;  // why it was not successful, for the log
};

// Bounds on what one request may ask.
struct OcspLimits {
  size_t max_request_bytes = 16 * 1024;
  size_t max_certificate_ids = 16;
  size_t max_nonce_bytes = 32;  // RFC 8954 §2.1
};

// An OCSP responder (RFC 6960) for one issuing CA, signing with a delegated responder
// certificate that CA issued. Thread-safe.
class OcspResponder {
 public:
  // `issuer_pem`: the CA whose certificates it answers for; `responder_pem` and `key_pem`: the
  // responder certificate (issued by it, with id-kp-OCSPSigning) and its private key.
  // kInvalidParameter when they are unreadable, do not match or the responder certificate was
  // not issued by the issuer.
  static Result<std::unique_ptr<OcspResponder>> Create(std::string_view issuer_pem,
                                                       std::string_view responder_pem,
                                                       std::string_view key_pem,
                                                       OcspLimits limits = {});

  // Answers a DER OCSPRequest at `now`: every CertID must name the issuer (by SHA-1, SHA-256,
  // SHA-384 or SHA-512 hashes of its name and key) and is looked up by serial; the answer is a
  // basic response with one SingleResponse per CertID (thisUpdate = now, nextUpdate = now +
  // `valid_for`), the request's nonce echoed, the responder ID by key hash and the responder
  // certificate included, signed with SHA-256. Refusals are unsuccessful responses:
  // malformedRequest for more than max_request_bytes, bytes that are not one OCSPRequest, no
  // CertID or more than max_certificate_ids, a nonce longer than max_nonce_bytes;
  // unauthorized when a CertID names another issuer or an unsupported hash.
  OcspAnswer Answer(std::string_view request_der, int64_t now, int64_t valid_for,
                    const OcspLookup& lookup) const;

  // The responder certificate's notAfter (epoch seconds).
  int64_t responder_not_after() const { return responder_not_after_; }

  ~OcspResponder();

 private:
  struct State;
  explicit OcspResponder(std::unique_ptr<State> state);
  OcspAnswer Unsuccessful(OcspOutcome outcome, std::string detail) const;

  std::unique_ptr<State> state_;
  int64_t responder_not_after_ = 0;
};

}  // namespace certplan::pki
