#pragma once

#include <functional>

#include <CLI/CLI.hpp>

#include "core/error.h"

namespace certplan::cli {

// Each command registers its subcommand and sets `run` to what executes it; the exit code of
// the process is what `run` returns.
using Runner = std::function<int()>;

void AddServeCommand(CLI::App& app, Runner& run);
void AddAdminCommand(CLI::App& app, Runner& run);
void AddFsckCommand(CLI::App& app, Runner& run);
void AddAuditCommand(CLI::App& app, Runner& run);

// Prints {"Code":…,"Message":…} to stderr, as every command reports a failure.
int ReportFailure(const Error& error);

}  // namespace certplan::cli
