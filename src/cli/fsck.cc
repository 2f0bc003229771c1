#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/runtime.h"

namespace certplan::cli {
namespace {

// Orders reported without their creating audit record, at most.
constexpr int64_t kMaxReportedOrders = 1000;

// Recounts every package's UsedCount and IssuedCount from its orders, and checks every order
// has its creating audit record; prints the drift and the unrecorded orders as JSON and exits 1
// when there is any (0 when clean). Reports only: it fixes nothing.
int Fsck(const std::string& data_dir, const std::string& store_url) {
  RuntimeOptions options;
  options.store_url = store_url;
  Result<std::unique_ptr<Runtime>> rt = Runtime::Open(data_dir, options);
  if (!rt) return ReportFailure(rt.error());
  Result<std::vector<cas::CounterDrift>> drifts = (*rt)->counter_audit->AuditCounters();
  if (!drifts) return ReportFailure(drifts.error());
  Result<std::vector<int64_t>> unrecorded =
      (*rt)->audit_log->OrdersWithoutCreationRecord(kMaxReportedOrders);
  if (!unrecorded) return ReportFailure(unrecorded.error());
  const bool clean = drifts->empty() && unrecorded->empty();
  nlohmann::ordered_json out = {{"Clean", clean},
                                {"Drift", nlohmann::ordered_json::array()},
                                {"OrdersWithoutAuditRecord", *unrecorded}};
  for (const cas::CounterDrift& d : *drifts) {
    out["Drift"].push_back({{"AccountId", d.account_id},
                            {"ProductCode", d.product_code},
                            {"UsedCount", d.stored.used},
                            {"UsedCountRecounted", d.recounted.used},
                            {"IssuedCount", d.stored.issued},
                            {"IssuedCountRecounted", d.recounted.issued}});
  }
  std::cout << out.dump(2) << std::endl;
  return clean ? 0 : 1;
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
