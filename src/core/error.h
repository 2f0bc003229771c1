#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace certplan {

// One enumerator per wire `Code` (spec/cas-api.md §2.2, §2.4). rpc/errors.cc maps each to its
// HTTP status and Code string; when adding an enumerator, add its mapping there (no default:
// -Wswitch names any code left unmapped).
enum class ErrorCode {
  // Gateway (spec §2.2).
  kMissingParameter,
  kInvalidParameter,
  kInvalidFormat,  // InvalidParameter.Format
  kAccessKeyNotFound,
  kAccessKeyInactive,
  kSecurityTokenMalformed,
  kIncompleteSignature,
  kSignatureDoesNotMatch,
  kInvalidSignatureMethod,
  kInvalidTimestampFormat,
  kTimestampExpired,
  kSignatureNonceUsed,
  kActionNotFound,
  kInvalidVersion,
  kUnsupportedHttpMethod,
  kForbiddenRam,
  kThrottling,
  kInternal,
  kServiceUnavailable,
  // HTTP layer (inferred: the spec lists no code for these).
  kBadRequest,
  kRequestTimeout,
  kBodyTooLarge,
  kHeaderTooLarge,
  // CAS business rules (spec §2.4).
  kNotFoundPackage,
  kNotRemainCount,
  kNotFoundOrder,
  kOrderStateError,
  kCreateCertificateRequestFailed,
  // The certificate repository (spec/cas-repository.md §7.9).
  kNotFound,
  kParamRepeat,
  kDeleteFail,
  kCertificateFormatError,
  kPrivateKeyFormatError,
  kCertificateKeyMismatch,
  kCertificateChainNotMatch,
  kCertificateExpired,
  kCertificateAlgorithmNotSupported,
  kCertificateOverQuota,  // the account holds its cap of uploads
  // The operator API (src/ops/): no, a malformed, an unknown or a revoked operator token; an
  // account named in the path that does not exist; an idempotency key reused with another body.
  kInvalidOperatorToken,
  kAccountNotFound,
  kIdempotentParameterMismatch,
};

// Why a RAM policy refused a request (spec §2.1), rendered as AccessDeniedDetail.
struct AccessDenied {
  std::string auth_action;     // "yundun-cert:CreateCertificateRequest"
  std::string principal_type;  // "SubUser"
  std::string principal_owner_id;
  std::string principal_display_name;
  std::string policy_type;         // "AccountLevelIdentityBasedPolicy"
  std::string no_permission_type;  // "ImplicitDeny" | "ExplicitDeny"
};

// A failure: `message` is safe to send to the caller; `detail` (library text, internal state)
// only ever reaches the log.
struct Error {
  ErrorCode code;
  std::string message;
  std::string detail;
  std::optional<AccessDenied> access_denied;  // kForbiddenRam only
  // kThrottling from a rate limit: milliseconds until a retry can pass, sent as the
  // x-acs-retry-after header (spec §2.2), which the V3 SDK waits before retrying.
  std::optional<int64_t> retry_after_ms;

  Error(ErrorCode c, std::string msg, std::string det = {})
      : code(c), message(std::move(msg)), detail(std::move(det)) {}
};

// The fixed wording of spec §2.2 for the two parameter codes, so every handler names the
// parameter the same way.
Error MissingParameter(std::string_view name);
Error InvalidParameter(std::string_view name, std::string_view why);
Error InternalError(std::string detail);

}  // namespace certplan
