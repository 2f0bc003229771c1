#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "acme/acme_store.h"
#include "api/rate_limiter.h"
#include "auth/replay_guard.h"
#include "cas/certificates.h"
#include "cas/orders.h"
#include "core/result.h"
#include "http/server.h"
#include "pki/builtin_ca.h"
#include "validation/live_checker.h"

namespace certplan::cli {

// [rate_limits]: per account, per Action token buckets (README "Rate limits").
struct RateLimitConfig {
  bool enabled = false;
  std::string preset = "cas";  // "cas": spec's QPS/account table; "none": only `actions`
  int64_t max_buckets = 100'000;
  // [rate_limits.actions]: by Action name, over the preset; qps 0 lifts the limit.
  std::map<std::string, api::RateLimit> actions;
};

// Everything a command can be told. Precedence: flags > environment > TOML file > defaults
// (see README "Configuration"). Every key of the file is one row of ConfigKeys().
struct Config {
  std::string data_dir = "./certplan-data";
  http::ServerOptions server;
  int64_t timestamp_window_seconds = 900;
  int64_t key_cache_milliseconds = 1000;
  // server.counters_cache_milliseconds: DescribePackageState's counters kept in memory at most
  // this long (and never past the second they were read in); 0: read the store every time.
  // Changes made through this node are seen at once (cas::CounterCache).
  int64_t counters_cache_milliseconds = 1000;
  // auth.replay_max_entries: nonces ONE share (an AccessKey, or an account with
  // auth.replay_scope = "account") remembers over 2 × the timestamp window; no longer a pool
  // shared by every key. Default: 40,000 requests a second for 1,800 s.
  int64_t replay_max_entries = 72'000'000;
  auth::ReplayOptions::Scope replay_scope = auth::ReplayOptions::Scope::kAccessKey;
  std::string log_level = "info";
  std::string store_url;  // [store] url, CERTPLAN_STORE_URL, --store-url
  // validation.mode: "live" (real DNS/HTTP checks) or "auto" (approve at once). Unset: auto
  // with --dev, live otherwise.
  std::string validation_mode;
  cas::OrderSettings orders;
  validation::CheckerSettings checker;
  int64_t validator_poll_ms = 500;
  // validation.worker = false: this node serves the API only; other nodes (sharing the
  // PostgreSQL store) validate and issue.
  bool validation_worker = true;
  pki::CaFiles ca;  // dir defaults to DATA_DIR/ca
  // ca.key_pool: RSA keys made ahead of time for CreateCertificateRequest (0: none).
  int64_t key_pool = 8;
  // ca.public_url: where relying parties reach this service over plain HTTP, e.g.
  // "http://pki.example.com:8080"; order certificates then carry PUBLIC_URL/pki/crl (CRL
  // distribution point) and PUBLIC_URL/pki/ocsp, PUBLIC_URL/pki/issuer.crt (authority
  // information access). Empty: no such extensions (the CRL and OCSP are served all the same).
  std::string public_url;
  // ca.crl_validity_hours: nextUpdate − thisUpdate of the CRL (signed again halfway through).
  int64_t crl_validity_hours = 24;
  // HTTPS: on when listen_tls is set ([server] listen_tls, --listen-tls). With tls_cert and
  // tls_key (PEM files, reloaded on SIGHUP) the operator's certificate is served; without, one
  // issued by the built-in CA for the listen host and tls_names, kept under DATA_DIR/tls.
  std::string listen_tls;
  std::string tls_cert;
  std::string tls_key;
  std::vector<std::string> tls_names;
  // The operator API ([server] admin_listen, --admin-listen): HOST:PORT of its own plain-HTTP
  // listener; empty (the default): off. Bearer tokens travel in clear, so the host must be a
  // loopback address unless admin_allow_remote = true (for a TLS-terminating proxy or a private
  // network the operator vouches for).
  std::string admin_listen;
  bool admin_allow_remote = false;
  // [server] metrics_listen: HOST:PORT of the /metrics listener, "" for none. At the default
  // an address in use only logs a warning (another certplan on this host has it); a configured
  // one that cannot be bound stops serve.
  std::string metrics_listen = "127.0.0.1:9464";
  bool metrics_listen_configured = false;
  bool metrics_per_account = false;  // [metrics] per_account
  RateLimitConfig rate_limits;
  // [audit] retention_days: records older than this are pruned (at start, then hourly, in
  // bounded batches).
  int64_t audit_retention_days = 365;
  // [limits] uploads_per_account: repository uploads one account may hold at once.
  int64_t max_uploads_per_account = cas::Certificates::kDefaultMaxUploads;
  // [limits] acme_accounts_per_eab_key: ACME accounts one EAB key binds over its life.
  int64_t max_acme_accounts_per_eab_key = acme::kDefaultMaxAccountsPerEabKey;
  // [limits] released_order_retention_days: orders that gave their unit back are deleted this
  // long after they were cancelled or deleted, or after the certificate of one revoked with a
  // refund expired (at start, then hourly, in bounded batches; cas::Orders::PruneReleased).
  int64_t released_order_retention_days = 90;
};

// What a key's value must be. The file must hold exactly this TOML type (an integer is not a
// float nor a string); an environment variable holds its text.
enum class KeyType {
  kInteger,      // within [min, max]
  kBoolean,      // true or false ("true"/"false" in the environment)
  kString,       // any string; `choices` ("auto|live") restricts it
  kHostPort,     // "HOST:PORT" or "[V6]:PORT", port 0-65535
  kStringArray,  // an array of non-empty strings
  kStringTable,  // a table whose keys are free-form and whose values are strings
  kRateTable,    // a table of Action = qps (a number) or { qps = N, burst = M }
};

// A value that passed its key's type and range, handed to the key's setter.
struct ConfigValue {
  int64_t integer = 0;
  bool boolean = false;
  std::string text;                                           // kString, kHostPort
  std::vector<std::string> list;                              // kStringArray
  std::vector<std::pair<std::string, std::string>> table;     // kStringTable, by key
  std::vector<std::pair<std::string, api::RateLimit>> rates;  // kRateTable, by Action
};

// One known key: the single place that declares it. Adding a key is adding one row to the
// table in config.cc (and one line to README's configuration table, which config_test checks).
struct ConfigKey {
  std::string_view key;  // "server.threads": SECTION.NAME, as in the file
  KeyType type;
  int64_t min = 0;  // kInteger: the accepted range, inclusive
  int64_t max = 0;
  std::string_view choices;  // kString: "auto|live" allows only these; empty allows any
  std::string_view env;      // "CERTPLAN_THREADS" when an environment variable sets it
  // An extra rule beyond the type (for arrays and tables: per element): why the text is
  // refused, "" when it is fine.
  std::string (*check)(const ConfigValue&) = nullptr;
  void (*set)(Config&, const ConfigValue&) = nullptr;
};

// Every key certplan reads, in README order.
std::span<const ConfigKey> ConfigKeys();
// How README's configuration table spells `key`'s type: "integer 0-256", "boolean",
// "string", "\"auto\" or \"live\"", "HOST:PORT", "array of strings", "table of strings".
std::string DescribeType(const ConfigKey& key);

// One reason a configuration is refused: where it is and what is wrong.
struct ConfigProblem {
  std::string source;  // the file's path, or "environment"
  std::string key;     // "server.threds"; the variable for the environment; "" for TOML syntax
  int64_t line = 0;    // 1-based position in the file; 0 for the environment
  int64_t column = 0;
  std::string why;  // "unknown key; did you mean \"server.threads\"?"

