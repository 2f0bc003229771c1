#include "core/error.h"

namespace certplan {

Error MissingParameter(std::string_view name) {
  std::string msg = "The input parameter \"";
  msg += name;
  msg += "\" that is mandatory for processing this request is not supplied.";
  return Error(ErrorCode::kMissingParameter, std::move(msg));
}

Error InvalidParameter(std::string_view name, std::string_view why) {
  std::string msg = "The specified parameter \"";
  msg += name;
  msg += "\" is not valid: ";
  msg += why;
  return Error(ErrorCode::kInvalidParameter, std::move(msg));
}

Error InternalError(std::string detail) {
  return Error(ErrorCode::kInternal, "The request processing has failed due to some unknown error.",
               std::move(detail));
}

}  // namespace certplan
