#include "rpc/errors.h"

namespace certplan::rpc {

WireError ToWire(ErrorCode code) {
  switch (code) {  // no default: -Wswitch names any code left unmapped
    case ErrorCode::kMissingParameter: return {400, "MissingParameter"};
    case ErrorCode::kInvalidParameter: return {400, "InvalidParameter"};
    case ErrorCode::kInvalidFormat: return {400, "InvalidParameter.Format"};
    case ErrorCode::kAccessKeyNotFound: return {404, "InvalidAccessKeyId.NotFound"};
    case ErrorCode::kAccessKeyInactive: return {400, "InvalidAccessKeyId.Inactive"};
    case ErrorCode::kSecurityTokenMalformed: return {400, "InvalidSecurityToken.Malformed"};
    case ErrorCode::kIncompleteSignature: return {400, "IncompleteSignature"};
    case ErrorCode::kSignatureDoesNotMatch: return {400, "SignatureDoesNotMatch"};
    case ErrorCode::kInvalidSignatureMethod: return {400, "InvalidSignatureMethod"};
    case ErrorCode::kInvalidTimestampFormat: return {400, "InvalidTimeStamp.Format"};
    case ErrorCode::kTimestampExpired: return {400, "InvalidTimeStamp.Expired"};
    case ErrorCode::kSignatureNonceUsed: return {400, "SignatureNonceUsed"};
    case ErrorCode::kActionNotFound: return {404, "InvalidAction.NotFound"};
    case ErrorCode::kInvalidVersion: return {400, "InvalidVersion"};
    case ErrorCode::kUnsupportedHttpMethod: return {403, "UnsupportedHTTPMethod"};
    case ErrorCode::kForbiddenRam: return {403, "Forbidden.RAM"};
    case ErrorCode::kThrottling: return {400, "Throttling.User"};
    case ErrorCode::kInternal: return {500, "InternalError"};
    case ErrorCode::kServiceUnavailable: return {503, "ServiceUnavailable"};
    case ErrorCode::kBadRequest: return {400, "BadRequest"};
    case ErrorCode::kRequestTimeout: return {408, "RequestTimeout"};
    case ErrorCode::kBodyTooLarge: return {413, "RequestEntityTooLarge"};
    case ErrorCode::kHeaderTooLarge: return {431, "RequestHeaderFieldsTooLarge"};
    case ErrorCode::kNotFoundPackage: return {404, "NotFoundPackage"};
    case ErrorCode::kNotRemainCount: return {404, "NotRemainCount"};
    case ErrorCode::kNotFoundOrder: return {404, "NotFoundOrder"};
    case ErrorCode::kOrderStateError: return {403, "OrderStateError"};
    case ErrorCode::kCreateCertificateRequestFailed: return {403, "CreateCertificateRequestFailed"};
    case ErrorCode::kNotFound: return {404, "NotFound"};
    case ErrorCode::kParamRepeat: return {400, "ParamRepeat"};
    case ErrorCode::kDeleteFail: return {403, "DeleteFail"};
    case ErrorCode::kCertificateFormatError: return {400, "Certificate.FormatError"};
    case ErrorCode::kPrivateKeyFormatError: return {400, "PrivateKey.FormatError"};
    case ErrorCode::kCertificateKeyMismatch: return {400, "Certificate.KeyMismatch"};
    case ErrorCode::kCertificateChainNotMatch: return {400, "CertificateChainNotMatch"};
    case ErrorCode::kCertificateExpired: return {400, "CertificateExpired"};
    case ErrorCode::kCertificateAlgorithmNotSupported:
      return {400, "Certificate.AlgorithmNotSupported"};
    case ErrorCode::kCertificateOverQuota: return {403, "Certificate.OverQuota"};
    case ErrorCode::kInvalidOperatorToken: return {401, "InvalidOperatorToken"};
    case ErrorCode::kAccountNotFound: return {404, "InvalidAccount.NotFound"};
    case ErrorCode::kIdempotentParameterMismatch: return {409, "IdempotentParameterMismatch"};
  }
  return {500, "InternalError"};
}

}  // namespace certplan::rpc
