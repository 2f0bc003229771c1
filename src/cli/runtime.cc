#include "cli/runtime.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "store/sqlite/sqlite_store.h"

namespace certplan::cli {

Result<std::unique_ptr<Runtime>> Runtime::Open(const std::string& data_dir) {
  if (::mkdir(data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return InvalidParameter("data-dir", "cannot create " + data_dir + ": " + std::strerror(errno));
  }
  auto rt = std::make_unique<Runtime>();
  const char* env_key = std::getenv("CERTPLAN_MASTER_KEY");
  Result<std::string> key =
      pki::LoadOrCreateMasterKey(env_key ? env_key : "", data_dir + "/master.key");
  if (!key) return key.error();
  Result<std::unique_ptr<pki::SecretBox>> box = pki::SecretBox::Create(std::move(*key));
  if (!box) return box.error();
  rt->box = std::move(*box);
  Result<std::unique_ptr<store::sqlite::SqliteStore>> db =
      store::sqlite::SqliteStore::Open(data_dir + "/certplan.db");
  if (!db) return db.error();
  rt->store = std::move(*db);
  rt->identities = std::make_unique<iam::Identities>(*rt->store, *rt->box, rt->clock);
  rt->plans = std::make_unique<cas::Plans>(*rt->store, rt->clock);
  return rt;
}

}  // namespace certplan::cli
