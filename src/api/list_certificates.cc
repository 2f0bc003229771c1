#include <limits>

#include "api/repository_actions.h"
#include "cas/products.h"
#include "core/checked.h"

namespace certplan::api {
namespace {

std::string_view StatusName(cas::CertificateStatus s) {
  switch (s) {
    case cas::CertificateStatus::kIssued: return "issued";
    case cas::CertificateStatus::kWillExpire: return "willExpire";
    case cas::CertificateStatus::kExpired: return "expired";
    case cas::CertificateStatus::kRevoked: return "revoked";
  }
  return "issued";
}

// An issued entry's CertificateSource (§7.7): TEST for the free ProductCodes, BUY for paid. Read
// from the entry itself (its order's code is copied onto it at issuance): a page is one query.
std::string_view SourceOf(const cas::Certificate& c) {
  if (c.upload) return "UPLOAD";
  const cas::Product* p = cas::FindProduct(c.product_code);
  return p && p->free ? "TEST" : "BUY";
}

}  // namespace

Result<rpc::Reply> ListCertificates(Context& ctx, const rpc::Params& params) {
  cas::CertificateQuery query;
  if (std::optional<std::string_view> source = params.Get("CertificateSource")) {
    if (*source == "UPLOAD") {
      query.upload = true;
    } else if (*source == "BUY" || *source == "TEST") {
      query.upload = false;  // R: both list the issued entries (free and paid alike)
    } else {
      return InvalidParameter("CertificateSource", "use BUY, TEST or UPLOAD.");
    }
  }
  if (std::optional<std::string_view> status = params.Get("CertificateStatus")) {
    constexpr cas::CertificateStatus kAll[] = {
        cas::CertificateStatus::kIssued, cas::CertificateStatus::kWillExpire,
        cas::CertificateStatus::kExpired, cas::CertificateStatus::kRevoked};
    for (cas::CertificateStatus s : kAll) {
      if (StatusName(s) == *status) query.statuses.push_back(s);
    }
    if (query.statuses.empty()) {
      return InvalidParameter("CertificateStatus", "use issued, willExpire, expired or revoked.");
    }
  }
  Result<std::optional<int64_t>> page =
      params.GetInt64In("CurrentPage", 1, std::numeric_limits<int32_t>::max());
  if (!page) return page.error();
  Result<std::optional<int64_t>> size = params.GetInt64In("ShowSize", 1, 100);
  if (!size) return size.error();
  const int64_t current = page->value_or(1), show = size->value_or(10);
  query.keyword = std::string(params.Get("Keyword").value_or(""));
  query.limit = show;
  query.offset = CheckedMul(current - 1, show).value_or(std::numeric_limits<int64_t>::max());
  // R: InstanceId narrows like a keyword on the resource id when no Keyword is given.
  if (query.keyword.empty()) query.keyword = std::string(params.Get("InstanceId").value_or(""));
  Result<cas::CertificatePage> listed =
      ctx.services.certificates.List(ctx.principal.account_id, query);
  if (!listed) return listed.error();
  const int64_t now = ctx.clock.NowSeconds();
  rpc::Reply items = rpc::Reply::array();
  for (const cas::Certificate& c : listed->entries) {
    // certd's "delete expiring" pages on this list and hands CertificateId on to
    // DeleteUserCertificate: the id travels as a string here (the Go model's type).
    items.push_back({{"CertificateId", std::to_string(c.id)},
                     {"CertificateName", c.name},
                     {"CertIdentifier", repository_view::CertIdentifier(c)},
                     {"CertificateSource", SourceOf(c)},
                     {"CertificateStatus", StatusName(cas::StatusOf(c, now))},
                     {"CommonName", c.common_name},
                     {"Domain", repository_view::Sans(c)},
                     {"SubjectAlternativeNames", c.sans},
                     {"Algorithm", c.algorithm},
                     {"KeySize", c.key_bits},
                     {"NotBefore", c.not_before * 1000},
                     {"NotAfter", c.not_after * 1000},
                     {"Serial", c.serial},
                     {"FingerPrint", c.fingerprint},
                     {"Issuer", c.issuer},
                     {"InstanceId", c.instance_id},
                     {"ExistPrivateKey", c.upload || c.has_key},
                     {"UsingProductList", rpc::Reply::array()},
                     {"ResourceGroupId", c.resource_group_id}});
  }
  return rpc::Reply{{"CertificateList", std::move(items)},
                    {"CurrentPage", current},
                    {"ShowSize", show},
                    {"TotalCount", listed->total}};
}

}  // namespace certplan::api
