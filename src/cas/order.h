#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cas/certificate.h"
#include "cas/revocation.h"
#include "core/audit.h"
#include "core/result.h"

namespace certplan::cas {

// The states of spec/cas-api.md §4.1. kDeleted orders are never shown; like kCancelled ones that
// gave their unit back, they are deleted after limits.released_order_retention_days.
enum class OrderStatus {
  kDomainVerify,
  kProcess,
  kCertificate,
  kVerifyFail,
  kPayed,
  kCancelled,
  kRevoked,
  kDeleted,
};

enum class ValidateType { kDns, kFile };

// Which operation created the order; decides where the key comes from. kAcme orders come from
// the ACME front (acme/): they wait in process for finalize instead of being signed by the
// worker, their ACME `expires` is the validation deadline, and a failed or expired one is
// cancelled with its unit back instead of going to verify_fail.
enum class OrderOrigin { kForPackage, kGeneratedKey, kWithCsr, kRenewal, kAcme };

struct Contact {
  std::string username;
  std::string phone;
  std::string email;
  std::string company_name;
};

// Days after issuance within which a revocation gives the unit back (spec §3.3).
inline constexpr int64_t kRefundWindowSeconds = 30 * 86400;
// A certificate within this long of NotAfter is WILLEXPIRED and may be renewed (spec §4.1).
inline constexpr int64_t kWillExpireSeconds = 30 * 86400;

// One certificate application and everything that happened to it.
struct Order {
  int64_t id = 0;
  int64_t account_id = 0;
  std::string product_code;
  OrderOrigin origin = OrderOrigin::kForPackage;
  OrderStatus status = OrderStatus::kDomainVerify;
  ValidateType validate_type = ValidateType::kDns;
  std::vector<std::string> domains;  // lower-case; domains[0] is the common name
  std::string token;                 // the validation token, shared by all names
  std::string csr_pem;               // empty: certplan makes the key at issuance
  std::string sealed_private_key;  // PKCS#8 PEM sealed under the master key, when certplan made it
  std::string certificate_pem;     // leaf
  std::string chain_pem;           // intermediates
  std::string serial_hex;
  int64_t not_before = 0;
  int64_t not_after = 0;
  int64_t issued_at = 0;
  bool holds_unit = true;      // counted in UsedCount
  bool counts_issued = false;  // counted in IssuedCount
  Contact contact;
  std::string tags_json;  // [{"Key":…,"Value":…}]
  int64_t created_at = 0;
  int64_t updated_at = 0;
  int64_t validation_deadline = 0;
  int64_t next_check_at = 0;
  int64_t attempts = 0;
  int64_t renewed_from = 0;
  std::string failure_reason;
};

// A new order id: 16 digits, below kFirstUploadCertId (so below 2^53, which the Node SDK reads
// exactly: spec §1.5), ordered by the millisecond it was made: OrderIdAt(now in ms, 12 bits
// drawn at random, never twice in one millisecond of this process). Ids made later sort after,
// so a new order's rows go to the few pages of each B-tree keyed by it (the orders table, its
// certificate, its repository entry) that the batch's other orders also write, instead of to a
// random page each (docs/PERFORMANCE.md, "Time-ordered OrderIds"). An id tells when it was made,
// to the millisecond; its low 12 bits tell nothing (not how many orders the node made between
// two of yours), and every lookup is scoped to its account: another account's id answers
// NotFoundOrder like one that does not exist. Uniqueness comes from the store's primary key:
// two nodes clash when both draw the same 12 bits in the same millisecond (1 in 4,096 of the
// milliseconds both make an order in); callers retry with another id, and an order issued at
// once is stored pending instead (Orders::StoreIssued) and issued by the worker.
int64_t NewOrderId();

// The id made at `unix_ms` (milliseconds since 1970) with `low` (its 12 low bits): 10^15 + (ms
// since kOrderIdEpochMs, modulo what fits) * 4096 + low % 4096. Before the epoch counts as the
// epoch; the span lasts ~62 years, then wraps to the range's start (still in range).
inline constexpr int64_t kOrderIdEpochMs = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
int64_t OrderIdAt(int64_t unix_ms, uint32_t low);

// The context a key certplan made for an order is sealed under (pki::SecretBox): binds the
// sealed key to its order.
inline std::string OrderKeyContext(int64_t order_id) { return "order:" + std::to_string(order_id); }

// How one transition moves the package counters.
struct CounterDelta {
  int64_t used = 0;
  int64_t issued = 0;
};

// The result of applying an operation to an order: the order as it must be stored and the
// counter change that goes in the same transaction.
struct Transition {
  Order order;
  CounterDelta delta;
  // Issuance: the repository entry stored in the same transaction (spec/cas-repository.md §7.1).
  std::optional<Certificate> certificate;
  // Revocation: the record CRLs and OCSP answers are made from, stored in the same transaction.
  std::optional<Revocation> revocation;
  // The audit record of the call (or worker step) that made this transition, stored in the same
  // transaction; unset for steps nobody needs to trace (a validation back-off).
  std::optional<audit::Record> audit;
};

// The transitions of spec §4.2 with the counter effects of §3.3, as pure functions. Each
// returns kOrderStateError when the operation is not allowed in the order's state.
Result<Transition> CancelOrder(Order order, int64_t now);  // → payed
Result<Transition> DeleteOrder(Order order, int64_t now);  // → deleted, unit back
// → cancelled / revoked; a revocation carries its record (issuer read from the order's chain).
Result<Transition> CancelForPackage(Order order, int64_t now,
                                    RevocationReason reason = RevocationReason::kUnspecified);
Result<Transition> ValidationPassed(Order order, int64_t now);                      // → process
Result<Transition> ValidationFailed(Order order, int64_t now, std::string reason);  // → verify_fail
Result<Transition> Issued(Order order, int64_t now);  // → certificate (fields set)
// A pending ACME order whose authorization failed or whose `expires` passed unfinalized:
// → cancelled, unit back (as CancelCertificateForPackageRequest on a pending order).
Result<Transition> AcmeAbandoned(Order order, int64_t now, std::string reason);
// Allowed only for a renewable (non-free) issued order within 30 days of NotAfter.
Status CheckRenewable(const Order& order, bool free_product, int64_t now);

// Wire vocabularies (spec §4.1).
std::string_view TypeName(const Order& order);  // DescribeCertificateState Type
std::string_view ListStatusName(const Order& order,
                                int64_t now);  // ListUserCertificateOrder Status
std::string_view ValidateTypeName(ValidateType type);
std::string_view StatusName(OrderStatus status);  // storage name
std::optional<OrderStatus> ParseStatusName(std::string_view name);

}  // namespace certplan::cas
