#pragma once

#include <memory>
#include <string>

#include "cas/plans.h"
#include "core/clock.h"
#include "iam/identities.h"
#include "pki/secret_box.h"
#include "store/store.h"

namespace certplan::cli {

// The objects every command works with, opened from one data directory: the store, the
// master key and the domain services over them.
struct Runtime {
  SystemClock clock;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<pki::SecretBox> box;
  std::unique_ptr<iam::Identities> identities;
  std::unique_ptr<cas::Plans> plans;

  // Creates the directory (0700) if needed, loads or creates the master key
  // (CERTPLAN_MASTER_KEY, else DIR/master.key) and opens DIR/certplan.db.
  static Result<std::unique_ptr<Runtime>> Open(const std::string& data_dir);
};

}  // namespace certplan::cli
