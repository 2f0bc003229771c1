#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "acme/acme_store.h"
#include "acme/eab.h"
#include "acme/nonces.h"
#include "cas/domain_checker.h"
#include "cas/orders.h"
#include "cas/plans.h"
#include "core/clock.h"
#include "ops/audit_trail.h"
#include "rpc/request.h"

namespace certplan::acme {

struct ServerSettings {
  bool auto_approve = false;  // validation.mode = "auto": a challenge is valid once asked for
  // Where the directory lives: "/acme/" (production) or "/acme/staging/" (the staging directory:
  // a Server over a StagingStore and the staging CA).
  std::string prefix = "/acme/";
  // Where authenticated refusals of newOrder, finalize and revokeCert are recorded (the changes
  // themselves are recorded by cas::Orders with the change); nullptr: not recorded (staging,
  // which changes nothing durable).
  ops::AuditTrail* audit = nullptr;
  // ACME accounts one EAB key may bind over its life (limits.acme_accounts_per_eab_key): a
  // reusable key handed to automation must not let it make accounts without end. Past it,
  // newAccount is unauthorized (403), as for a used single-use key: waiting does not help.
  int64_t max_accounts_per_eab_key = kDefaultMaxAccountsPerEabKey;
};

inline constexpr std::string_view kStagingPrefix = "/acme/staging/";

// The RFC 8555 front under /acme/ (DESIGN.md "ACME is a second front on the same domain"):
// directory, nonces, accounts bound by External Account Binding to (account, ProductCode),
// orders that are certplan orders (one unit each, through cas::Orders), authorizations and
// challenges as views of the order's names, finalize through the CA path, certificate download,
// revocation (the CancelCertificateForPackageRequest rule), account update, deactivation and
// key change. Every answer carries a fresh Replay-Nonce; every refusal is a problem document
// (application/problem+json, §6.7) and changes nothing.
//
// Challenges are checked when the client asks (synchronously, bounded by the checker's
// timeouts); a failed one makes the order invalid and gives its unit back. Thread-safe.
class Server {
 public:
  Server(AcmeStore& store, EabKeys& eab, NonceIssuer& nonces, cas::Orders& orders,
         cas::Plans& plans, cas::DomainChecker& checker, const Clock& clock,
         ServerSettings settings)
      : store_(store),
        eab_(eab),
        nonces_(nonces),
        orders_(orders),
        plans_(plans),
        checker_(checker),
        clock_(clock),
        settings_(settings) {}

  // Whether `path` belongs to this directory (production leaves /acme/staging/ to staging).
  bool Handles(std::string_view path) const {
    if (path.substr(0, settings_.prefix.size()) != settings_.prefix) return false;
    return settings_.prefix != "/acme/" || path.substr(0, kStagingPrefix.size()) != kStagingPrefix;
  }
  // Answers one request (and writes its access-log line).
  rpc::Response Handle(const rpc::Request& request);

 private:
  struct Call;
  rpc::Response Route(const rpc::Request& request, Call& call);
  rpc::Response Post(const rpc::Request& request, Call& call, std::string_view resource);
  rpc::Response NewAccount(Call& call);
  rpc::Response NewOrder(Call& call);
  rpc::Response Account(Call& call, int64_t id, bool orders);
  // The order object; `status_code` 201 when newOrder answers with a pending order again.
  rpc::Response OrderResource(Call& call, int64_t order_id, int status_code);
  rpc::Response Finalize(Call& call, int64_t order_id);
  rpc::Response Authorization(Call& call, int64_t order_id, size_t index);
  rpc::Response Challenge(Call& call, int64_t order_id, size_t index, std::string_view type);
  rpc::Response Certificate(Call& call, int64_t order_id);
  rpc::Response RevokeCert(Call& call);
  rpc::Response KeyChange(Call& call);
  // Records an authenticated refusal of `action` (settings_.audit) with the problem's type.
  void RecordRefusal(const Call& call, std::string_view action, int64_t account_id,
                     int64_t order_id);

  AcmeStore& store_;
  EabKeys& eab_;
  NonceIssuer& nonces_;
  cas::Orders& orders_;
  cas::Plans& plans_;
  cas::DomainChecker& checker_;
  const Clock& clock_;
  ServerSettings settings_;
  // newOrder of one ACME account at a time (by id modulo the stripes), so an order for names
  // already pending is found rather than charged twice.
  std::array<std::mutex, 64> new_order_mu_;
};

}  // namespace certplan::acme
