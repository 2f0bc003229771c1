#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "cas/order.h"
#include "core/audit.h"
#include "core/result.h"

namespace certplan::cas {

// One step of a batch of order transitions: the transition and the state the stored order must
// still be in for it to apply.
struct PendingTransition {
  Transition transition;
  OrderStatus expected = OrderStatus::kDomainVerify;
};

// The orders Orders needs from storage (a port: store/ implements it, cli/ wires it). Each
// method is one transaction; implementations are thread-safe and return kInternal (detail: the
// database's text) or kServiceUnavailable (database unreachable) on storage failures. A write
// is acknowledged (returns) only once its commit is durable.
class OrderStore {
 public:
  virtual ~OrderStore() = default;

  // Takes one unit of the order's package and stores the order in one transaction, assigning
  // its id (unique, below 2^53): kNotFoundPackage when no plan is in force at `now`,
  // kNotRemainCount when UsedCount = TotalCount; nothing changes then. `audit` (object_id: the
  // order's id) is stored in the same transaction.
  virtual Result<Order> CreateOrder(Order order, int64_t now, const audit::Record& audit) = 0;
  // The order if it exists, is not deleted and belongs to `account_id` (0: any account).
  virtual Result<std::optional<Order>> FindOrder(int64_t account_id, int64_t order_id) = 0;
  // Stores `t.order`, applies `t.delta` to its package counters and appends `t.audit` (when
  // set), atomically, provided the stored order is still in `expected`; kOrderStateError when
  // it moved meanwhile (and nothing, the audit record included, is written).
  virtual Status ApplyTransition(const Transition& t, OrderStatus expected) = 0;
  // Applies each as ApplyTransition would, all in one transaction with one durable commit (the
  // background worker's batches): the outcome of each, in order. A step whose order moved
  // meanwhile gets kOrderStateError and the others still apply; a storage failure fails all.
  virtual std::vector<Status> ApplyTransitions(const std::vector<PendingTransition>& batch) = 0;
  // Pending orders (domain_verify, process) whose next check is due at `now`, oldest first.
  virtual Result<std::vector<Order>> DueOrders(int64_t now, int limit) = 0;
  // The account's orders that are not deleted, newest first, optionally only those with
  // `keyword` in a domain or the order id.
  virtual Result<std::vector<Order>> ListOrders(int64_t account_id, std::string_view keyword) = 0;
};

}  // namespace certplan::cas
