#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
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

// Which of an account's orders a list shows, and which page of them (ListUserCertificateOrder
// CPACK, spec §4.1). Orders are listed newest first: created_at, then id, descending. Deleted
// orders are never listed.
struct OrderQuery {
  // The stored states listed; empty: every state but kCancelled.
  std::vector<OrderStatus> statuses;
  // Orders in kCertificate are listed only when not_after_above < not_after <= not_after_at_most
  // (the ISSUED / WILLEXPIRED / EXPIRED split at a given moment). Applies to kCertificate when
  // it is named in `statuses`.
  int64_t not_after_above = std::numeric_limits<int64_t>::min();
  int64_t not_after_at_most = std::numeric_limits<int64_t>::max();
  // Non-empty: only orders with `keyword` in their stored (lower-case, comma-joined) domain
  // list, or whose id is exactly `keyword`.
  std::string keyword;
  int64_t offset = 0;  // orders skipped; any value from 0 (past the end: an empty page)
  int64_t limit = 50;  // 1 or more

  bool Windowed() const {
    return not_after_above != std::numeric_limits<int64_t>::min() ||
           not_after_at_most != std::numeric_limits<int64_t>::max();
  }
};

struct OrderPage {
  std::vector<Order> orders;
  int64_t total = 0;  // orders matching the query, all pages
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
  // Takes one unit of the order's package and stores `issued` — a new order, its id chosen by
  // the caller (cas::NewOrderId), validated and issued in one step — with its certificate, its
  // repository entry (issued.certificate) and issued.delta, in one transaction with one durable
  // commit; `created` (the call that made the order) and issued.audit (its issuance) are
  // appended in that transaction. kNotFoundPackage / kNotRemainCount as CreateOrder, and
  // kSignatureNonceUsed as CreateOrder's (a replay: nothing stored); any other
  // error (the id is taken, a store that cannot: this default) leaves nothing stored, and the
  // caller stores the order pending with CreateOrder instead.
  virtual Status CreateIssuedOrder(const Transition& issued, int64_t now,
                                   const audit::Record& created) {
    (void)issued;
    (void)now;
    (void)created;
    return Error(ErrorCode::kInternal, "This store takes no order issued at once.");
  }
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
  // Deletes orders that gave their unit back — at most `max_rows` (≥ 1) of each kind, oldest
  // first — and returns how many: cancelled or deleted ones that changed state before `before`
  // (unix seconds; they hold no certificate), then ones revoked with the unit refunded whose
  // certificate expired before `before` — with their issued certificate, repository entry and
  // revocation record (an expired certificate is on no CRL). ACME order views go with either;
  // the per-state counts follow; the plan counters do not move (these orders count nothing). A
  // client can make such orders without end (Create*, then cancel; issue, then revoke within
  // the refund window): this is their bound.
  virtual Result<int64_t> PruneReleasedOrders(int64_t before, int64_t max_rows) = 0;
  // One page of the account's orders matching `query`, and how many match in all, from one
  // snapshot. Paging and filtering happen in the store: the total comes from counters kept with
  // every write, the page's start from per-bucket counts of created_at, the page from an index
  // by account, so the cost does not grow with the account's orders — but for the stated
  // exceptions (README, "What a list costs"): a keyword reads the account's rows; a NotAfter
  // window is counted and walked over the account's issued orders' index entries. Listed orders
  // carry no certificate (certificate_pem and chain_pem empty; no list shows one): FindOrder
  // reads it.
  virtual Result<OrderPage> ListOrders(int64_t account_id, const OrderQuery& query) = 0;
};

}  // namespace certplan::cas
