#include "cli/runtime.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

#include "auth/shared_replay_guard.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"

namespace certplan::cli {
namespace {

// For end-to-end tests that must move time (30-day refund window, renewal window): the system
// clock plus the number of seconds written in a file. Never configured in production.
class OffsetFileClock final : public Clock {
 public:
  explicit OffsetFileClock(std::string path) : path_(std::move(path)) {}
  int64_t NowSeconds() const override {
    int64_t offset = 0;
    std::ifstream in(path_);
    in >> offset;
    return SystemClock().NowSeconds() + offset;
  }

 private:
  std::string path_;
};

bool IsPostgresUrl(std::string_view url) {
  return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
}

Status OpenStore(Runtime& rt, const std::string& data_dir, const RuntimeOptions& options) {
  if (options.store_url.empty()) {
    Result<std::unique_ptr<store::sqlite::SqliteStore>> db =
        store::sqlite::SqliteStore::Open(data_dir + "/certplan.db");
    if (!db) return db.error();
    rt.sqlite = std::move(*db);
    rt.identity_store = rt.sqlite.get();
    rt.plan_store = rt.sqlite.get();
    rt.order_store = rt.sqlite.get();
    rt.counter_audit = rt.sqlite.get();
    rt.certificate_store = rt.sqlite.get();
    rt.revocation_store = rt.sqlite.get();
    rt.operator_store = rt.sqlite.get();
    rt.metrics_store = rt.sqlite.get();
    rt.audit_log = rt.sqlite.get();
    rt.acme_store = rt.sqlite.get();
    rt.replay = std::make_unique<auth::MemoryReplayGuard>(options.replay);
    return Ok{};
  }
  if (!IsPostgresUrl(options.store_url)) {
    return InvalidParameter("store.url", "use postgresql://USER@HOST:PORT/DB (or leave it empty).");
  }
  Result<std::unique_ptr<store::postgres::PostgresStore>> db =
      store::postgres::PostgresStore::Open(options.store_url);
  if (!db) return db.error();
  rt.postgres = std::move(*db);
  rt.identity_store = rt.postgres.get();
  rt.plan_store = rt.postgres.get();
  rt.order_store = rt.postgres.get();
  rt.counter_audit = rt.postgres.get();
  rt.certificate_store = rt.postgres.get();
  rt.revocation_store = rt.postgres.get();
  rt.operator_store = rt.postgres.get();
  rt.metrics_store = rt.postgres.get();
  rt.audit_log = rt.postgres.get();
  rt.acme_store = rt.postgres.get();
  rt.replay = std::make_unique<auth::SharedReplayGuard>(*rt.postgres);
  return Ok{};
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// What a data directory made by `init` or `serve` holds, checked before anything is opened:
// opening would create each of them (a mistyped --data-dir became a fresh store and CA).
Status CheckDataDir(const std::string& data_dir, const RuntimeOptions& options) {
  struct stat st {};
  if (::stat(data_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return InvalidParameter("data-dir", "\"" + data_dir +
                                            "\" does not exist; `certplan init --data-dir " +
                                            data_dir + "` (or `certplan serve`) creates one.");
  }
  // The files opening would otherwise create, by the name the message gives them.
  std::vector<std::pair<std::string, std::string>> wanted;
  const char* env_key = std::getenv("CERTPLAN_MASTER_KEY");
  if (!env_key || !*env_key) wanted.emplace_back("master.key", data_dir + "/master.key");
  if (options.ca.root_cert_file.empty()) {
    const std::string ca_dir = options.ca.dir.empty() ? data_dir + "/ca" : options.ca.dir;
    wanted.emplace_back(options.ca.dir.empty() ? "ca/issuing.pem" : ca_dir + "/issuing.pem",
                        ca_dir + "/issuing.pem");
  }
  if (options.store_url.empty()) wanted.emplace_back("certplan.db", data_dir + "/certplan.db");
  for (const auto& [name, path] : wanted) {
    if (!Exists(path)) {
      return InvalidParameter("data-dir", "\"" + data_dir +
                                              "\" is not a certplan data directory (it has no " +
                                              name + "); `certplan init --data-dir " + data_dir +
                                              "` (or `certplan serve`) initializes one.");
    }
  }
  return Ok{};
}

}  // namespace

Runtime::Runtime() = default;
Runtime::~Runtime() = default;

Result<std::unique_ptr<Runtime>> Runtime::Open(const std::string& data_dir,
                                               RuntimeOptions options) {
  if (!options.create) {
    if (Status s = CheckDataDir(data_dir, options); !s) return s.error();
  } else if (::mkdir(data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return InvalidParameter("data-dir", "cannot create " + data_dir + ": " + std::strerror(errno));
  }
  auto rt = std::make_unique<Runtime>();
  if (options.clock_offset_file.empty()) {
    rt->clock = std::make_unique<SystemClock>();
  } else {
    rt->clock = std::make_unique<OffsetFileClock>(options.clock_offset_file);
  }
  const char* env_key = std::getenv("CERTPLAN_MASTER_KEY");
  Result<std::string> key =
      pki::LoadOrCreateMasterKey(env_key ? env_key : "", data_dir + "/master.key");
  if (!key) return key.error();
  Result<std::unique_ptr<pki::SecretBox>> box = pki::SecretBox::Create(std::move(*key));
  if (!box) return box.error();
  rt->box = std::move(*box);
  if (options.ca.dir.empty()) options.ca.dir = data_dir + "/ca";
  Result<std::unique_ptr<pki::BuiltinCa>> ca =
      pki::BuiltinCa::Open(options.ca, rt->clock->NowSeconds(), options.revocation_urls);
  if (!ca) return ca.error();
  rt->ca = std::move(*ca);
  if (Status s = OpenStore(*rt, data_dir, options); !s) return s.error();
  rt->identities = std::make_unique<iam::Identities>(*rt->identity_store, *rt->box, *rt->clock);
  rt->counters = std::make_unique<cas::CounterCache>(
      cas::CounterCache::Options{options.counters_cache, cas::CounterCache::Options{}.max_entries});
  rt->plans = std::make_unique<cas::Plans>(*rt->plan_store, *rt->clock, rt->counters.get());
  if (options.key_pool > 0) {
    rt->key_pool = std::make_unique<pki::KeyPool>(*rt->ca, options.key_pool);
  }
  const pki::Authority* authority =
      rt->key_pool ? static_cast<const pki::Authority*>(rt->key_pool.get()) : rt->ca.get();
  if (options.observe_authority) {
    rt->observed_authority = options.observe_authority(*authority);
    authority = rt->observed_authority.get();
  }
  rt->orders = std::make_unique<cas::Orders>(*rt->order_store, *authority, *rt->box, *rt->clock,
                                             options.orders);
  rt->orders->InvalidatesCounters(rt->counters.get());
  rt->certificates =
      std::make_unique<cas::Certificates>(*rt->certificate_store, *rt->order_store, *rt->box,
                                          *rt->clock, options.max_uploads_per_account);
  rt->audit = std::make_unique<ops::AuditTrail>(*rt->audit_log, *rt->clock);
  rt->admin = std::make_unique<ops::AdminService>(*rt->identities, *rt->identity_store, *rt->plans,
                                                  *rt->counter_audit, *rt->operator_store,
                                                  *rt->audit, *rt->clock);
  return rt;
}

void Runtime::SetStoreLatencyObserver(ops::StoreLatencyObserver* observer) {
  if (sqlite) sqlite->SetLatencyObserver(observer);
  if (postgres) postgres->SetLatencyObserver(observer);
}

}  // namespace certplan::cli
