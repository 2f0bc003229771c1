#include "cli/config.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "testing/temp_dir.h"

namespace certplan::cli {
namespace {

class ConfigFileTest : public ::testing::Test {
 protected:
  // Writes `text` to a file and loads it into config_; returns the problems.
  ConfigProblems Load(const std::string& text) {
    path_ = dir_.File("certplan.toml");
    std::ofstream(path_) << text;
    // Loaded into a named fresh Config, then moved: assigning the temporary `Config{}` draws a
    // false -Wmaybe-uninitialized from GCC 12 at -O3 (its std::string members).
    Config loaded;
    ConfigProblems problems = LoadConfigFile(path_, loaded, &keys_set_);
    config_ = std::move(loaded);
    return problems;
  }
  // The one problem `text` must have; its message carries the file, line, column and key.
  ConfigProblem Only(const std::string& text) {
    ConfigProblems problems = Load(text);
    EXPECT_EQ(problems.size(), 1u) << text;
    if (problems.empty()) return ConfigProblem{};
    const ConfigProblem& p = problems.front();
    EXPECT_EQ(p.ToString(), path_ + ":" + std::to_string(p.line) + ":" + std::to_string(p.column) +
                                ": " + (p.key.empty() ? "" : p.key + ": ") + p.why);
    EXPECT_GT(p.line, 0) << p.ToString();
    EXPECT_GT(p.column, 0) << p.ToString();
    return p;
  }

