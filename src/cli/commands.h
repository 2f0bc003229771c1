#pragma once

#include <functional>

#include <CLI/CLI.hpp>

#include "cli/config.h"
#include "core/error.h"

namespace certplan::cli {

// Each command registers its subcommand and sets `run` to what executes it; the exit code of
// the process is what `run` returns.
using Runner = std::function<int()>;

void AddServeCommand(CLI::App& app, Runner& run);
void AddAdminCommand(CLI::App& app, Runner& run);
void AddFsckCommand(CLI::App& app, Runner& run);
void AddInitCommand(CLI::App& app, Runner& run);
void AddConfigCommand(CLI::App& app, Runner& run);
void AddAuditCommand(CLI::App& app, Runner& run);

// Prints {"Code":…,"Message":…} to stderr, as every command reports a failure.
int ReportFailure(const Error& error);

// Exit code of a command refused for its configuration (a bad file, variable or combination).
inline constexpr int kConfigExit = 2;

// Prints each problem as {"Code":"InvalidParameter","Message":…,"Key":…,"File":…,"Line":…,
// "Column":…} on its own line of stderr; returns kConfigExit.
int ReportConfigProblems(const ConfigProblems& problems);

// The configuration every command runs with: defaults, then `config_file` (when not empty),
// then the environment; flags are the caller's to apply. 0, or kConfigExit once the problems
// are printed.
int LoadConfig(const std::string& config_file, Config& config);

}  // namespace certplan::cli
