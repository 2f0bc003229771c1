#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cas/counter_cache.h"
#include "cas/domain_checker.h"
#include "cas/order.h"
#include "cas/order_store.h"
#include "cas/products.h"
#include "core/audit.h"
#include "core/clock.h"
#include "core/result.h"
#include "pki/authority.h"
#include "pki/secret_box.h"

namespace certplan::cas {

// A Create* call after wire decoding; Orders checks every rule.
struct Application {
  OrderOrigin origin = OrderOrigin::kForPackage;
  std::string product_code;  // empty: the default code (ForPackage only)
  std::string domain;        // the Domain parameter as sent (comma-separated)
  std::string csr_pem;
  std::optional<ValidateType> validate_type;  // absent: DNS
  Contact contact;
  std::string tags_json = "[]";
};

struct OrderSettings {
  int64_t validation_deadline_seconds = 72 * 3600;
  int64_t retry_initial_seconds = 10;  // doubles per attempt …
  int64_t retry_max_seconds = 600;     // … up to this
  bool auto_approve = false;           // validation.mode = "auto"
  // With auto_approve, on a node that issues (validation.worker): an order with a CSR is
  // validated and signed before it is stored and stored issued — order, certificate and
  // repository entry in one transaction — instead of waiting for the worker. A CA refusal (or
  // a taken id) stores it pending as usual, for the worker.
  bool issue_at_once = false;
};

// Certificate orders: applying (quota taken atomically), their life through validation and
// issuance, cancellation, deletion, revocation, renewal (spec §3.3, §4.2). An order of another
// account is indistinguishable from a missing one (kNotFoundOrder). Thread-safe.
//
// Every state-changing call names its caller (`by`: a CAS AccessKey, an ACME account, an
// operator token …); a call that succeeds stores its audit record (object: the OrderId) in the
// transaction of the change. A call that fails writes nothing: its caller records the refusal
// (ops::AuditLog). The worker's issuance and failure are recorded as principal "worker".
class Orders {
 public:
  Orders(OrderStore& store, const pki::Authority& ca, const pki::SecretBox& box, const Clock& clock,
         OrderSettings settings)
      : store_(store), ca_(ca), box_(box), clock_(clock), settings_(settings) {}

  // Called after each new order is stored (the order worker wakes up).
  void OnNewOrder(std::function<void()> callback) { on_new_order_ = std::move(callback); }
  // Every change this object commits to an account's counters (a new order takes a unit, a
  // transition may give it back or issue) invalidates them in `cache` before it returns.
  void InvalidatesCounters(CounterCache* cache) { counters_ = cache; }
  // Called after each revocation is committed (the CRL is signed again). Set before serving.
  void OnRevoked(std::function<void()> callback) { on_revoked_ = std::move(callback); }

  // Errors: kMissingParameter/kInvalidParameter (bad input), kCreateCertificateRequestFailed
  // (CSR), kNotFoundPackage/kNotRemainCount (quota) — and then nothing changed.
  Result<Order> Apply(int64_t account_id, const Application& application, const audit::Actor& by);
  Result<Order> Describe(int64_t account_id, int64_t order_id);
  // The PKCS#8 PEM of a key certplan generated for an issued order, else empty.
  Result<std::string> PrivateKeyOf(const Order& order) const;
  Status Cancel(int64_t account_id, int64_t order_id, const audit::Actor& by);
  Status Delete(int64_t account_id, int64_t order_id, const audit::Actor& by);
  Status CancelForPackage(int64_t account_id, int64_t order_id, const audit::Actor& by);
  // The record names the new order.
  Result<Order> Renew(int64_t account_id, int64_t order_id, const std::string& csr_pem,
                      const std::string& tags_json, const audit::Actor& by);
  Result<OrderPage> List(int64_t account_id, const OrderQuery& query);

  // The ACME front (RFC 8555 orders mapped onto certplan orders); `by` is the ACME account
  // (audit::PrincipalType::kAcme). ApplyAcme takes one unit as Apply does, for the identifiers
  // as sent: at most 5 names, the product's single/wildcard rule with one allowance (a wildcard
  // product may carry `*.example.com` with its base name `example.com`). kInvalidParameter
  // (names) or kNotFoundPackage/kNotRemainCount (quota) — and then nothing changed. The order's
  // validation deadline is its ACME `expires`.
  Result<Order> ApplyAcme(int64_t account_id, std::string_view product_code,
                          const std::vector<std::string>& identifiers, const audit::Actor& by);
  // Every authorization is valid: domain_verify → process (where it waits for finalize).
  Status AcmeAuthorized(int64_t order_id, const audit::Actor& by);
  // An authorization failed: the pending order is cancelled, unit back.
  Status AcmeAbandon(int64_t order_id, std::string reason, const audit::Actor& by);
  // Issues for `csr_pem` (CN optional) when the order is in process: the CSR's names (CN and
  // DNS SANs, lower-cased, without duplicates) must be the order's names.
  // kCreateCertificateRequestFailed for a bad CSR, kOrderStateError when not in process; the
  // order stays as it was then.
  Result<Order> AcmeFinalize(int64_t order_id, const std::string& csr_pem, const audit::Actor& by);

  // Background work: moves every due pending order one step (validation, issuance).
  // Returns how many orders were looked at.
  Result<int> AdvanceDue(DomainChecker& checker, int limit);

  // Housekeeping: deletes the orders that gave their unit back — cancelled or deleted more than
  // `retention_days` (≥ 1) ago, revoked with the unit refunded and expired more than that long
  // ago (with their certificate, entry and revocation record) — in batches of `batch` rows of
  // each kind so no delete holds the writer long (OrderStore::PruneReleasedOrders); how many it
  // deleted. Afterwards such an order is NotFoundOrder, like one that never existed.
  // kInvalidParameter for retention_days < 1.
  Result<int64_t> PruneReleased(int64_t retention_days, int64_t batch = 5000);

 private:
  Result<Order> Find(int64_t account_id, int64_t order_id);
  Status Commit(Result<Transition> transition, OrderStatus expected, const audit::Actor& by);
  Result<std::vector<std::string>> NamesFor(const Application& a, const Product& product);
  Result<Order> Store(Order order, const audit::Actor& by);
  // issue_at_once: the order issued and stored in one step; nullopt when it must be stored
  // pending instead (the CA refused, or the store could not take it issued).
  std::optional<Result<Order>> StoreIssued(const Order& order, int64_t now, const audit::Actor& by);
  Status Validate(const Order& order, DomainChecker& checker);
  // The order's next step, worked out in memory, for the background batch to store: issuance
  // (key made when certplan owns it), or validation followed by issuance, or a back-off.
  Result<Transition> NextStep(Order order, DomainChecker& checker);
  Result<Transition> PassAndIssue(const Order& order);
  Result<Transition> PrepareIssue(const Order& order);
  void DeferAfterFailure(int64_t order_id);

  OrderStore& store_;
  const pki::Authority& ca_;
  const pki::SecretBox& box_;
  const Clock& clock_;
  OrderSettings settings_;
  std::function<void()> on_new_order_;
  CounterCache* counters_ = nullptr;
  std::function<void()> on_revoked_;
};

// The query listing the orders whose ListStatusName at `now` is `list_status` (one of spec
// §4.1's values); nullopt for a value no order ever has (NOTACTIVATED) or an unknown one.
std::optional<OrderQuery> OrderQueryForListStatus(std::string_view list_status, int64_t now);

// 64 characters: the creation time YYYYMMDDhhmmss (UTC) and 50 random [0-9a-z] (spec §4.3).
std::string NewValidationToken(int64_t now);

}  // namespace certplan::cas
