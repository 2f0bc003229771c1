#include <iostream>

#include "cli/commands.h"
#include "cli/runtime.h"
#include "ops/admin_json.h"

namespace certplan::cli {
namespace {

// Recounts every package's UsedCount and IssuedCount from its orders; prints the drift as
// JSON and exits 1 when there is any (0 when clean).
int Fsck(const std::string& data_dir, const std::string& store_url) {
  RuntimeOptions options;
  options.store_url = store_url;
  Result<std::unique_ptr<Runtime>> rt = Runtime::Open(data_dir, options);
  if (!rt) return ReportFailure(rt.error());
  // The same recount and report as the operator API's GET /v1/fsck.
  Result<std::vector<cas::CounterDrift>> drifts = (*rt)->admin->AuditCounters(ops::Actor::Cli());
  if (!drifts) return ReportFailure(drifts.error());
  std::cout << ops::FsckJson(*drifts).dump(2) << std::endl;
  return drifts->empty() ? 0 : 1;
}

}  // namespace

void AddFsckCommand(CLI::App& app, Runner& run) {
  auto data_dir = std::make_shared<std::string>("./certplan-data");
  auto store_url = std::make_shared<std::string>();
  CLI::App* fsck =
      app.add_subcommand("fsck", "Recount quota counters from orders; exit 1 on drift");
  fsck->add_option("--data-dir", *data_dir, "Data directory (default ./certplan-data)");
  fsck->add_option("--store-url", *store_url,
                   "postgresql://… (default: SQLite in the data directory)")
      ->envname("CERTPLAN_STORE_URL");
  fsck->callback([data_dir, store_url, &run] {
    run = [data_dir, store_url] { return Fsck(*data_dir, *store_url); };
  });
}

}  // namespace certplan::cli
