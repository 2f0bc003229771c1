#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "acme/acme_store.h"
#include "auth/replay_guard.h"
#include "cas/certificate_store.h"
#include "cas/certificates.h"
#include "cas/counter_audit_store.h"
#include "cas/order_store.h"
#include "cas/orders.h"
#include "cas/plan_store.h"
#include "cas/plans.h"
#include "cas/revocation_store.h"
#include "core/clock.h"
#include "iam/identities.h"
#include "iam/identity_store.h"
#include "ops/admin_service.h"
#include "ops/audit_log.h"
#include "ops/audit_trail.h"
#include "ops/metrics_store.h"
#include "ops/operator_store.h"
#include "pki/builtin_ca.h"
#include "pki/key_pool.h"
#include "pki/secret_box.h"

namespace certplan::store::sqlite {
class SqliteStore;
}
namespace certplan::store::postgres {
class PostgresStore;
}

namespace certplan::cli {

struct RuntimeOptions {
  std::string store_url;       // "postgresql://…" selects PostgreSQL; empty: DATA_DIR/certplan.db
  auth::ReplayOptions replay;  // the in-memory guard (SQLite); PostgreSQL keeps its table
  std::string clock_offset_file;  // testing: seconds to add to the system clock, re-read per call
  pki::CaFiles ca;                // dir empty: DATA_DIR/ca
  cas::OrderSettings orders;
  size_t key_pool = 0;  // RSA keys kept ready for CreateCertificateRequest (0: made on demand)
  // How long DescribePackageState's counters may be served from memory (cas::CounterCache);
  // 0: read from the store every time (the admin commands, which read once).
  std::chrono::milliseconds counters_cache{0};
  // Only `serve` and `init` create a data directory (and its master key, CA and database);
  // every other command opens an existing one and refuses a missing one, creating nothing.
  bool create = false;
  pki::RevocationUrls revocation_urls;  // what order certificates carry (none when empty)
  // Wraps the authority orders are issued by (serve counts and times issuance with it).
  std::function<std::unique_ptr<pki::Authority>(const pki::Authority&)> observe_authority;
  int64_t max_uploads_per_account = cas::Certificates::kDefaultMaxUploads;
};

// The objects every command works with, opened from one data directory: the store, the
// master key, the CA and the domain services over them.
struct Runtime {
  Runtime();
  ~Runtime();

  std::unique_ptr<Clock> clock;
  // The open store — exactly one of the two; only cli/ knows these concrete types — and the
  // domain's ports, all implemented by it.
  std::unique_ptr<store::sqlite::SqliteStore> sqlite;        // the default
  std::unique_ptr<store::postgres::PostgresStore> postgres;  // store.url = postgresql://…
  iam::IdentityStore* identity_store = nullptr;
  cas::PlanStore* plan_store = nullptr;
  cas::OrderStore* order_store = nullptr;
  cas::CounterAuditStore* counter_audit = nullptr;
  cas::CertificateStore* certificate_store = nullptr;
  cas::RevocationStore* revocation_store = nullptr;
  ops::OperatorStore* operator_store = nullptr;
  ops::MetricsStore* metrics_store = nullptr;
  ops::AuditLog* audit_log = nullptr;
  acme::AcmeStore* acme_store = nullptr;
  std::unique_ptr<pki::SecretBox> box;
  std::unique_ptr<pki::BuiltinCa> ca;
  std::unique_ptr<pki::KeyPool> key_pool;              // when asked for: in front of `ca`
  std::unique_ptr<pki::Authority> observed_authority;  // options.observe_authority's wrapper
  std::unique_ptr<iam::Identities> identities;
  std::unique_ptr<cas::CounterCache> counters;  // before plans and orders, which use it
  std::unique_ptr<cas::Plans> plans;
  std::unique_ptr<cas::Orders> orders;
  std::unique_ptr<cas::Certificates> certificates;
  std::unique_ptr<ops::AuditTrail> audit;
  // What `certplan admin`, `certplan fsck` and the operator API call.
  std::unique_ptr<ops::AdminService> admin;
  // In process memory on SQLite (one node per file); in the database on PostgreSQL, so every
  // node sees every nonce.
  std::unique_ptr<auth::ReplayGuard> replay;

  // Loads the master key (CERTPLAN_MASTER_KEY, else DIR/master.key) and the CA, and opens
  // DIR/certplan.db (or the PostgreSQL store). With options.create, first creates what is
  // missing: the directory (0700), the key, the CA and the database. Without, a directory that
  // does not exist, or lacks one of them, is kInvalidParameter naming "data-dir" and the path,
  // and nothing is written.
  static Result<std::unique_ptr<Runtime>> Open(const std::string& data_dir,
                                               RuntimeOptions options = {});

  // Times every store operation from now on (nullptr: none); before serving.
  void SetStoreLatencyObserver(ops::StoreLatencyObserver* observer);
};

}  // namespace certplan::cli
