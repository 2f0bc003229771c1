#include "cas/order.h"

#include <bitset>
#include <chrono>
#include <mutex>
#include <random>

#include "cas/certificate.h"
#include "pki/key_id.h"

namespace certplan::cas {

int64_t OrderIdAt(int64_t unix_ms, uint32_t low) {
  constexpr uint64_t kLow = 1'000'000'000'000'000ULL;
  constexpr uint64_t kSlots = (static_cast<uint64_t>(kFirstUploadCertId) - kLow) / 4096;
  const uint64_t ms =
      unix_ms > kOrderIdEpochMs ? static_cast<uint64_t>(unix_ms - kOrderIdEpochMs) : 0;
  return static_cast<int64_t>(kLow + (ms % kSlots) * 4096 + low % 4096);
}

int64_t NewOrderId() {
  // The millisecond in use and the low bits drawn in it. A clock that steps back keeps the
  // millisecond in use (ids of one process never repeat); a millisecond whose 4,096 values are
  // all drawn lends the next one.
  static std::mutex mu;
  static int64_t slot_ms = 0;
  static std::bitset<4096> drawn;
  static std::mt19937 rng{std::random_device{}()};
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  std::scoped_lock lock(mu);
  if (now > slot_ms) {
    slot_ms = now;
    drawn.reset();
  } else if (drawn.all()) {
    ++slot_ms;
    drawn.reset();
  }
  uint32_t low = 0;
  do {
    low = static_cast<uint32_t>(rng()) % 4096;
  } while (drawn.test(low));
  drawn.set(low);
  return OrderIdAt(slot_ms, low);
}

namespace {

Error StateError(const Order& order, std::string_view operation) {
  std::string msg = "The order is in state ";
  msg += StatusName(order.status);
  msg += ", which does not allow ";
  msg += operation;
  msg += '.';
  return Error(ErrorCode::kOrderStateError, std::move(msg));
}

bool Pending(OrderStatus s) {
  return s == OrderStatus::kDomainVerify || s == OrderStatus::kProcess;
}

Transition Move(Order order, OrderStatus to, int64_t now, CounterDelta delta = {}) {
  order.status = to;
  order.updated_at = now;
  return Transition{std::move(order), delta};
}

}  // namespace

Result<Transition> CancelOrder(Order order, int64_t now) {
  // C: allowed while awaiting validation or under CA review; the unit stays reserved.
  if (!Pending(order.status)) return StateError(order, "CancelOrderRequest");
  return Move(std::move(order), OrderStatus::kPayed, now);
}

Result<Transition> DeleteOrder(Order order, int64_t now) {
  if (order.status != OrderStatus::kVerifyFail && order.status != OrderStatus::kPayed) {
    return StateError(order, "DeleteCertificateRequest");
  }
  CounterDelta delta{order.holds_unit ? -1 : 0, 0};
  order.holds_unit = false;
  return Move(std::move(order), OrderStatus::kDeleted, now, delta);
}

Result<Transition> CancelForPackage(Order order, int64_t now, RevocationReason reason) {
  if (Pending(order.status)) {
    CounterDelta delta{order.holds_unit ? -1 : 0, 0};
    order.holds_unit = false;
    return Move(std::move(order), OrderStatus::kCancelled, now, delta);
  }
  if (order.status != OrderStatus::kCertificate || now >= order.not_after) {
    return StateError(order, "CancelCertificateForPackageRequest");
  }
  CounterDelta delta;
  // Revocation within 30 days of issuance gives the unit back, and the issuance with it, so
  // IssuedCount never exceeds UsedCount (spec §3.3, §5).
  if (now - order.issued_at <= kRefundWindowSeconds && order.holds_unit) {
    delta = {-1, order.counts_issued ? -1 : 0};
    order.holds_unit = false;
    order.counts_issued = false;
  }
  // The record CRLs and OCSP answers are made from; the issuer is the chain's first certificate.
  Revocation record{.order_id = order.id,
                    .issuer_key_id = pki::FirstCertificateKeyId(order.chain_pem),
                    .serial_hex = order.serial_hex,
                    .revoked_at = now,
                    .reason = reason,
                    .not_after = order.not_after};
  Transition t = Move(std::move(order), OrderStatus::kRevoked, now, delta);
  t.revocation = std::move(record);
  return t;
}

Result<Transition> ValidationPassed(Order order, int64_t now) {
  if (order.status != OrderStatus::kDomainVerify) return StateError(order, "validation");
  order.next_check_at = now;
  order.failure_reason.clear();
  return Move(std::move(order), OrderStatus::kProcess, now);
}

Result<Transition> ValidationFailed(Order order, int64_t now, std::string reason) {
  if (!Pending(order.status)) return StateError(order, "failing validation");
  order.failure_reason = std::move(reason);
  return Move(std::move(order), OrderStatus::kVerifyFail, now);
}

Result<Transition> Issued(Order order, int64_t now) {
  if (order.status != OrderStatus::kProcess) return StateError(order, "issuance");
  CounterDelta delta{0, order.holds_unit ? 1 : 0};
  order.counts_issued = order.holds_unit;
  order.issued_at = now;
  return Move(std::move(order), OrderStatus::kCertificate, now, delta);
}

Result<Transition> AcmeAbandoned(Order order, int64_t now, std::string reason) {
  if (order.origin != OrderOrigin::kAcme || !Pending(order.status)) {
    return StateError(order, "abandoning an ACME order");
  }
  CounterDelta delta{order.holds_unit ? -1 : 0, 0};
  order.holds_unit = false;
  order.failure_reason = std::move(reason);
  return Move(std::move(order), OrderStatus::kCancelled, now, delta);
}

Status CheckRenewable(const Order& order, bool free_product, int64_t now) {
  if (order.status != OrderStatus::kCertificate || free_product || now >= order.not_after ||
      order.not_after - now > kWillExpireSeconds) {
    return Error(ErrorCode::kOrderStateError,
                 "Only an issued, non-free certificate within 30 days of expiry can be renewed.");
  }
  return Ok{};
}

std::string_view TypeName(const Order& order) {
  switch (order.status) {
    case OrderStatus::kDomainVerify: return "domain_verify";
    case OrderStatus::kProcess: return "process";
    case OrderStatus::kCertificate: return "certificate";
    case OrderStatus::kVerifyFail: return "verify_fail";
    case OrderStatus::kPayed: return "payed";
    case OrderStatus::kCancelled:
    case OrderStatus::kRevoked:
    case OrderStatus::kDeleted: return "unknow";  // sic: the SDK's spelling
  }
  return "unknow";
}

std::string_view ListStatusName(const Order& order, int64_t now) {
  switch (order.status) {
    case OrderStatus::kDomainVerify:
    case OrderStatus::kProcess: return "CHECKING";
    case OrderStatus::kVerifyFail: return "CHECKED_FAIL";
    case OrderStatus::kPayed: return "PAYED";
    case OrderStatus::kRevoked: return "REVOKED";
    case OrderStatus::kCancelled: return "CANCELLED";
    case OrderStatus::kDeleted: return "DELETED";
    case OrderStatus::kCertificate:
      if (now >= order.not_after) return "EXPIRED";
      if (order.not_after - now <= kWillExpireSeconds) return "WILLEXPIRED";
      return "ISSUED";
  }
  return "CHECKING";
}

std::string_view ValidateTypeName(ValidateType type) {
  return type == ValidateType::kDns ? "DNS" : "FILE";
}

std::string_view StatusName(OrderStatus status) {
  switch (status) {
    case OrderStatus::kDomainVerify: return "domain_verify";
    case OrderStatus::kProcess: return "process";
    case OrderStatus::kCertificate: return "certificate";
    case OrderStatus::kVerifyFail: return "verify_fail";
    case OrderStatus::kPayed: return "payed";
    case OrderStatus::kCancelled: return "cancelled";
    case OrderStatus::kRevoked: return "revoked";
    case OrderStatus::kDeleted: return "deleted";
  }
  return "deleted";
}

std::optional<OrderStatus> ParseStatusName(std::string_view name) {
  for (OrderStatus s : {OrderStatus::kDomainVerify, OrderStatus::kProcess,
                        OrderStatus::kCertificate, OrderStatus::kVerifyFail, OrderStatus::kPayed,
                        OrderStatus::kCancelled, OrderStatus::kRevoked, OrderStatus::kDeleted}) {
    if (StatusName(s) == name) return s;
  }
  return std::nullopt;
}

}  // namespace certplan::cas
