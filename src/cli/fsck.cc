#include <iostream>

#include "cli/commands.h"
#include "cli/runtime.h"
#include "ops/admin_json.h"

namespace certplan::cli {
namespace {

// Orders reported without their creating audit record, at most.
constexpr int64_t kMaxReportedOrders = 1000;

// Recounts every package's UsedCount and IssuedCount from its orders, recounts the list
// counters (orders per account and state, and per created_at bucket) from the orders, and
// checks every order has its creating audit record; prints the drift, every list counter
// mismatch and the unrecorded orders as JSON and exits 1 when there is any (0 when clean).
// Reports only: it fixes nothing.
int Fsck(const std::string& data_dir, const std::string& store_url,
         const std::string& config_file) {
  Config config;
  if (int rc = LoadConfig(config_file, config); rc != 0) return rc;
  if (!data_dir.empty()) config.data_dir = data_dir;
  if (!store_url.empty()) config.store_url = store_url;
  RuntimeOptions options;
  options.store_url = config.store_url;
  options.ca = config.ca;
  Result<std::unique_ptr<Runtime>> rt = Runtime::Open(config.data_dir, options);
  if (!rt) return ReportFailure(rt.error());
  // The same recount and report as the operator API's GET /v1/fsck.
  Result<std::vector<cas::CounterDrift>> drifts = (*rt)->admin->AuditCounters(ops::Actor::Cli());
  if (!drifts) return ReportFailure(drifts.error());
  Result<std::vector<int64_t>> unrecorded =
      (*rt)->audit_log->OrdersWithoutCreationRecord(kMaxReportedOrders);
  if (!unrecorded) return ReportFailure(unrecorded.error());
  Result<std::vector<cas::ListCountDrift>> list_counts = (*rt)->counter_audit->AuditListCounts();
  if (!list_counts) return ReportFailure(list_counts.error());
  ops::Json out = ops::FsckJson(*drifts);
  const bool clean = drifts->empty() && unrecorded->empty() && list_counts->empty();
  out["Clean"] = clean;
  out["OrdersWithoutAuditRecord"] = *unrecorded;
  out["ListCountDrift"] = ops::ListCountDriftJson(*list_counts);
  std::cout << out.dump(2) << std::endl;
  return clean ? 0 : 1;
}

}  // namespace

void AddFsckCommand(CLI::App& app, Runner& run) {
  auto data_dir = std::make_shared<std::string>();  // empty: the configuration's
  auto store_url = std::make_shared<std::string>();
  auto config_file = std::make_shared<std::string>();
  CLI::App* fsck =
      app.add_subcommand("fsck", "Recount quota counters from orders; exit 1 on drift");
  fsck->add_option("--data-dir", *data_dir, "Data directory (default ./certplan-data)");
  fsck->add_option("--store-url", *store_url,
                   "postgresql://… (default: SQLite in the data directory)")
      ->envname("CERTPLAN_STORE_URL");
  fsck->add_option("--config", *config_file, "TOML configuration file (data_dir, store, ca)")
      ->check(CLI::ExistingFile);
  fsck->callback([data_dir, store_url, config_file, &run] {
    run = [data_dir, store_url, config_file] { return Fsck(*data_dir, *store_url, *config_file); };
  });
}

}  // namespace certplan::cli
