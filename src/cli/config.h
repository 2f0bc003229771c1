#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "auth/replay_guard.h"
#include "cas/orders.h"
#include "core/result.h"
#include "http/server.h"
#include "pki/builtin_ca.h"
#include "validation/live_checker.h"

namespace certplan::cli {

// Everything `certplan serve` can be told. Precedence: flags > environment > TOML file >
// defaults (see README "Configuration").
struct Config {
  std::string data_dir = "./certplan-data";
  http::ServerOptions server;
  int64_t timestamp_window_seconds = 900;
  int64_t key_cache_milliseconds = 1000;
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
  // HTTPS: on when listen_tls is set ([server] listen_tls, --listen-tls). With tls_cert and
  // tls_key (PEM files, reloaded on SIGHUP) the operator's certificate is served; without, one
  // issued by the built-in CA for the listen host and tls_names, kept under DATA_DIR/tls.
  std::string listen_tls;
  std::string tls_cert;
  std::string tls_key;
  std::vector<std::string> tls_names;
  // [audit] retention_days: records older than this are pruned (at start, then hourly, in
  // bounded batches).
  int64_t audit_retention_days = 365;
};

// Reads `path` (TOML) into `config`; kInvalidParameter naming the key on a bad value.
Status LoadConfigFile(const std::string& path, Config& config);
// Applies CERTPLAN_LISTEN, CERTPLAN_DATA_DIR, CERTPLAN_THREADS, CERTPLAN_LOG_LEVEL.
Status ApplyEnvironment(Config& config);
// Parses "HOST:PORT" or "[V6]:PORT" into the server options.
Status ParseListen(std::string_view listen, http::ServerOptions& server);
// Checks the [server] TLS keys together: tls_cert and tls_key both or neither, and either
// only with listen_tls. kInvalidParameter naming the key.
Status CheckTls(const Config& config);

}  // namespace certplan::cli
