#pragma once

#include <memory>
#include <string>

#include "auth/replay_guard.h"
#include "cas/certificate_store.h"
#include "cas/certificates.h"
#include "cas/counter_audit_store.h"
#include "cas/order_store.h"
#include "cas/orders.h"
#include "cas/plan_store.h"
#include "cas/plans.h"
#include "core/clock.h"
#include "iam/identities.h"
#include "iam/identity_store.h"
#include "ops/audit_log.h"
#include "ops/audit_trail.h"
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
  ops::AuditLog* audit_log = nullptr;
  std::unique_ptr<pki::SecretBox> box;
  std::unique_ptr<pki::BuiltinCa> ca;
  std::unique_ptr<pki::KeyPool> key_pool;  // when asked for: in front of `ca`
  std::unique_ptr<iam::Identities> identities;
  std::unique_ptr<cas::Plans> plans;
  std::unique_ptr<cas::Orders> orders;
  std::unique_ptr<cas::Certificates> certificates;
  std::unique_ptr<ops::AuditTrail> audit;
  // In process memory on SQLite (one node per file); in the database on PostgreSQL, so every
  // node sees every nonce.
  std::unique_ptr<auth::ReplayGuard> replay;

  // Creates the directory (0700) if needed, loads or creates the master key
  // (CERTPLAN_MASTER_KEY, else DIR/master.key) and the CA, and opens DIR/certplan.db.
  static Result<std::unique_ptr<Runtime>> Open(const std::string& data_dir,
                                               RuntimeOptions options = {});
};

}  // namespace certplan::cli
