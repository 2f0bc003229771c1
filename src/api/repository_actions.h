#pragma once

#include <string>

#include "api/context.h"
#include "cas/certificate.h"
#include "core/result.h"
#include "rpc/params.h"
#include "rpc/reply.h"

namespace certplan::api {

// The certificate repository Actions (spec/cas-repository.md §7). Errors as cas::Certificates
// documents; CertId decoding: kMissingParameter, kInvalidParameter (not a positive integer).
// CertId (number) and ResourceId.
Result<rpc::Reply> UploadUserCertificate(Context& ctx, const rpc::Params& params);
// The fields of §7.4; CertFilter=true leaves out Cert and Key.
Result<rpc::Reply> GetUserCertificateDetail(Context& ctx, const rpc::Params& params);
// RequestId only.
Result<rpc::Reply> DeleteUserCertificate(Context& ctx, const rpc::Params& params);
// CertificateList (§7.7), CurrentPage, ShowSize (1–100, default 10), TotalCount.
Result<rpc::Reply> ListCertificates(Context& ctx, const rpc::Params& params);

// CertId as GetUserCertificateDetail and DeleteUserCertificate take it: kMissingParameter,
// kInvalidParameter when not a positive integer.
Result<int64_t> DecodeCertId(const rpc::Params& params);

// What both lists and the detail share (§7.4, §7.8).
namespace repository_view {
// `yyyy-MM-dd` of an epoch-seconds time in UTC+8 (the China site's calendar, §7.4).
std::string Date(int64_t seconds);
// SANs joined with commas, no spaces.
std::string Sans(const cas::Certificate& c);
// A ListUserCertificateOrder item for OrderType CERT/UPLOAD (§7.6).
rpc::Reply CertOrderItem(const cas::Certificate& c, int64_t now);
// `<CertId>-<region>` (§7.1).
std::string CertIdentifier(const cas::Certificate& c);
}  // namespace repository_view

}  // namespace certplan::api
