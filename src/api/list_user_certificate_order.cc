#include <algorithm>
#include <limits>
#include <set>

#include "api/order_actions.h"
#include "api/repository_actions.h"
#include "cas/domain_names.h"
#include "cas/products.h"
#include "core/checked.h"

namespace certplan::api {
namespace {

constexpr std::string_view kStatuses[] = {"PAYED",        "CHECKING",    "CHECKED_FAIL",
                                          "ISSUED",       "WILLEXPIRED", "EXPIRED",
                                          "NOTACTIVATED", "REVOKED",     "CANCELLED"};

struct Paging {
  int64_t page = 1;
  int64_t size = 50;
  int64_t first = 0;  // index of the page's first item; may lie past any list (empty page)
};

// ShowSize 1…1000 (spec §3.4: no documented maximum and a published client sends 500);
// CurrentPage any int64 from 1. A page whose first item lies past int64 is past every list: it
// is empty, never a wrapped-around earlier page.
constexpr int64_t kMaxShowSize = 1000;

Result<Paging> DecodePaging(const rpc::Params& params) {
  Paging p;
  Result<std::optional<int64_t>> page =
      params.GetInt64In("CurrentPage", 1, std::numeric_limits<int64_t>::max());
  if (!page) return page.error();
  Result<std::optional<int64_t>> size = params.GetInt64In("ShowSize", 1, kMaxShowSize);
  if (!size) return size.error();
  p.page = page->value_or(1);
  p.size = size->value_or(50);
  p.first = CheckedMul(p.page - 1, p.size).value_or(std::numeric_limits<int64_t>::max());
  return p;
}

std::string_view DomainType(const cas::Order& o) {
  const auto wild = std::count_if(o.domains.begin(), o.domains.end(),
                                  [](const std::string& d) { return cas::IsWildcard(d); });
  if (wild == 0) return o.domains.size() == 1 ? "ONE" : "MULTIPLE";
  if (static_cast<size_t>(wild) == o.domains.size()) return wild == 1 ? "WILDCARD" : "M_WILDCARD";
  return "MIX";
}

std::string Joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ",") + n;
  return out;
}

rpc::Reply PackageItem(const cas::Order& o, std::string_view status) {
  const cas::Product* p = cas::FindProduct(o.product_code);
  const auto wild = std::count_if(o.domains.begin(), o.domains.end(),
                                  [](const std::string& d) { return cas::IsWildcard(d); });
  rpc::Reply item = {
      {"OrderId", o.id},
      {"InstanceId", "cas-" + std::to_string(o.id)},
      {"ProductCode", o.product_code},
      {"ProductName",
       p ? std::string(p->brand) + (p->level == cas::ValidationLevel::kDv ? " DV" : " OV") : ""},
      {"Domain", Joined(o.domains)},
      {"DomainCount", o.domains.size()},
      {"WildDomainCount", wild},
      {"DomainType", DomainType(o)},
      {"CertType",
       p && p->free ? "FREE" : (p && p->level == cas::ValidationLevel::kOv ? "OV" : "DV")},
      {"RootBrand", p ? p->brand : ""},
      {"Status", status},
      {"SourceType", "cpack"},
      {"BuyDate", o.created_at * 1000},
      {"TrusteeStatus", "unTrustee"}};
  if (o.origin == cas::OrderOrigin::kGeneratedKey || o.csr_pem.empty()) item["Algorithm"] = "RSA";
  if (o.issued_at > 0) {
    item["CertStartTime"] = o.not_before * 1000;
    item["CertEndTime"] = o.not_after * 1000;
  }
  return item;
}

}  // namespace

Result<rpc::Reply> ListUserCertificateOrder(Context& ctx, const rpc::Params& params) {
  const std::string_view type = params.Get("OrderType").value_or("CPACK");
  if (type != "CPACK" && type != "BUY" && type != "CERT" && type != "UPLOAD") {
    return InvalidParameter("OrderType", "use CPACK, BUY, CERT or UPLOAD.");
  }
  Result<Paging> paging = DecodePaging(params);
  if (!paging) return paging.error();
  std::set<std::string_view> wanted;
  if (std::optional<std::string_view> status = params.Get("Status")) {
    if (std::find(std::begin(kStatuses), std::end(kStatuses), *status) == std::end(kStatuses)) {
      return InvalidParameter("Status", "not a certificate status.");
    }
    wanted.insert(*status);
  } else if (type == "CERT" || type == "UPLOAD") {
    wanted = {"ISSUED", "WILLEXPIRED"};
  }
  const int64_t now = ctx.clock.NowSeconds();
  rpc::Reply items = rpc::Reply::array();
  int64_t total = 0;
  if (type == "CERT" || type == "UPLOAD") {
    // The repository (spec/cas-repository.md §7.6): CERT lists issued and uploaded entries,
    // UPLOAD uploads only; of the statuses only ISSUED, WILLEXPIRED and EXPIRED apply, the
    // others list nothing.
    cas::CertificateQuery query;
    if (type == "UPLOAD") query.upload = true;
    for (std::string_view status : wanted) {
      if (status == "ISSUED") query.statuses.push_back(cas::CertificateStatus::kIssued);
      if (status == "WILLEXPIRED") query.statuses.push_back(cas::CertificateStatus::kWillExpire);
      if (status == "EXPIRED") query.statuses.push_back(cas::CertificateStatus::kExpired);
    }
    query.keyword = std::string(params.Get("Keyword").value_or(""));
    query.offset = paging->first;
    query.limit = paging->size;
    if (!query.statuses.empty()) {
      Result<cas::CertificatePage> page =
          ctx.services.certificates.List(ctx.principal.account_id, query);
      if (!page) return page.error();
      for (const cas::Certificate& c : page->entries) {
        items.push_back(repository_view::CertOrderItem(c, now));
      }
      total = page->total;
    }
  }
  if (type == "CPACK") {
    // Filtered and paged in the store (issue #12 fault 9): one page of rows is read, whatever
    // the number of the account's orders.
    std::optional<cas::OrderQuery> query = cas::OrderQuery{};
    if (!wanted.empty()) query = cas::OrderQueryForListStatus(*wanted.begin(), now);
    if (query) {  // else a status no order has (NOTACTIVATED): nothing listed
      query->keyword = std::string(params.Get("Keyword").value_or(""));
      query->offset = paging->first;
      query->limit = paging->size;
      Result<cas::OrderPage> page = ctx.services.orders.List(ctx.principal.account_id, *query);
      if (!page) return page.error();
      for (const cas::Order& o : page->orders) {
        items.push_back(PackageItem(o, cas::ListStatusName(o, now)));
      }
      total = page->total;
    }
  }
  // BUY (plan purchases) holds nothing in certplan.
  rpc::Reply reply = rpc::Reply::object();
  reply["CertificateOrderList"] = std::move(items);
  reply["CurrentPage"] = paging->page;
  reply["ShowSize"] = paging->size;
  reply["TotalCount"] = total;
  return reply;
}

}  // namespace certplan::api
