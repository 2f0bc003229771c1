#include "api/action_table.h"

#include <array>

#include "api/describe_package_state.h"
#include "api/order_actions.h"
#include "api/repository_actions.h"

namespace certplan::api {
namespace {

using enum AccessLevel;

// spec/cas-api.md §3.1. When adding an Action, add its row here and nowhere else.
constexpr std::array<Action, 14> kActions = {{
    {"DescribePackageState", "yundun-cert:DescribePackageState", kGet, "*", &DescribePackageState},
    {"CreateCertificateForPackageRequest", "yundun-cert:CreateCertificateForPackageRequest",
     kCreate, "*", &CreateCertificateForPackageRequest},
    {"CreateCertificateRequest", "yundun-cert:CreateCertificateRequest", kCreate, "*",
     &CreateCertificateRequest},
    {"CreateCertificateWithCsrRequest", "yundun-cert:CreateCertificateWithCsrRequest", kCreate, "*",
     &CreateCertificateWithCsrRequest},
    {"DescribeCertificateState", "yundun-cert:DescribeCertificateState", kGet, "*",
     &DescribeCertificateState},
    {"CancelOrderRequest", "yundun-cert:CancelOrderRequest", kUpdate, "*", &CancelOrderRequest},
    {"CancelCertificateForPackageRequest", "yundun-cert:CancelCertificateForPackageRequest",
     kUpdate, "*", &CancelCertificateForPackageRequest},
    {"DeleteCertificateRequest", "yundun-cert:DeleteCertificateRequest", kDelete, "*",
     &DeleteCertificateRequest},
    {"ListUserCertificateOrder", "yundun-cert:ListUserCertificateOrder", kList, "*",
     &ListUserCertificateOrder},
    {"RenewCertificateOrderForPackageRequest", "yundun-cert:RenewCertificateOrderForPackageRequest",
     kCreate, "*", &RenewCertificateOrderForPackageRequest},
    // The certificate repository (spec/cas-repository.md §7.2).
    {"UploadUserCertificate", "yundun-cert:UploadUserCertificate", kCreate, "*",
     &UploadUserCertificate},
    {"GetUserCertificateDetail", "yundun-cert:GetUserCertificateDetail", kGet, "*",
     &GetUserCertificateDetail},
    {"DeleteUserCertificate", "yundun-cert:DeleteUserCertificate", kDelete, "*",
     &DeleteUserCertificate},
    {"ListCertificates", "yundun-cert:ListCertificates", kList, "*", &ListCertificates},
}};

}  // namespace

std::span<const Action> Actions() { return kActions; }

const Action* FindAction(std::string_view name) {
  for (const Action& a : kActions) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

std::string_view AccessLevelName(AccessLevel level) {
  switch (level) {
    case kGet: return "get";
    case kList: return "list";
    case kCreate: return "create";
    case kUpdate: return "update";
    case kDelete: return "delete";
  }
  return "get";
}

}  // namespace certplan::api
