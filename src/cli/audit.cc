// `certplan audit`: an account's audit trail, read page by page through the store's
// (account_id, time, id) index, printed as JSON lines or CSV.
#include <iostream>
#include <limits>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/runtime.h"
#include "ops/audit_trail.h"

namespace certplan::cli {
namespace {

struct AuditFlags {
  std::string data_dir = "./certplan-data";
  std::string store_url;
  int64_t account = 0;
  std::string since;
  std::string until;
  std::string format = "jsonl";
};

// RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled.
std::string CsvField(const std::string& v) {
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

void PrintCsvRow(const std::vector<std::string>& fields) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) line += ',';
    line += CsvField(fields[i]);
  }
  std::cout << line << '\n';
}

void PrintJsonLine(const audit::Record& r) {
  const std::vector<std::string_view> names = ops::AuditFieldNames();
  const std::vector<std::string> values = ops::AuditFieldValues(r);
  nlohmann::ordered_json line;
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string key(names[i]);
    if (key == "Id") {
      line[key] = r.id;
    } else if (key == "AccountId") {
      line[key] = r.account_id;
    } else {
      line[key] = values[i];
    }
  }
  std::cout << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

int Audit(const AuditFlags& f) {
  std::optional<int64_t> since = ops::ParseAuditTime(f.since);
  if (!since) {
    return ReportFailure(InvalidParameter("since",
                                          "use RFC 3339 (2026-01-01T00:00:00Z) or unix "
                                          "seconds."));
  }
  std::optional<int64_t> until = std::numeric_limits<int64_t>::max();
  if (!f.until.empty()) until = ops::ParseAuditTime(f.until);
  if (!until) {
    return ReportFailure(InvalidParameter("until",
                                          "use RFC 3339 (2026-01-01T00:00:00Z) or unix "
                                          "seconds."));
  }
  if (f.format != "jsonl" && f.format != "csv") {
    return ReportFailure(InvalidParameter("format", "use jsonl or csv."));
  }
  RuntimeOptions options;
  options.store_url = f.store_url;
  Result<std::unique_ptr<Runtime>> rt = Runtime::Open(f.data_dir, options);
  if (!rt) return ReportFailure(rt.error());
  if (f.format == "csv") {
    std::vector<std::string> header;
    for (std::string_view n : ops::AuditFieldNames()) header.emplace_back(n);
    PrintCsvRow(header);
  }
  std::optional<ops::AuditCursor> cursor;
  do {
    Result<ops::AuditPage> page =
        (*rt)->audit->Read(f.account, *since, *until, cursor, ops::AuditTrail::kMaxPage);
    if (!page) return ReportFailure(page.error());
    for (const audit::Record& r : page->records) {
      if (f.format == "csv") {
        PrintCsvRow(ops::AuditFieldValues(r));
      } else {
        PrintJsonLine(r);
      }
    }
    cursor = page->next;
  } while (cursor);
  std::cout.flush();
  return 0;
}

}  // namespace

void AddAuditCommand(CLI::App& app, Runner& run) {
  auto f = std::make_shared<AuditFlags>();
  CLI::App* cmd = app.add_subcommand("audit", "Print an account's audit trail (oldest first)");
  cmd->add_option("--data-dir", f->data_dir, "Data directory (default ./certplan-data)");
  cmd->add_option("--store-url", f->store_url,
                  "postgresql://… (default: SQLite in the data directory)")
      ->envname("CERTPLAN_STORE_URL");
  cmd->add_option("--account", f->account, "Account id")->required();
  cmd->add_option("--since", f->since, "From this time on: RFC 3339 or unix seconds")->required();
  cmd->add_option("--until", f->until, "Before this time (default: no end)");
  cmd->add_option("--format", f->format, "jsonl (default) or csv");
  cmd->callback([f, &run] { run = [f] { return Audit(*f); }; });
}

}  // namespace certplan::cli
