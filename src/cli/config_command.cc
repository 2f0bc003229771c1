// `certplan config check FILE`, `certplan init`, and the configuration loading every command
// shares.
#include <sys/stat.h>

#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/config.h"
#include "cli/runtime.h"
#include "rpc/errors.h"

namespace certplan::cli {
namespace {

using Json = nlohmann::ordered_json;

std::string HostPort(const std::string& host, uint16_t port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

int ConfigCheck(const std::string& file) {
  Config config;
  int keys_set = 0;
  ConfigProblems problems = LoadConfigFile(file, config, &keys_set);
  if (problems.empty()) {
    // The TLS keys are checked together as `serve` does, with no flags to complete them.
    if (Status s = CheckTls(config); !s) {
      problems.push_back(ConfigProblem{file, "", 0, 0, s.error().message});
    }
  }
  if (!problems.empty()) return ReportConfigProblems(problems);
  Json out = {{"Ok", true},
              {"File", file},
              {"KeysSet", keys_set},
              {"DataDir", config.data_dir},
              {"Store", config.store_url.empty() ? "sqlite" : "postgresql"},
              {"Listen", HostPort(config.server.host, config.server.port)},
              {"ListenTls", config.listen_tls},
              {"Validation",
               config.validation_mode.empty() ? "live (auto with --dev)" : config.validation_mode}};
  std::cout << out.dump() << std::endl;
  return 0;
}

struct InitFlags {
  std::string data_dir;
  std::string store_url;
  std::string config_file;
};

// Creates (or finds complete) a data directory: master key, CA, database.
int Init(const InitFlags& flags) {
  Config config;
  if (int rc = LoadConfig(flags.config_file, config); rc != 0) return rc;
  if (!flags.data_dir.empty()) config.data_dir = flags.data_dir;
  if (!flags.store_url.empty()) config.store_url = flags.store_url;
  struct stat st {};
  const bool existed = ::stat(config.data_dir.c_str(), &st) == 0;
  RuntimeOptions options;
  options.store_url = config.store_url;
  options.ca = config.ca;
  options.create = true;
  Result<std::unique_ptr<Runtime>> rt = Runtime::Open(config.data_dir, options);
  if (!rt) return ReportFailure(rt.error());
  const std::string root = config.ca.root_cert_file.empty() ? config.data_dir + "/ca/root.pem"
                                                            : config.ca.root_cert_file;
  Json out = {{"DataDir", std::filesystem::absolute(config.data_dir).lexically_normal().string()},
              {"Created", !existed},
              {"Store", config.store_url.empty() ? "sqlite" : "postgresql"},
              {"RootCertificate", std::filesystem::absolute(root).lexically_normal().string()}};
  std::cout << out.dump(2) << std::endl;
  return 0;
}

}  // namespace

int ReportConfigProblems(const ConfigProblems& problems) {
  for (const ConfigProblem& p : problems) {
    Json out = {{"Code", rpc::ToWire(ErrorCode::kInvalidParameter).code},
                {"Message", p.ToString()}};
    if (!p.key.empty()) out["Key"] = p.key;
    if (p.source != "environment") out["File"] = p.source;
    if (p.line > 0) out["Line"] = p.line, out["Column"] = p.column;
    std::cerr << out.dump() << std::endl;
  }
  return kConfigExit;
}

int LoadConfig(const std::string& config_file, Config& config) {
  if (!config_file.empty()) {
    if (ConfigProblems p = LoadConfigFile(config_file, config); !p.empty()) {
      return ReportConfigProblems(p);
    }
  }
  if (ConfigProblems p = ApplyEnvironment(config); !p.empty()) return ReportConfigProblems(p);
  return 0;
}

void AddConfigCommand(CLI::App& app, Runner& run) {
  CLI::App* config = app.add_subcommand("config", "Configuration files");
  config->require_subcommand(1);
  auto file = std::make_shared<std::string>();
  CLI::App* check = config->add_subcommand(
      "check",
      "Check a TOML configuration file as `serve` reads it, starting nothing; exit 2 "
      "naming each bad key with its line and column");
  check->add_option("FILE", *file, "TOML configuration file")->required();
  check->callback([file, &run] { run = [file] { return ConfigCheck(*file); }; });
}

void AddInitCommand(CLI::App& app, Runner& run) {
  auto flags = std::make_shared<InitFlags>();
  CLI::App* init = app.add_subcommand(
      "init", "Create a data directory (master key, CA, database); other commands only open one");
  init->add_option("--data-dir", flags->data_dir, "Data directory (default ./certplan-data)");
  init->add_option("--store-url", flags->store_url,
                   "postgresql://… (default: SQLite in the data directory)");
  init->add_option("--config", flags->config_file, "TOML configuration file")
      ->check(CLI::ExistingFile);
  init->callback([flags, &run] { run = [flags] { return Init(*flags); }; });
}

}  // namespace certplan::cli
