#include "cas/plans.h"

#include "cas/products.h"

namespace certplan::cas {
namespace {

Result<const Product*> KnownProduct(std::string_view code) {
  const Product* product = FindProduct(code);
  if (!product) {
    return InvalidParameter("ProductCode",
                            "it must be one of the certificate specifications of "
                            "DescribePackageState (e.g. digicert-free-1-free).");
  }
  return product;
}

}  // namespace

Result<PackageState> Plans::Describe(int64_t account_id, std::string_view product_code) {
  Result<const Product*> product =
      KnownProduct(product_code.empty() ? kDefaultProductCode : product_code);
  if (!product) return product.error();
  Result<PackageCounters> counters =
      store_.GetPackageCounters(account_id, (*product)->code, clock_.NowSeconds());
  if (!counters) return counters.error();
  return PackageState{(*product)->code, counters->total, counters->used, counters->issued};
}

Result<Plan> Plans::Grant(int64_t account_id, std::string_view product_code, int64_t count,
                          std::optional<int64_t> expires_at, const audit::Actor& by) {
  Result<const Product*> product = KnownProduct(product_code);
  if (!product) return product.error();
  if (count < 1 || count > 1'000'000) {
    return InvalidParameter("Count", "it must be between 1 and 1000000.");
  }
  const int64_t now = clock_.NowSeconds();
  if (expires_at && *expires_at <= now) {
    return InvalidParameter("Expires", "it must lie in the future.");
  }
  Result<bool> account = store_.AccountExists(account_id);
  if (!account) return account.error();
  if (!*account) return InvalidParameter("AccountId", "no such account.");
  Plan plan;
  plan.account_id = account_id;
  plan.product_code = (*product)->code;
  plan.count = count;
  plan.granted_at = now;
  plan.expires_at = expires_at;
  return store_.GrantPlan(plan, audit::Succeeded(by, now, account_id, "PlanId"));
}

Result<std::vector<Plan>> Plans::List(int64_t account_id) { return store_.ListPlans(account_id); }

}  // namespace certplan::cas