  // "FILE:LINE:COLUMN: KEY: WHY" (or "environment: KEY: WHY").
  std::string ToString() const;
};
using ConfigProblems = std::vector<ConfigProblem>;

// Reads `path` (TOML) into `config`, refusing unknown sections and keys, wrong types and
// out-of-range values, each with its position. Every problem found is returned (empty: read);
// `config` is only meaningful when none is. `keys_set`, when given, counts the keys read.
ConfigProblems LoadConfigFile(const std::string& path, Config& config, int* keys_set = nullptr);
// Applies the keys' environment variables (CERTPLAN_LISTEN, CERTPLAN_DATA_DIR, …) with the
// same checks; a problem names the variable. Empty variables are ignored.
ConfigProblems ApplyEnvironment(Config& config);
// Parses "HOST:PORT" or "[V6]:PORT" into the server options.
Status ParseListen(std::string_view listen, http::ServerOptions& server);
// Checks the [server] TLS keys together: tls_cert and tls_key both or neither, and either
// only with listen_tls. kInvalidParameter naming the key.
Status CheckTls(const Config& config);
// Checks admin_listen: HOST:PORT with an IP address, loopback (127.0.0.0/8, ::1) unless
// admin_allow_remote. kInvalidParameter naming server.admin_listen.
Status CheckAdminListen(const Config& config, http::ServerOptions& admin);

}  // namespace certplan::cli