  testing::TempDir dir_;
  std::string path_;
  Config config_;
  int keys_set_ = 0;
};

TEST_F(ConfigFileTest, EveryKnownKeyIsReadIntoItsField) {
  const ConfigProblems problems = Load(R"(
[store]
url = "postgresql://certplan@127.0.0.1:5432/certplan"
[server]
listen = "[::1]:9090"
threads = 3
data_dir = "/var/lib/certplan"
log_level = "warn"
max_connections = 500
body_budget_bytes = 2097152
listen_tls = "127.0.0.1:9443"
tls_cert = "/etc/certplan/tls.crt"
tls_key = "/etc/certplan/tls.key"
tls_names = ["certplan.internal", "10.0.0.5"]
counters_cache_milliseconds = 300
admin_listen = "127.0.0.1:8081"
admin_allow_remote = true
metrics_listen = "127.0.0.1:9999"
[limits]
header_bytes = 4096
body_bytes = 2048
read_timeout_seconds = 7
uploads_per_account = 25
acme_accounts_per_eab_key = 3
released_order_retention_days = 45
[auth]
timestamp_window_seconds = 600
replay_max_entries = 1000
replay_scope = "account"
key_cache_milliseconds = 250
[validation]
mode = "auto"
dns_server = "127.0.0.1:5353"
deadline_seconds = 3600
retry_initial_seconds = 2
retry_max_seconds = 30
poll_ms = 20
worker = false
[validation.addresses]
"www.example.com" = "127.0.0.1:8081"
[ca]
root_cert = "/etc/certplan/root.pem"
issuing_cert = "/etc/certplan/issuing.pem"
issuing_key = "/etc/certplan/issuing.key"
key_pool = 0
public_url = "http://pki.example.com:8080"
crl_validity_hours = 12
[audit]
retention_days = 90
[metrics]
per_account = true
[rate_limits]
enabled = true
preset = "none"
max_buckets = 64
[rate_limits.actions]
DescribePackageState = 50
CreateCertificateRequest = { qps = 2, burst = 5 }
)");
  ASSERT_TRUE(problems.empty()) << problems.front().ToString();
  EXPECT_EQ(keys_set_, static_cast<int>(ConfigKeys().size()));
  EXPECT_EQ(config_.metrics_listen, "127.0.0.1:9999");
  EXPECT_TRUE(config_.metrics_listen_configured);
  EXPECT_TRUE(config_.metrics_per_account);
  EXPECT_EQ(config_.audit_retention_days, 90);
  EXPECT_EQ(config_.max_uploads_per_account, 25);
  EXPECT_EQ(config_.max_acme_accounts_per_eab_key, 3);
  EXPECT_EQ(config_.released_order_retention_days, 45);
  EXPECT_TRUE(config_.rate_limits.enabled);
  EXPECT_EQ(config_.rate_limits.preset, "none");
  EXPECT_EQ(config_.rate_limits.max_buckets, 64);
  ASSERT_EQ(config_.rate_limits.actions.size(), 2u);
  EXPECT_EQ(config_.rate_limits.actions.at("DescribePackageState").qps, 50);
  EXPECT_EQ(config_.rate_limits.actions.at("DescribePackageState").burst, 50);
  EXPECT_EQ(config_.rate_limits.actions.at("CreateCertificateRequest").qps, 2);
  EXPECT_EQ(config_.rate_limits.actions.at("CreateCertificateRequest").burst, 5);
  EXPECT_EQ(config_.store_url, "postgresql://certplan@127.0.0.1:5432/certplan");
  EXPECT_EQ(config_.server.host, "::1");
  EXPECT_EQ(config_.server.port, 9090);
  EXPECT_EQ(config_.server.threads, 3);
  EXPECT_EQ(config_.counters_cache_milliseconds, 300);
  EXPECT_EQ(config_.admin_listen, "127.0.0.1:8081");
  EXPECT_TRUE(config_.admin_allow_remote);
  EXPECT_EQ(config_.public_url, "http://pki.example.com:8080");
  EXPECT_EQ(config_.crl_validity_hours, 12);
  EXPECT_EQ(config_.data_dir, "/var/lib/certplan");
  EXPECT_EQ(config_.log_level, "warn");
  EXPECT_EQ(config_.server.max_connections, 500u);
  EXPECT_EQ(config_.server.body_budget_bytes, 2097152u);
  EXPECT_EQ(config_.listen_tls, "127.0.0.1:9443");
  EXPECT_EQ(config_.tls_cert, "/etc/certplan/tls.crt");
  EXPECT_EQ(config_.tls_key, "/etc/certplan/tls.key");
  EXPECT_EQ(config_.tls_names, (std::vector<std::string>{"certplan.internal", "10.0.0.5"}));
  EXPECT_EQ(config_.server.limits.header_bytes, 4096u);
  EXPECT_EQ(config_.server.limits.body_bytes, 2048u);
  EXPECT_EQ(config_.server.limits.read_timeout, std::chrono::seconds(7));
  EXPECT_EQ(config_.timestamp_window_seconds, 600);
  EXPECT_EQ(config_.replay_max_entries, 1000);
  EXPECT_EQ(config_.replay_scope, auth::ReplayOptions::Scope::kAccount);
  EXPECT_EQ(config_.key_cache_milliseconds, 250);
  EXPECT_EQ(config_.validation_mode, "auto");
  EXPECT_EQ(config_.checker.dns.host, "127.0.0.1");
  EXPECT_EQ(config_.checker.dns.port, 5353);
  EXPECT_EQ(config_.orders.validation_deadline_seconds, 3600);
  EXPECT_EQ(config_.orders.retry_initial_seconds, 2);
  EXPECT_EQ(config_.orders.retry_max_seconds, 30);
  EXPECT_EQ(config_.validator_poll_ms, 20);
  EXPECT_FALSE(config_.validation_worker);
  EXPECT_EQ(config_.checker.addresses.at("www.example.com"), "127.0.0.1:8081");
  EXPECT_EQ(config_.ca.root_cert_file, "/etc/certplan/root.pem");
  EXPECT_EQ(config_.ca.issuing_cert_file, "/etc/certplan/issuing.pem");
  EXPECT_EQ(config_.ca.issuing_key_file, "/etc/certplan/issuing.key");
  EXPECT_EQ(config_.key_pool, 0);
}

TEST_F(ConfigFileTest, AnEmptyFileKeepsTheDefaults) {
  ASSERT_TRUE(Load("# nothing\n").empty());
  EXPECT_EQ(keys_set_, 0);
  EXPECT_EQ(config_.server.threads, 0);
  EXPECT_EQ(config_.data_dir, "./certplan-data");
  EXPECT_TRUE(config_.validation_worker);
  EXPECT_EQ(config_.max_acme_accounts_per_eab_key, 1000);
  EXPECT_EQ(config_.released_order_retention_days, 90);
}

TEST_F(ConfigFileTest, UnknownKeyIsRefusedWithLineColumnAndTheNearMiss) {
  const ConfigProblem p = Only("[server]\nlisten = \"127.0.0.1:8080\"\n  threds = 4\n");
  EXPECT_EQ(p.source, path_);
  EXPECT_EQ(p.key, "server.threds");
  EXPECT_EQ(p.line, 3);
  EXPECT_EQ(p.column, 3);
  EXPECT_NE(p.why.find("unknown key"), std::string::npos) << p.why;
  EXPECT_NE(p.why.find("did you mean \"server.threads\"?"), std::string::npos) << p.why;
  EXPECT_EQ(p.ToString(), path_ + ":3:3: server.threds: " + p.why);
}

TEST_F(ConfigFileTest, UnknownSectionIsRefusedWithTheNearMiss) {
  const ConfigProblem p = Only("[server]\nthreads = 2\n\n[validaton]\nmode = \"auto\"\n");
  EXPECT_EQ(p.key, "[validaton]");
  EXPECT_EQ(p.line, 4);
  EXPECT_EQ(p.column, 2);
  EXPECT_NE(p.why.find("unknown section"), std::string::npos) << p.why;
  EXPECT_NE(p.why.find("did you mean \"validation\"?"), std::string::npos) << p.why;
}

TEST_F(ConfigFileTest, TransposedLettersAreOneEditAway) {
  const ConfigProblem p = Only("[server]\nlisten_tsl = \"127.0.0.1:8443\"\n");
  EXPECT_EQ(p.key, "server.listen_tsl");
  EXPECT_EQ(p.line, 2);
  EXPECT_EQ(p.column, 1);
  EXPECT_NE(p.why.find("did you mean \"server.listen_tls\"?"), std::string::npos) << p.why;
}

TEST_F(ConfigFileTest, AKnownKeyOutsideItsSectionPointsThere) {
  const ConfigProblem p = Only("threads = 4\n");
  EXPECT_EQ(p.key, "threads");
  EXPECT_EQ(p.line, 1);
  EXPECT_EQ(p.column, 1);
  EXPECT_NE(p.why.find("did you mean \"server.threads\"?"), std::string::npos) << p.why;
  const ConfigProblem q = Only("[limits]\nthreads = 4\n");
  EXPECT_EQ(q.key, "limits.threads");
  EXPECT_NE(q.why.find("did you mean \"server.threads\"?"), std::string::npos) << q.why;
}

TEST_F(ConfigFileTest, AnUnrelatedNameGetsNoGuess) {
  const ConfigProblem p = Only("[server]\nfrobnicate = true\n");
  EXPECT_EQ(p.key, "server.frobnicate");
  EXPECT_EQ(p.why, "unknown key in [server].");
  const ConfigProblem q = Only("[metricz2000]\nx = 1\n");
  EXPECT_EQ(q.key, "[metricz2000]");
  EXPECT_EQ(q.why, "unknown section.");
  const ConfigProblem r = Only("[server.x]\n");  // not "did you mean server?"
  EXPECT_EQ(r.key, "[server.x]");
  EXPECT_EQ(r.why, "unknown section in [server].");
}

TEST_F(ConfigFileTest, WrongTypeIsRefusedAtTheValue) {
  ConfigProblem p = Only("[server]\nthreads = \"4\"\n");
  EXPECT_EQ(p.key, "server.threads");
  EXPECT_EQ(p.line, 2);
  EXPECT_EQ(p.column, 11);
  EXPECT_EQ(p.why, "integer 0-256 is required; a string was given.");
  p = Only("[server]\nthreads = 4.0\n");
  EXPECT_EQ(p.why, "integer 0-256 is required; a float was given.");
  p = Only("[validation]\nworker = \"no\"\n");
  EXPECT_EQ(p.key, "validation.worker");
  EXPECT_EQ(p.why, "true or false is required; a string was given.");
  p = Only("[server]\nlisten = 8080\n");
  EXPECT_EQ(p.key, "server.listen");
  EXPECT_EQ(p.why, "a \"HOST:PORT\" string is required; an integer was given.");
  p = Only("[server]\ntls_names = \"not-a-list\"\n");
  EXPECT_EQ(p.key, "server.tls_names");
  EXPECT_EQ(p.why, "an array of strings is required; a string was given.");
  p = Only("[validation]\naddresses = \"127.0.0.1:1\"\n");
  EXPECT_EQ(p.key, "validation.addresses");
  EXPECT_EQ(p.why, "a table of strings is required; a string was given.");
  p = Only("server = 3\n");
  EXPECT_EQ(p.key, "server");
  EXPECT_EQ(p.why, "[server] is a section; an integer was given.");
}

TEST_F(ConfigFileTest, OutOfRangeIsRefusedWithTheRange) {
  ConfigProblem p = Only("[server]\nthreads = 300\n");
  EXPECT_EQ(p.key, "server.threads");
  EXPECT_EQ(p.line, 2);
  EXPECT_EQ(p.column, 11);
  EXPECT_EQ(p.why, "integer 0-256 is required.");
  p = Only("[server]\nmax_connections = 0\n");
  EXPECT_EQ(p.key, "server.max_connections");
  EXPECT_EQ(p.why, "integer 1-1000000 is required.");
  p = Only("[ca]\nkey_pool = -1\n");
  EXPECT_EQ(p.why, "integer 0-1024 is required.");
  p = Only("[auth]\nreplay_max_entries = 29\n");
  EXPECT_EQ(p.why, "integer 30-1000000000 is required.");
  p = Only("[limits]\nacme_accounts_per_eab_key = 0\n");
  EXPECT_EQ(p.key, "limits.acme_accounts_per_eab_key");
  EXPECT_EQ(p.why, "integer 1-1000000 is required.");
  p = Only("[limits]\nreleased_order_retention_days = 0\n");
  EXPECT_EQ(p.key, "limits.released_order_retention_days");
  EXPECT_EQ(p.why, "integer 1-36500 is required.");
}

TEST_F(ConfigFileTest, BadValuesOfTheRightTypeAreRefused) {
  ConfigProblem p = Only("[validation]\nmode = \"atuo\"\n");
  EXPECT_EQ(p.key, "validation.mode");
  EXPECT_EQ(p.why, "use \"live\" or \"auto\".");
  p = Only("[server]\nlog_level = \"loud\"\n");
  EXPECT_EQ(p.why, "use \"debug\", \"info\", \"warn\" or \"error\".");
  p = Only("[auth]\nreplay_scope = \"key\"\n");
  EXPECT_EQ(p.why, "use \"access_key\" or \"account\".");
  p = Only("[server]\nlisten_tls = \"nowhere\"\n");
  EXPECT_EQ(p.key, "server.listen_tls");
  EXPECT_EQ(p.why, "use HOST:PORT, e.g. 127.0.0.1:8080.");
  p = Only("[server]\nlisten = \"localhost:8080\"\n");
  EXPECT_EQ(p.why, "\"localhost\" is not an IP address.");
  p = Only("[server]\nlisten = \"127.0.0.1:70000\"\n");
  EXPECT_EQ(p.why, "use HOST:PORT, e.g. 127.0.0.1:8080.");
  p = Only("[validation]\ndns_server = \"resolver:53\"\n");
  EXPECT_EQ(p.why, "use IPV4:PORT, e.g. 127.0.0.1:5353.");
  p = Only("[store]\nurl = \"postgress://x@127.0.0.1/db\"\n");
  EXPECT_EQ(p.key, "store.url");
  EXPECT_EQ(p.why, "use postgresql://USER@HOST:PORT/DB (or leave it empty).");
  p = Only("[server]\ndata_dir = \"\"\n");
  EXPECT_EQ(p.why, "must not be empty.");
}

TEST_F(ConfigFileTest, FreeFormChildrenHaveTheirValuesChecked) {
  ConfigProblem p =
      Only("[validation.addresses]\n\"a.example\" = \"127.0.0.1:1\"\n\"b.example\" = 5\n");
  EXPECT_EQ(p.key, "validation.addresses.\"b.example\"");
  EXPECT_EQ(p.line, 3);
  EXPECT_EQ(p.column, 15);
  EXPECT_EQ(p.why, "a string is required; an integer was given.");
  p = Only("[validation.addresses]\n\"a.example\" = \"no-port\"\n");
  EXPECT_EQ(p.why, "values are \"HOST:PORT\" strings.");
  // Two bad items: both named.
  ConfigProblems both = Load("[server]\ntls_names = [\"a.example\", 3, \"\"]\n");
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[0].key, "server.tls_names[1]");
  EXPECT_EQ(both[0].column, 27);
  EXPECT_EQ(both[1].key, "server.tls_names[2]");
  EXPECT_EQ(both[1].why, "a non-empty string is required.");
}

TEST_F(ConfigFileTest, RateLimitActionsAreCheckedPerAction) {
  ConfigProblem p = Only("[rate_limits.actions]\nNoSuchAction = 5\n");
  EXPECT_EQ(p.key, "rate_limits.actions.NoSuchAction");
  EXPECT_EQ(p.line, 2);
  EXPECT_EQ(p.why, "not an Action certplan serves.");
  p = Only("[rate_limits.actions]\nDescribePackageState = -1\n");
  EXPECT_EQ(p.key, "rate_limits.actions.DescribePackageState");
  EXPECT_EQ(p.why, "qps must be from 0 to 1000000.");
  p = Only("[rate_limits.actions]\nDescribePackageState = \"fast\"\n");
  EXPECT_EQ(p.why, "a number of requests a second, or { qps = N, burst = M }, is required.");
  p = Only("[rate_limits.actions]\nDescribePackageState = { qps = 1, burst = 0 }\n");
  EXPECT_EQ(p.why, "burst must be a number from 1 to 1000000.");
  p = Only("[rate_limits.actions]\nDescribePackageState = { qps = 1, burts = 3 }\n");
  EXPECT_EQ(p.why, "a table takes qps and burst only.");
  p = Only("[rate_limits.actions]\nDescribePackageState = { burst = 3 }\n");
  EXPECT_EQ(p.why, "give qps, a number of requests a second.");
  p = Only("[rate_limits]\nactions = 5\n");
  EXPECT_EQ(p.key, "rate_limits.actions");
  EXPECT_EQ(p.why, "a table of Action = qps is required; an integer was given.");
  p = Only("[rate_limits]\npreset = \"aws\"\n");
  EXPECT_EQ(p.key, "rate_limits.preset");
  p = Only("[server]\nmetrics_listen = \"nowhere\"\n");
  EXPECT_EQ(p.key, "server.metrics_listen");
  EXPECT_EQ(p.why, "use HOST:PORT, e.g. 127.0.0.1:9464, or \"\" for none.");
  // A float qps is a rate (0.5: one request every two seconds).
  EXPECT_TRUE(Load("[rate_limits.actions]\nDescribePackageState = 0.5\n").empty());
  EXPECT_EQ(config_.rate_limits.actions.at("DescribePackageState").qps, 0.5);
  EXPECT_EQ(config_.rate_limits.actions.at("DescribePackageState").burst, 1);
}

TEST_F(ConfigFileTest, EveryProblemIsReportedAtOnce) {
  const ConfigProblems problems =
      Load("[server]\nthreds = 4\nlisten_tsl = \"127.0.0.1:1\"\n[validaton]\nmode = \"auto\"\n");
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(problems[0].line, 2);
  EXPECT_EQ(problems[1].line, 3);
  EXPECT_EQ(problems[2].line, 4);
}

TEST_F(ConfigFileTest, KeysThatBelongTogetherAreCheckedTogether) {
  ConfigProblems problems = Load("[ca]\nroot_cert = \"/r.pem\"\n");
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].key, "ca.issuing_cert");
  EXPECT_EQ(problems[1].key, "ca.issuing_key");
  EXPECT_EQ(problems[0].line, 1);
  EXPECT_NE(problems[0].why.find("together"), std::string::npos);
  const ConfigProblem p = Only("[server]\nbody_budget_bytes = 65536\n");
  EXPECT_EQ(p.key, "server.body_budget_bytes");
  EXPECT_EQ(p.line, 2);
  EXPECT_NE(p.why.find("limits.body_bytes"), std::string::npos);
}

