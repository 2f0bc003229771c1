#include "cli/runtime.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

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

}  // namespace

Result<std::unique_ptr<Runtime>> Runtime::Open(const std::string& data_dir,
                                               RuntimeOptions options) {
  if (::mkdir(data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
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
      pki::BuiltinCa::Open(options.ca, rt->clock->NowSeconds());
  if (!ca) return ca.error();
  rt->ca = std::move(*ca);
  Result<std::unique_ptr<store::sqlite::SqliteStore>> db =
      store::sqlite::SqliteStore::Open(data_dir + "/certplan.db");
  if (!db) return db.error();
  rt->store = std::move(*db);
  rt->identities = std::make_unique<iam::Identities>(*rt->store, *rt->box, *rt->clock);
  rt->plans = std::make_unique<cas::Plans>(*rt->store, *rt->clock);
  rt->orders =
      std::make_unique<cas::Orders>(*rt->store, *rt->ca, *rt->box, *rt->clock, options.orders);
  return rt;
}

}  // namespace certplan::cli
