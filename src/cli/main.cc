#include <sys/stat.h>

#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/log.h"
#include "rpc/errors.h"

namespace certplan::cli {

int ReportFailure(const Error& error) {
  nlohmann::ordered_json out = {{"Code", rpc::ToWire(error.code).code}, {"Message", error.message}};
  if (!error.detail.empty()) out["Detail"] = error.detail;  // operator's own terminal
  std::cerr << out.dump() << std::endl;
  return 1;
}

}  // namespace certplan::cli

int main(int argc, char** argv) {
  using namespace certplan;
  // Everything certplan writes (database, keys) is for its own user only.
  ::umask(077);
  CLI::App app("certplan: a self-hosted Certificate Management Service (CAS API 2020-04-07)");
  app.require_subcommand(1);
  cli::Runner run;
  cli::AddServeCommand(app, run);
  cli::AddAdminCommand(app, run);
  cli::AddFsckCommand(app, run);
  cli::AddInitCommand(app, run);
  cli::AddConfigCommand(app, run);
  cli::AddAuditCommand(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  try {
    return run ? run() : 2;
  } catch (const std::exception& e) {
    log::Line(log::Level::kError, "fatal").Str("error", e.what()).Write();
    return 1;
  }
}
