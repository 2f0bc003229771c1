#include "acme/staging_store.h"

#include <algorithm>

namespace certplan::acme {

Result<cas::Order> StagingStore::CreateOrder(cas::Order order, int64_t now,
                                             const audit::Record& /*audit*/) {
  std::scoped_lock lock(mu_);
  // The per-account rate: the creation times of the last hour, at most kOrdersPerHour of them.
  std::deque<int64_t>& recent = recent_[order.account_id];
  while (!recent.empty() && recent.front() <= now - 3600) recent.pop_front();
  if (recent.size() >= kOrdersPerHour) {
    return Error(ErrorCode::kThrottling, "The staging directory takes " +
                                             std::to_string(kOrdersPerHour) +
                                             " orders an hour per account; retry later.");
  }
  recent.push_back(now);
  while (orders_.size() >= kMaxOrders) DropOldest();
  order.id = ++next_id_;
  order.holds_unit = false;  // staging never spends units
  orders_[order.id] = Entry{order, std::nullopt, ""};
  arrival_.push_back(order.id);
  return order;
}

void StagingStore::DropOldest() {
  while (!arrival_.empty()) {
    const int64_t id = arrival_.front();
    arrival_.pop_front();
    if (orders_.erase(id) > 0) return;
  }
}

Result<std::optional<cas::Order>> StagingStore::FindOrder(int64_t account_id, int64_t order_id) {
  std::scoped_lock lock(mu_);
  auto it = orders_.find(order_id);
  if (it == orders_.end() || (account_id != 0 && it->second.order.account_id != account_id)) {
    return std::optional<cas::Order>();
  }
  return std::optional<cas::Order>(it->second.order);
}

Status StagingStore::ApplyTransition(const cas::Transition& t, cas::OrderStatus expected) {
  std::scoped_lock lock(mu_);
  auto it = orders_.find(t.order.id);
  if (it == orders_.end() || it->second.order.status != expected) {
    return Error(ErrorCode::kOrderStateError, "The order changed meanwhile.");
  }
  it->second.order = t.order;
  it->second.order.holds_unit = false;
  it->second.order.counts_issued = false;
  if (t.certificate) it->second.serial = t.certificate->serial;
  return Ok{};
}

std::vector<Status> StagingStore::ApplyTransitions(
    const std::vector<cas::PendingTransition>& batch) {
  std::vector<Status> out;
  for (const cas::PendingTransition& p : batch)
    out.push_back(ApplyTransition(p.transition, p.expected));
  return out;
}

Result<std::vector<cas::Order>> StagingStore::DueOrders(int64_t, int) {
  // No worker drives staging orders: an expired one is shown invalid and ages out.
  return std::vector<cas::Order>();
}

Result<cas::OrderPage> StagingStore::ListOrders(int64_t, const cas::OrderQuery&) {
  return cas::OrderPage{};  // staging orders never appear in the CAS lists
}

Status StagingStore::InsertAcmeOrder(const AcmeOrder& order) {
  std::scoped_lock lock(mu_);
  auto it = orders_.find(order.order_id);
  if (it == orders_.end()) return Error(ErrorCode::kInternal, "staging order dropped");
  it->second.view = order;
  return Ok{};
}

Result<std::optional<AcmeOrder>> StagingStore::FindAcmeOrder(int64_t order_id) {
  std::scoped_lock lock(mu_);
  auto it = orders_.find(order_id);
  if (it == orders_.end()) return std::optional<AcmeOrder>();
  return it->second.view;
}

Status StagingStore::UpdateAcmeOrderAuthz(int64_t order_id, std::string_view authz_json) {
  std::scoped_lock lock(mu_);
  auto it = orders_.find(order_id);
  if (it != orders_.end() && it->second.view) it->second.view->authz_json = authz_json;
  return Ok{};
}

Result<std::vector<int64_t>> StagingStore::AcmeOrdersWithNames(int64_t acme_account_id,
                                                               std::string_view identifiers_key,
                                                               int limit) {
  std::scoped_lock lock(mu_);
  std::vector<int64_t> ids;
  for (auto it = orders_.rbegin(); it != orders_.rend() && static_cast<int>(ids.size()) < limit;
       ++it) {
    const std::optional<AcmeOrder>& v = it->second.view;
    if (v && v->acme_account_id == acme_account_id && v->identifiers_key == identifiers_key) {
      ids.push_back(it->first);
    }
  }
  return ids;
}

Result<std::vector<int64_t>> StagingStore::AcmeAccountOrders(int64_t acme_account_id, int limit) {
  std::scoped_lock lock(mu_);
  std::vector<int64_t> ids;
  for (auto it = orders_.rbegin(); it != orders_.rend() && static_cast<int>(ids.size()) < limit;
       ++it) {
    if (it->second.view && it->second.view->acme_account_id == acme_account_id) {
      ids.push_back(it->first);
    }
  }
  return ids;
}

Result<std::optional<int64_t>> StagingStore::AcmeOrderIdBySerial(std::string_view serial) {
  std::scoped_lock lock(mu_);
  for (const auto& [id, e] : orders_) {
    if (!e.serial.empty() && e.serial == serial) return std::optional<int64_t>(id);
  }
  return std::optional<int64_t>();
}

size_t StagingStore::size() {
  std::scoped_lock lock(mu_);
  return orders_.size();
}

}  // namespace certplan::acme
