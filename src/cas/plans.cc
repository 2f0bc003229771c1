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
  const std::string_view code = (*product)->code;
  const int64_t now = clock_.NowSeconds();
  // Captures two pointers, so the std::function holding it needs no allocation.
  const struct {
    int64_t account_id;
    std::string_view code;
    int64_t now;
  } query{account_id, code, now};
  auto read = [this, &query] {
    return store_.GetPackageCounters(query.account_id, query.code, query.now);
  };
  Result<PackageCounters> counters =
      counters_ ? counters_->Get(account_id, code, now, read) : read();
  if (!counters) return counters.error();
  return PackageState{(*product)->code, counters->total, counters->used, counters->issued};
}

Result<Plan> Plans::Grant(int64_t account_id, std::string_view product_code, int64_t count,
                          std::optional<int64_t> expires_at, const audit::Actor& by) {
  Result<Plan> plan = Prepare(account_id, product_code, count, expires_at);
  if (!plan) return plan.error();
  Result<Plan> granted =
      store_.GrantPlan(*plan, audit::Succeeded(by, plan->granted_at, account_id, "PlanId"));
  NoteGranted(account_id);
  return granted;
}

void Plans::NoteGranted(int64_t account_id) {
  if (counters_) counters_->Invalidate(account_id);
}

Result<Plan> Plans::Prepare(int64_t account_id, std::string_view product_code, int64_t count,
                            std::optional<int64_t> expires_at) {
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
  return plan;
}

Result<std::vector<Plan>> Plans::List(int64_t account_id) {
  // An unknown account is said so, as Grant does, rather than listed as holding nothing.
  Result<bool> account = store_.AccountExists(account_id);
  if (!account) return account.error();
  if (!*account) return InvalidParameter("AccountId", "no such account.");
  return store_.ListPlans(account_id);
}

}  // namespace certplan::cas
