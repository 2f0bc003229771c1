#include "cas/orders.h"

#include <algorithm>
#include <limits>

#include "cas/certificates.h"
#include "cas/domain_names.h"
#include "core/batches.h"
#include "core/checked.h"
#include "core/log.h"
#include "core/time_format.h"
#include "pki/random.h"

namespace certplan::cas {
namespace {

constexpr size_t kMaxNames = 5;  // spec §3.4

Error NotFound() { return Error(ErrorCode::kNotFoundOrder, "The specified order does not exist."); }

Result<const Product*> ProductFor(const Application& a) {
  const std::string_view code = a.product_code.empty() ? kDefaultProductCode : a.product_code;
  const Product* product = FindProduct(code);
  if (!product) return InvalidParameter("ProductCode", "unknown certificate specification.");
  // CreateCertificateRequest and …WithCsrRequest sell DV certificates only (spec §3.2).
  if (a.origin != OrderOrigin::kForPackage && product->level != ValidationLevel::kDv) {
    return InvalidParameter("ProductCode", "this operation issues DV certificates only.");
  }
  return product;
}

Status CheckNamesFitProduct(const std::vector<std::string>& names, const Product& product,
                            ValidateType type, std::string_view param) {
  const bool wildcard = IsWildcard(names.front());
  for (const std::string& n : names) {
    if (IsWildcard(n) != wildcard) {
      return InvalidParameter(param, "names must be all wildcard or all single names.");
    }
  }
  if (wildcard != product.wildcard) {
    return InvalidParameter(param, std::string(product.code) + " certifies " +
                                       (product.wildcard ? "wildcard" : "single") + " names only.");
  }
  if (wildcard && type == ValidateType::kFile) {
    return InvalidParameter("ValidateType", "wildcard names need DNS validation.");
  }
  return Ok{};
}

// The name that proves control: `*.example.com` is validated at example.com.
std::string_view BaseName(std::string_view name) {
  return IsWildcard(name) ? name.substr(2) : name;
}

}  // namespace

std::string NewValidationToken(int64_t now) {
  std::string stamp = FormatIso8601Utc(now);  // YYYY-MM-DDThh:mm:ssZ
  std::string digits;
  for (char c : stamp) {
    if (c >= '0' && c <= '9') digits += c;
  }
  return digits + pki::RandomString(50, "0123456789abcdefghijklmnopqrstuvwxyz");
}

Result<std::vector<std::string>> Orders::NamesFor(const Application& a, const Product& product) {
  const ValidateType type = a.validate_type.value_or(ValidateType::kDns);
  std::vector<std::string> names;
  if (!a.csr_pem.empty()) {
    Result<pki::CsrFacts> facts = ca_.InspectCsr(a.csr_pem);
    if (!facts) return facts.error();
    // The CSR's CN wins over Domain (spec §3.4); WithCsr adds its DNS SANs.
    std::string list = facts->common_name;
    if (a.origin == OrderOrigin::kWithCsr) {
      for (const std::string& san : facts->dns_names) list += "," + san;
    }
    Result<std::vector<std::string>> parsed = ParseDomainList(list, "Csr", kMaxNames);
    if (!parsed) return parsed.error();
    names = std::move(*parsed);
  } else {
    if (a.domain.empty()) return MissingParameter("Domain");
    Result<std::vector<std::string>> parsed = ParseDomainList(a.domain, "Domain", kMaxNames);
    if (!parsed) return parsed.error();
    names = std::move(*parsed);
    if (a.origin == OrderOrigin::kGeneratedKey && names.size() != 1) {
      return InvalidParameter("Domain", "CreateCertificateRequest takes exactly one name.");
    }
  }
  if (Status s = CheckNamesFitProduct(names, product, type, a.csr_pem.empty() ? "Domain" : "Csr");
      !s) {
    return s.error();
  }
  return names;
}

Result<Order> Orders::Apply(int64_t account_id, const Application& a, const audit::Actor& by) {
  Result<const Product*> product = ProductFor(a);
  if (!product) return product.error();
  Result<std::vector<std::string>> names = NamesFor(a, **product);
  if (!names) return names.error();
  const int64_t now = clock_.NowSeconds();
  Order order;
  order.account_id = account_id;
  order.product_code = (*product)->code;
  order.origin = a.origin;
  order.validate_type = a.validate_type.value_or(ValidateType::kDns);
  order.domains = std::move(*names);
  order.token = NewValidationToken(now);
  order.csr_pem = a.csr_pem;
  order.contact = a.contact;
  order.tags_json = a.tags_json;
  return Store(std::move(order), by);
}

Result<Order> Orders::Store(Order order, const audit::Actor& by) {
  const int64_t now = clock_.NowSeconds();
  order.status = OrderStatus::kDomainVerify;
  order.holds_unit = true;
  order.created_at = order.updated_at = now;
  order.validation_deadline = now + settings_.validation_deadline_seconds;
  // An ACME order is validated when its client asks (acme/); the worker only expires it.
  order.next_check_at = order.origin == OrderOrigin::kAcme ? order.validation_deadline : now;
  const int64_t account_id = order.account_id;
  if (settings_.auto_approve && settings_.issue_at_once && !order.csr_pem.empty() &&
      order.origin != OrderOrigin::kAcme) {
    std::optional<Result<Order>> issued = StoreIssued(order, now, by);
    if (issued) {
      if (counters_) counters_->Invalidate(account_id);
      return std::move(*issued);
    }
  }
  Result<Order> stored =
      store_.CreateOrder(std::move(order), now, audit::Succeeded(by, now, account_id, "OrderId"));
  if (counters_) counters_->Invalidate(account_id);
  if (stored && on_new_order_) on_new_order_();
  return stored;
}

std::optional<Result<Order>> Orders::StoreIssued(const Order& pending, int64_t now,
                                                 const audit::Actor& by) {
  Order order = pending;
  order.id = NewOrderId();
  Result<Transition> issued = PassAndIssue(order);
  // A refusal is the worker's to record (verify_fail, logged), as for any order.
  if (!issued || issued->order.status != OrderStatus::kCertificate) return std::nullopt;
  const Order& o = issued->order;
  // The issuance is the worker's step done earlier: recorded as the worker would record it, so
  // "what issued this order" reads the same whichever node issued it and when.
  issued->audit = audit::Succeeded(audit::WorkerActor("worker:issue"), o.updated_at, o.account_id,
                                   "OrderId", std::to_string(o.id));
  Status stored = store_.CreateIssuedOrder(
      *issued, now, audit::Succeeded(by, now, o.account_id, "OrderId", std::to_string(o.id)));
  if (!stored) {
    const ErrorCode code = stored.error().code;
    // A refusal is the answer (a replayed request's nonce included: nothing was issued); any
    // other failure stores the order pending instead.
    if (code == ErrorCode::kNotFoundPackage || code == ErrorCode::kNotRemainCount ||
        code == ErrorCode::kSignatureNonceUsed) {
      return Result<Order>(stored.error());
    }
    return std::nullopt;
  }
  log::Line(log::Level::kInfo, "certificate issued")
      .Int("order_id", issued->order.id)
      .Str("serial", issued->order.serial_hex)
      .Write();
  return Result<Order>(std::move(issued->order));
}

Result<int64_t> Orders::PruneReleased(int64_t retention_days, int64_t batch) {
  if (retention_days < 1)
    return InvalidParameter("limits.released_order_retention_days", "at least 1.");
  const int64_t before = clock_.NowSeconds() - retention_days * 86400;
  return DeleteInBatches(batch, [&] { return store_.PruneReleasedOrders(before, batch); });
}

Result<Order> Orders::Find(int64_t account_id, int64_t order_id) {
  Result<std::optional<Order>> found = store_.FindOrder(account_id, order_id);
  if (!found) return found.error();
  if (!*found) return NotFound();
  return std::move(**found);
}

Result<Order> Orders::Describe(int64_t account_id, int64_t order_id) {
  return Find(account_id, order_id);
}

Result<std::string> Orders::PrivateKeyOf(const Order& order) const {
  if (order.sealed_private_key.empty() || order.status != OrderStatus::kCertificate) {
    return std::string();
  }
  return box_.Open(order.sealed_private_key, OrderKeyContext(order.id));
}

Status Orders::Commit(Result<Transition> transition, OrderStatus expected, const audit::Actor& by) {
  if (!transition) return transition.error();
  const Order& o = transition->order;
  transition->audit =
      audit::Succeeded(by, o.updated_at, o.account_id, "OrderId", std::to_string(o.id));
  Status s = store_.ApplyTransition(*transition, expected);
  if (counters_) counters_->Invalidate(transition->order.account_id);
  if (s && transition->revocation && on_revoked_) on_revoked_();
  return s;
}

Status Orders::Cancel(int64_t account_id, int64_t order_id, const audit::Actor& by) {
  Result<Order> order = Find(account_id, order_id);
  if (!order) return order.error();
  const OrderStatus was = order->status;
  return Commit(CancelOrder(std::move(*order), clock_.NowSeconds()), was, by);
}

Status Orders::Delete(int64_t account_id, int64_t order_id, const audit::Actor& by) {
  Result<Order> order = Find(account_id, order_id);
  if (!order) return order.error();
  const OrderStatus was = order->status;
  return Commit(DeleteOrder(std::move(*order), clock_.NowSeconds()), was, by);
}

Status Orders::CancelForPackage(int64_t account_id, int64_t order_id, const audit::Actor& by) {
  Result<Order> order = Find(account_id, order_id);
  if (!order) return order.error();
  const OrderStatus was = order->status;
  return Commit(cas::CancelForPackage(std::move(*order), clock_.NowSeconds()), was, by);
}

Result<Order> Orders::Renew(int64_t account_id, int64_t order_id, const std::string& csr_pem,
                            const std::string& tags_json, const audit::Actor& by) {
  Result<Order> old = Find(account_id, order_id);
  if (!old) return old.error();
  const Product* product = FindProduct(old->product_code);
  if (Status s = CheckRenewable(*old, product && product->free, clock_.NowSeconds()); !s) {
    return s.error();
  }
  Order order;
  order.account_id = account_id;
  order.product_code = old->product_code;
  order.origin = OrderOrigin::kRenewal;
  order.validate_type = old->validate_type;
  order.domains = old->domains;
  order.contact = old->contact;
  order.tags_json = tags_json.empty() ? old->tags_json : tags_json;
  order.renewed_from = old->id;
  order.token = NewValidationToken(clock_.NowSeconds());
  if (!csr_pem.empty()) {
    Result<pki::CsrFacts> facts = ca_.InspectCsr(csr_pem);
    if (!facts) return facts.error();
    Result<std::string> cn = NormalizeDomain(facts->common_name, "Csr");
    if (!cn || *cn != old->domains.front()) {
      return InvalidParameter("Csr", "the CSR's CN must be the renewed certificate's name.");
    }
    order.csr_pem = csr_pem;
  }
  return Store(std::move(order), by);
}

Result<OrderPage> Orders::List(int64_t account_id, const OrderQuery& query) {
  return store_.ListOrders(account_id, query);
}

std::optional<OrderQuery> OrderQueryForListStatus(std::string_view list_status, int64_t now) {
  OrderQuery q;
  // The inverse of ListStatusName: a kCertificate order is ISSUED while NotAfter > now + 30 d,
  // WILLEXPIRED while now < NotAfter <= now + 30 d, EXPIRED from NotAfter on.
  const int64_t soon =
      CheckedAdd(now, kWillExpireSeconds).value_or(std::numeric_limits<int64_t>::max());
  if (list_status == "PAYED") {
    q.statuses = {OrderStatus::kPayed};
  } else if (list_status == "CHECKING") {
    q.statuses = {OrderStatus::kDomainVerify, OrderStatus::kProcess};
  } else if (list_status == "CHECKED_FAIL") {
    q.statuses = {OrderStatus::kVerifyFail};
  } else if (list_status == "REVOKED") {
    q.statuses = {OrderStatus::kRevoked};
  } else if (list_status == "CANCELLED") {
    q.statuses = {OrderStatus::kCancelled};
  } else if (list_status == "ISSUED") {
    q.statuses = {OrderStatus::kCertificate};
    q.not_after_above = soon;
  } else if (list_status == "WILLEXPIRED") {
    q.statuses = {OrderStatus::kCertificate};
    q.not_after_above = now;
    q.not_after_at_most = soon;
  } else if (list_status == "EXPIRED") {
    q.statuses = {OrderStatus::kCertificate};
    q.not_after_at_most = now;
  } else {
    return std::nullopt;
  }
  return q;
}

Result<Order> Orders::ApplyAcme(int64_t account_id, std::string_view product_code,
                                const std::vector<std::string>& identifiers,
                                const audit::Actor& by) {
  const Product* product = FindProduct(product_code);
  if (!product) return InvalidParameter("ProductCode", "unknown certificate specification.");
  std::string list;
  for (const std::string& name : identifiers) {
    if (name.find(',') != std::string::npos) return InvalidParameter("identifiers", "bad name.");
    list += (list.empty() ? "" : ",") + name;
  }
  Result<std::vector<std::string>> names = ParseDomainList(list, "identifiers", kMaxNames);
  if (!names) return names.error();
  // ACME allowance: a wildcard product's order may carry the base name of one of its wildcards
  // (certbot users ask for both; wildcard DV certificates carry the base name).
  std::vector<std::string> checked;
  for (const std::string& n : *names) {
    const bool base_of_wildcard = product->wildcard && !IsWildcard(n) &&
                                  std::find(names->begin(), names->end(), "*." + n) != names->end();
    if (!base_of_wildcard) checked.push_back(n);
  }
  if (checked.empty()) return InvalidParameter("identifiers", "no names.");
  const ValidateType type = IsWildcard(checked.front()) ? ValidateType::kDns : ValidateType::kFile;
  if (Status s = CheckNamesFitProduct(checked, *product, type, "identifiers"); !s) {
    return s.error();
  }
  Order order;
  order.account_id = account_id;
  order.product_code = product->code;
  order.origin = OrderOrigin::kAcme;
  order.validate_type = type;
  order.domains = std::move(*names);
  order.token = NewValidationToken(clock_.NowSeconds());
  order.tags_json = "[]";
  return Store(std::move(order), by);
}

Status Orders::AcmeAuthorized(int64_t order_id, const audit::Actor& by) {
  Result<Order> order = Find(0, order_id);
  if (!order) return order.error();
  const int64_t now = clock_.NowSeconds();
  Result<Transition> passed = ValidationPassed(std::move(*order), now);
  if (!passed) return passed.error();
  // It waits in process for finalize; the worker looks at it again only at its `expires`.
  passed->order.next_check_at = passed->order.validation_deadline;
  const Order& o = passed->order;
  passed->audit = audit::Succeeded(by, now, o.account_id, "OrderId", std::to_string(o.id));
  return store_.ApplyTransition(*passed, OrderStatus::kDomainVerify);
}

Status Orders::AcmeAbandon(int64_t order_id, std::string reason, const audit::Actor& by) {
  Result<Order> order = Find(0, order_id);
  if (!order) return order.error();
  const OrderStatus was = order->status;
  return Commit(AcmeAbandoned(std::move(*order), clock_.NowSeconds(), std::move(reason)), was, by);
}

Result<Order> Orders::AcmeFinalize(int64_t order_id, const std::string& csr_pem,
                                   const audit::Actor& by) {
  Result<Order> order = Find(0, order_id);
  if (!order) return order.error();
  if (order->origin != OrderOrigin::kAcme || order->status != OrderStatus::kProcess) {
    return Error(ErrorCode::kOrderStateError, "The order is not ready for finalization.");
  }
  Result<pki::CsrFacts> facts = ca_.InspectCsrNamesInSan(csr_pem);
  if (!facts) return facts.error();
  // Names compared lower-cased, as sets: the CN (when there is one) is one of the names.
  std::vector<std::string> asked;
  auto add = [&](const std::string& raw) -> Status {
    Result<std::string> n = NormalizeDomain(raw, "Csr");
    if (!n) return Error(ErrorCode::kCreateCertificateRequestFailed, n.error().message);
    if (std::find(asked.begin(), asked.end(), *n) == asked.end()) asked.push_back(*n);
    return Ok{};
  };
  if (!facts->common_name.empty()) {
    if (Status s = add(facts->common_name); !s) return s.error();
  }
  for (const std::string& san : facts->dns_names) {
    if (Status s = add(san); !s) return s.error();
  }
  std::vector<std::string> want = order->domains;
  std::sort(want.begin(), want.end());
  std::sort(asked.begin(), asked.end());
  if (asked != want) {
    return Error(
        ErrorCode::kCreateCertificateRequestFailed,
        "The CSR's names (CN and subjectAltName) must be exactly the order's identifiers.");
  }
  Order next = std::move(*order);
  next.csr_pem = csr_pem;
  Result<Transition> issued = PrepareIssue(next);
  if (!issued) return issued.error();
  if (issued->order.status != OrderStatus::kCertificate) {
    // The CA refused: the order stays ready and keeps its unit; its `expires` gives it back.
    return Error(ErrorCode::kCreateCertificateRequestFailed, issued->order.failure_reason);
  }
  issued->audit = audit::Succeeded(by, issued->order.updated_at, issued->order.account_id,
                                   "OrderId", std::to_string(issued->order.id));
  Status stored = store_.ApplyTransition(*issued, OrderStatus::kProcess);
  // IssuedCount moved: this node's cached counters must show it at once.
  if (counters_) counters_->Invalidate(issued->order.account_id);
  if (!stored) return stored.error();
  log::Line(log::Level::kInfo, "certificate issued")
      .Int("order_id", issued->order.id)
      .Str("serial", issued->order.serial_hex)
      .Str("origin", "acme")
      .Write();
  return std::move(issued->order);
}

Status Orders::Validate(const Order& order, DomainChecker& checker) {
  const CheckMethod method =
      order.validate_type == ValidateType::kDns ? CheckMethod::kDns : CheckMethod::kFile;
  for (const std::string& name : order.domains) {
    if (Status s = checker.Check(method, BaseName(name), order.token); !s) return s;
  }
  return Ok{};
}

Result<Transition> Orders::PrepareIssue(const Order& order) {
  const int64_t now = clock_.NowSeconds();
  const Product* product = FindProduct(order.product_code);
  Order next = order;
  pki::IssueRequest request;
  request.csr_pem = order.csr_pem;
  request.domains = order.domains;
  if (product && product->level == ValidationLevel::kOv)
    request.organization = order.contact.company_name;
  request.not_before = now;
  request.not_after = now + int64_t{product ? product->validity_days : 365} * 86400;
  if (order.csr_pem.empty()) {
    // certplan makes the key (CreateCertificateRequest, or no Csr): sealed at rest, bound to
    // this order.
    Result<pki::GeneratedKey> key = ca_.GenerateKey();
    if (!key) return key.error();
    request.public_key_pem = key->public_key_pem;
    next.sealed_private_key = box_.Seal(key->private_key_pem, OrderKeyContext(order.id));
  }
  Result<pki::IssuedCertificate> cert = ca_.Issue(request);
  if (!cert) {
    return ValidationFailed(
        std::move(next), now,
        "the CA refused the request: " + cert.error().message +
            (cert.error().detail.empty() ? "" : " (" + cert.error().detail + ")"));
  }
  next.certificate_pem = cert->certificate_pem;
  next.chain_pem = cert->chain_pem;
  next.serial_hex = cert->serial_hex;
  next.not_before = cert->not_before;
  next.not_after = cert->not_after;
  // The repository entry is stored with the issuance (spec/cas-repository.md §7.1).
  Result<Certificate> entry =
      Certificates::EntryForIssuedOrder(next, now, cert->facts ? &*cert->facts : nullptr);
  if (!entry) return entry.error();
  Result<Transition> issued = Issued(std::move(next), now);
  if (issued) issued->certificate = std::move(*entry);
  return issued;
}

Result<Transition> Orders::PassAndIssue(const Order& order) {
  Result<Transition> passed = ValidationPassed(order, clock_.NowSeconds());
  if (!passed) return passed.error();
  Result<Transition> issued = PrepareIssue(passed->order);
  if (!issued) return issued.error();
  // Stored as one step: a crash before the commit leaves the order to be validated again.
  issued->delta.used += passed->delta.used;
  issued->delta.issued += passed->delta.issued;
  return issued;
}

Result<Transition> Orders::NextStep(Order order, DomainChecker& checker) {
  if (order.origin == OrderOrigin::kAcme) {
    // Validated and finalized by its ACME client; the worker only ends it at `expires`.
    const int64_t now = clock_.NowSeconds();
    if (now >= order.validation_deadline) {
      return AcmeAbandoned(std::move(order), now, "the ACME order expired unfinalized");
    }
    order.next_check_at = order.validation_deadline;
    return Transition{std::move(order), {}};
  }
  if (order.status == OrderStatus::kProcess) return PrepareIssue(order);
  if (settings_.auto_approve) return PassAndIssue(order);
  Status checked = Validate(order, checker);
  const int64_t now = clock_.NowSeconds();
  if (checked) return PassAndIssue(order);
  if (now >= order.validation_deadline) {
    return ValidationFailed(std::move(order), now, checked.error().message);
  }
  // Back off: 10 s, 20 s, 40 s … up to 10 min (spec §5), remembering why.
  order.attempts += 1;
  const int64_t shift = std::min<int64_t>(order.attempts - 1, 20);
  const int64_t wait =
      std::min(settings_.retry_max_seconds, settings_.retry_initial_seconds << shift);
  order.next_check_at = std::min(now + wait, order.validation_deadline);
  order.failure_reason = checked.error().message;
  order.updated_at = now;
  return Transition{std::move(order), {}};
}

void Orders::DeferAfterFailure(int64_t order_id) {
  Result<Order> order = Find(0, order_id);
  if (!order) return;
  const OrderStatus was = order->status;
  order->next_check_at = clock_.NowSeconds() + settings_.retry_max_seconds;
  const int64_t account_id = order->account_id;
  (void)store_.ApplyTransition(Transition{std::move(*order), {}}, was);
  if (counters_) counters_->Invalidate(account_id);
}

Result<int> Orders::AdvanceDue(DomainChecker& checker, int limit) {
  Result<std::vector<Order>> due = store_.DueOrders(clock_.NowSeconds(), limit);
  if (!due) return due.error();
  // Every due order is moved in memory, then all are stored in one transaction: one durable
  // commit per batch instead of one or two per order.
  std::vector<PendingTransition> batch;
  std::vector<std::pair<int64_t, Error>> failed;  // orders whose step could not be done
  std::optional<Error> first_error;
  for (const Order& order : *due) {
    Result<Transition> step = NextStep(order, checker);
    if (step) {
      // Issuance and failure are not calls, but an operator asking "what happened to this
      // order" should find them beside the calls; they ride the batch's one commit.
      const Order& next = step->order;
      // An ACME order that reached its `expires` unfinalized is cancelled here (unit back).
      const bool acme_expired =
          next.origin == OrderOrigin::kAcme && next.status == OrderStatus::kCancelled;
      if (next.status == OrderStatus::kCertificate || next.status == OrderStatus::kVerifyFail ||
          acme_expired) {
        step->audit = audit::Succeeded(
            audit::WorkerActor(next.status == OrderStatus::kCertificate ? "worker:issue"
                               : acme_expired                           ? "worker:acme_expired"
                                                                        : "worker:verify_fail"),
            next.updated_at, next.account_id, "OrderId", std::to_string(next.id));
      }
      batch.push_back({std::move(*step), order.status});
    } else if (step.error().code != ErrorCode::kOrderStateError) {
      if (!first_error) first_error = step.error();
      failed.emplace_back(order.id, step.error());
    }
  }
  std::vector<Status> results = store_.ApplyTransitions(batch);
  if (counters_) {
    for (const PendingTransition& p : batch) counters_->Invalidate(p.transition.order.account_id);
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    const Order& stored = batch[i].transition.order;
    if (results[i] && stored.status == OrderStatus::kCertificate) {
      log::Line(log::Level::kInfo, "certificate issued")
          .Int("order_id", stored.id)
          .Str("serial", stored.serial_hex)
          .Write();
    }
    // An order that fails says why, in the log and in the stored order (failure_reason, for
    // operators and fsck: the wire has no field for it).
    if (results[i] && stored.status == OrderStatus::kVerifyFail) {
      log::Line(log::Level::kWarn, "order failed")
          .Int("order_id", stored.id)
          .Int("account_id", stored.account_id)
          .Str("reason", stored.failure_reason)
          .Write();
    }
    if (results[i] && stored.status == OrderStatus::kCancelled) {
      log::Line(log::Level::kInfo, "ACME order expired unfinalized; unit back")
          .Int("order_id", stored.id)
          .Int("account_id", stored.account_id)
          .Write();
    }
    // A lost race (the client cancelled meanwhile) is normal; the order moved on.
    if (!results[i] && results[i].error().code != ErrorCode::kOrderStateError) {
      if (!first_error) first_error = results[i].error();
      failed.emplace_back(stored.id, results[i].error());
    }
  }
  // Anything else is logged with its order once the batch is done, and the order waits before
  // its next try so one bad order cannot spin the worker.
  for (const auto& [id, error] : failed) {
    log::Line(log::Level::kError, "order step failed")
        .Int("order_id", id)
        .Str("reason", error.message)
        .Str("detail", error.detail)
        .Write();
    DeferAfterFailure(id);
  }
  if (first_error) return *first_error;
  return static_cast<int>(due->size());
}

}  // namespace certplan::cas