TEST_F(ConfigFileTest, TomlSyntaxErrorsCarryTheirPosition) {
  const ConfigProblem p = Only("[server]\nthreads = = 4\n");
  EXPECT_EQ(p.key, "");
  EXPECT_EQ(p.line, 2);
  EXPECT_GT(p.column, 0);
  EXPECT_NE(p.why.find("not valid TOML"), std::string::npos);
}

TEST(ConfigFile, AMissingFileIsAProblem) {
  Config config;
  const ConfigProblems problems = LoadConfigFile("/nonexistent/certplan.toml", config);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].source, "/nonexistent/certplan.toml");
  EXPECT_EQ(problems[0].why, "cannot be read: No such file or directory");
}

// Sets environment variables for one test and restores them after.
class ScopedEnv {
 public:
  ScopedEnv(std::initializer_list<std::pair<const char*, const char*>> vars) {
    for (auto [name, value] : vars) {
      const char* old = std::getenv(name);
      saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
      ::setenv(name, value, 1);
    }
  }
  ~ScopedEnv() {
    for (const auto& [name, value] : saved_) {
      if (value) {
        ::setenv(name.c_str(), value->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST(ConfigEnvironment, GoodValuesApply) {
  ScopedEnv env({{"CERTPLAN_THREADS", "5"},
                 {"CERTPLAN_LISTEN", "127.0.0.1:9000"},
                 {"CERTPLAN_DATA_DIR", "/srv/certplan"},
                 {"CERTPLAN_LOG_LEVEL", "debug"},
                 {"CERTPLAN_STORE_URL", ""}});
  Config config;
  const ConfigProblems problems = ApplyEnvironment(config);
  ASSERT_TRUE(problems.empty()) << problems.front().ToString();
  EXPECT_EQ(config.server.threads, 5);
  EXPECT_EQ(config.server.port, 9000);
  EXPECT_EQ(config.data_dir, "/srv/certplan");
  EXPECT_EQ(config.log_level, "debug");
  EXPECT_EQ(config.store_url, "");  // empty variables are ignored
}

TEST(ConfigEnvironment, BadValuesNameTheVariable) {
  ScopedEnv env({{"CERTPLAN_THREADS", "4x"},
                 {"CERTPLAN_LISTEN", "127.0.0.1"},
                 {"CERTPLAN_LOG_LEVEL", "loud"},
                 {"CERTPLAN_STORE_URL", "mysql://x"}});
  Config config;
  const ConfigProblems problems = ApplyEnvironment(config);
  std::map<std::string, std::string> by_key;
  for (const ConfigProblem& p : problems) {
    EXPECT_EQ(p.source, "environment");
    EXPECT_EQ(p.line, 0);
    by_key[p.key] = p.why;
  }
  ASSERT_EQ(by_key.size(), 4u);
  EXPECT_EQ(by_key["CERTPLAN_THREADS"], "(server.threads) integer 0-256 is required.");
  EXPECT_EQ(by_key["CERTPLAN_LISTEN"], "(server.listen) use HOST:PORT, e.g. 127.0.0.1:8080.");
  EXPECT_NE(by_key["CERTPLAN_LOG_LEVEL"].find("\"debug\""), std::string::npos);
  EXPECT_NE(by_key["CERTPLAN_STORE_URL"].find("postgresql://"), std::string::npos);
  EXPECT_EQ(problems.front().ToString().rfind("environment: CERTPLAN_", 0), 0u);
}

TEST(ConfigEnvironment, OutOfRangeNamesTheVariable) {
  ScopedEnv env({{"CERTPLAN_THREADS", "257"}});
  Config config;
  const ConfigProblems problems = ApplyEnvironment(config);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].key, "CERTPLAN_THREADS");
}

TEST(ConfigKeysTable, RowsAreWellFormed) {
  std::set<std::string_view> seen;
  for (const ConfigKey& k : ConfigKeys()) {
    EXPECT_TRUE(seen.insert(k.key).second) << "twice: " << k.key;
    EXPECT_NE(k.key.find('.'), std::string_view::npos) << k.key << ": SECTION.NAME";
    EXPECT_NE(k.set, nullptr) << k.key;
    if (k.type == KeyType::kInteger) {
      EXPECT_LE(k.min, k.max) << k.key;
    }
    if (!k.env.empty()) {
      EXPECT_EQ(k.env.rfind("CERTPLAN_", 0), 0u) << k.key;
    }
  }
}

// README's configuration table lists every key with its type, default and variable; it and the
// table in config.cc must name the same keys with the same types and variables.
TEST(ConfigKeysTable, ReadmeListsExactlyTheKnownKeys) {
  std::ifstream in(std::string(CERTPLAN_SOURCE_DIR) + "/README.md");
  ASSERT_TRUE(in);
  std::string line;
  bool in_section = false;
  std::map<std::string, std::pair<std::string, std::string>> readme;  // key -> {type, env}
  while (std::getline(in, line)) {
    if (line.rfind("### ", 0) == 0) in_section = line == "### Configuration";
    if (!in_section || line.rfind("| `", 0) != 0) continue;
    std::vector<std::string> cells;
    std::stringstream row(line.substr(1));
    for (std::string cell; std::getline(row, cell, '|');) {
      const size_t a = cell.find_first_not_of(' '), b = cell.find_last_not_of(' ');
      cells.push_back(a == std::string::npos ? "" : cell.substr(a, b - a + 1));
    }
    ASSERT_GE(cells.size(), 5u) << line;
    auto unquote = [](std::string s) {
      return s.size() >= 2 && s.front() == '`' && s.back() == '`' ? s.substr(1, s.size() - 2) : s;
    };
    const std::string env = cells[3] == "-" ? "" : unquote(cells[3]);
    EXPECT_TRUE(readme.emplace(unquote(cells[0]), std::pair{cells[1], env}).second) << line;
  }
  ASSERT_FALSE(readme.empty()) << "README has no configuration table";
  for (const ConfigKey& k : ConfigKeys()) {
    auto it = readme.find(std::string(k.key));
    if (it == readme.end()) {
      ADD_FAILURE() << "README's configuration table lacks " << k.key;
      continue;
    }
    EXPECT_EQ(it->second.first, DescribeType(k)) << k.key;
    EXPECT_EQ(it->second.second, k.env) << k.key;
    readme.erase(it);
  }
  for (const auto& [key, unused] : readme) ADD_FAILURE() << "README lists an unknown key " << key;
}

}  // namespace
}  // namespace certplan::cli
