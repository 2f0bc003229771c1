#include <algorithm>
#include <ctime>

#include "api/repository_actions.h"

namespace certplan::api::repository_view {
namespace {

constexpr int64_t kChinaOffsetSeconds = 8 * 3600;
constexpr std::string_view kRegion = "cn-hangzhou";

}  // namespace

std::string Date(int64_t seconds) {
  // yyyy-MM-dd has four digits of year: a NotAfter of 9999-12-31 UTC stays in 9999.
  constexpr int64_t kLastDay = 253402214400;  // 9999-12-31T00:00:00Z
  const std::time_t t = static_cast<std::time_t>(std::min(seconds + kChinaOffsetSeconds, kLastDay));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

std::string Sans(const cas::Certificate& c) {
  std::string out;
  for (const std::string& n : c.sans) out += (out.empty() ? "" : ",") + n;
  return out;
}

std::string CertIdentifier(const cas::Certificate& c) {
  return std::to_string(c.id) + "-" + std::string(kRegion);
}

rpc::Reply CertOrderItem(const cas::Certificate& c, int64_t now) {
  rpc::Reply item = {{"CertificateId", c.id},
                     {"Name", c.name},
                     {"CommonName", c.common_name},
                     {"Sans", Sans(c)},
                     {"Issuer", c.issuer},
                     {"SerialNo", c.serial},
                     {"Fingerprint", c.fingerprint},
                     {"Sha2", c.sha256},
                     {"StartDate", Date(c.not_before)},
                     {"EndDate", Date(c.not_after)},
                     {"Expired", now >= c.not_after},
                     {"Upload", c.upload},
                     {"ResourceGroupId", c.resource_group_id},
                     {"InstanceId", c.instance_id}};
  // Subject fields only when the certificate has them (§7.4).
  if (!c.org_name.empty()) item["OrgName"] = c.org_name;
  if (!c.province.empty()) item["Province"] = c.province;
  if (!c.city.empty()) item["City"] = c.city;
  if (!c.country.empty()) item["Country"] = c.country;
  return item;
}

}  // namespace certplan::api::repository_view
