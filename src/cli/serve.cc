#include <arpa/inet.h>
#include <sys/stat.h>

#include <filesystem>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "acme/eab.h"
#include "acme/nonces.h"
#include "acme/server.h"
#include "acme/staging_store.h"
#include "api/gateway.h"
#include "auth/authenticator.h"
#include "auth/replay_guard.h"
#include "cas/products.h"
#include "cli/commands.h"
#include "cli/config.h"
#include "cli/observability.h"
#include "cli/runtime.h"
#include "core/log.h"
#include "http/server.h"
#include "ops/endpoints.h"
#include "ops/observed.h"
#include "ops/operator_api.h"
#include "ops/pruner.h"
#include "pki/random.h"
#include "pki/server_certificate.h"
#include "revocation/http_endpoints.h"
#include "rpc/errors.h"
#include "validation/live_checker.h"
#include "worker/order_worker.h"

namespace certplan::cli {
namespace {

struct ServeFlags {
  std::string listen;
  std::string listen_tls;
  std::string data_dir;
  std::string config_file;
  std::string clock_offset_file;
  std::string store_url;
  std::string admin_listen;
  bool dev = false;
};

constexpr std::string_view kDemoAccount = "demo";
constexpr int64_t kDemoPlanCount = 20;

// Idempotent: the demo account, one root key and a plan of each ProductCode; printed as JSON
// so a newcomer can point the SDK at the service straight away.
Status SeedDemo(Runtime& rt, const std::string& endpoint, const std::string& tls_endpoint,
                const std::string& ca_file) {
  const audit::Actor by{audit::PrincipalType::kCli, "cli", "", "", "", "serve --dev"};
  Result<std::optional<iam::Account>> found = rt.identity_store->FindAccountByName(kDemoAccount);
  if (!found) return found.error();
  int64_t account_id;
  std::string key_id, secret;
  if (*found) {
    account_id = (*found)->id;
    Result<std::vector<iam::AccessKey>> keys = rt.identity_store->ListAccessKeys(account_id);
    if (!keys) return keys.error();
    auto key = std::find_if(keys->begin(), keys->end(),
                            [](auto& k) { return k.enabled && k.user_name.empty(); });
    if (key == keys->end()) {
      Result<iam::IssuedKey> issued = rt.identities->CreateKey(account_id, "", by);
      if (!issued) return issued.error();
      key_id = issued->access_key_id, secret = issued->access_key_secret;
    } else {
      Result<std::string> revealed = rt.identities->RevealSecret(*key);
      if (!revealed) return revealed.error();
      key_id = key->id, secret = *revealed;
    }
  } else {
    Result<iam::NewAccount> created = rt.identities->CreateAccount(kDemoAccount, by);
    if (!created) return created.error();
    account_id = created->account.id;
    key_id = created->root_key.access_key_id, secret = created->root_key.access_key_secret;
  }
  Result<std::vector<cas::Plan>> plans = rt.plans->List(account_id);
  if (!plans) return plans.error();
  for (const cas::Product& product : cas::Catalog()) {
    const bool held = std::any_of(plans->begin(), plans->end(), [&](const cas::Plan& p) {
      return p.product_code == product.code;
    });
    if (held) continue;
    Result<cas::Plan> granted =
        rt.plans->Grant(account_id, product.code, kDemoPlanCount, std::nullopt, by);
    if (!granted) return granted.error();
  }
  nlohmann::ordered_json demo = {{"AccountId", account_id},
                                 {"AccessKeyId", key_id},
                                 {"AccessKeySecret", secret},
                                 {"Endpoint", endpoint},
                                 {"PlanCountPerProductCode", kDemoPlanCount}};
  if (!tls_endpoint.empty()) {
    demo["TlsEndpoint"] = tls_endpoint;
    if (!ca_file.empty()) demo["CaFile"] = ca_file;
  }
  std::cout << demo.dump() << std::endl;
  return Ok{};
}

void LogAccess(const api::Answer& a, int64_t micros) {
  log::Line(log::Level::kInfo, "request")
      .Str("request_id", a.request_id)
      .Str("access_key_id", a.access_key_id)
      .Int("account_id", a.account_id)
      .Str("action", a.action)
      .Str("code", a.code)
      .Int("status", a.response.status)
      .Int("latency_us", micros)
      .Write();
}

// The HTTPS options for `config` (which asks for TLS): the operator's files, or a certificate
// from the built-in CA under DATA_DIR/tls (issued now if missing, expiring within 30 days or
// for other names). `ca_file` gets the root clients should trust ("" with the operator's files).
Result<http::TlsOptions> PrepareTls(const Config& config, const pki::Authority& ca, int64_t now,
                                    std::string& ca_file) {
  http::TlsOptions tls;
  http::ServerOptions parsed;
  if (Status s = ParseListen(config.listen_tls, parsed); !s) {
    return InvalidParameter("listen_tls", "use HOST:PORT, e.g. 127.0.0.1:8443.");
  }
  tls.host = parsed.host;
  tls.port = parsed.port;
  // Checked before anything is issued or written: a start that fails must not replace the
  // certificate a running server on the same data directory reloads on SIGHUP.
  unsigned char address[16];
  if (::inet_pton(AF_INET, tls.host.c_str(), address) != 1 &&
      ::inet_pton(AF_INET6, tls.host.c_str(), address) != 1) {
    return InvalidParameter("listen_tls", "\"" + tls.host + "\" is not an IP address.");
  }
  if (!config.tls_cert.empty()) {
    tls.cert_file = config.tls_cert;
    tls.key_file = config.tls_key;
    struct stat st {};
    if (::stat(tls.key_file.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
      log::Line(log::Level::kWarn, "the TLS key file is readable by others than its owner")
          .Str("tls_key", tls.key_file)
          .Write();
    }
    return tls;
  }
  Result<pki::ServerCertificateFiles> files = pki::EnsureServerCertificate(
      ca, config.data_dir + "/tls", pki::ServerCertificateNames(tls.host, config.tls_names), now);
  if (!files) return files.error();
  if (files->issued) {
    log::Line(log::Level::kInfo, "TLS certificate issued by the built-in CA")
        .Str("cert_file", files->cert_file)
        .Str("ca_file", files->ca_file)
        .Write();
  }
  tls.cert_file = files->cert_file;
  tls.key_file = files->key_file;
  // Absolute, so it can be pasted into NODE_EXTRA_CA_CERTS from any directory.
  ca_file = std::filesystem::absolute(files->ca_file).lexically_normal().string();
  return tls;
}

// ACME nonces one node remembers as used at once (SQLite; on PostgreSQL the shared nonce table
// holds them): 1,000,000 nonces (about 4.5 MiB of Bloom filters at most). Over it, badNonce
// until the oldest age out.
constexpr int64_t kAcmeNonceEntries = 1'000'000;

// The key ACME nonces are authenticated with: one per database (sealed in the store, so every
// node of a PostgreSQL cluster issues nonces every other node accepts).
Result<std::string> AcmeNonceKey(Runtime& rt) {
  constexpr std::string_view kContext = "acme-nonce-key";
  Result<std::string> sealed =
      rt.acme_store->AcmeSharedSecret("nonce_key", rt.box->Seal(pki::RandomBytes(32), kContext));
  if (!sealed) return sealed.error();
  return rt.box->Open(*sealed, kContext);
}

log::Level ParseLevel(std::string_view name) {
  if (name == "debug") return log::Level::kDebug;
  if (name == "warn") return log::Level::kWarn;
  if (name == "error") return log::Level::kError;
  return log::Level::kInfo;
}

int Serve(const ServeFlags& flags) {
  Config config;
  if (int rc = LoadConfig(flags.config_file, config); rc != 0) return rc;
  if (!flags.data_dir.empty()) config.data_dir = flags.data_dir;
  if (!flags.store_url.empty()) config.store_url = flags.store_url;
  if (!flags.listen.empty()) {
    if (Status s = ParseListen(flags.listen, config.server); !s) return ReportFailure(s.error());
  }
  if (!flags.listen_tls.empty()) config.listen_tls = flags.listen_tls;
  if (!flags.admin_listen.empty()) config.admin_listen = flags.admin_listen;
  if (Status s = CheckTls(config); !s) {
    (void)ReportFailure(s.error());
    return kConfigExit;
  }
  http::ServerOptions admin_options;
  if (!config.admin_listen.empty()) {
    if (Status s = CheckAdminListen(config, admin_options); !s) {
      (void)ReportFailure(s.error());
      return kConfigExit;
    }
  }
  log::SetLevel(ParseLevel(config.log_level));

  if (config.validation_mode.empty()) config.validation_mode = flags.dev ? "auto" : "live";
  config.orders.auto_approve = config.validation_mode == "auto";
  ops::ServiceMetrics metrics(MetricsOptionsFor(config));
  // Only a node that issues (validation.worker) signs an order before storing it.
  config.orders.issue_at_once = config.validation_worker;
  RuntimeOptions runtime_options{
      config.store_url,
      auth::ReplayOptions{config.replay_scope, config.timestamp_window_seconds,
                          config.replay_max_entries, auth::ReplayOptions{}.exact_slice_entries},
      flags.clock_offset_file, config.ca, config.orders,
      // Keys are made ahead only where orders are issued.
      config.validation_worker ? static_cast<size_t>(config.key_pool) : 0,
      std::chrono::milliseconds(config.counters_cache_milliseconds),
      /*create=*/true, revocation::UrlsFor(config.public_url)};
  runtime_options.max_uploads_per_account = config.max_uploads_per_account;
  runtime_options.observe_authority = [&metrics](const pki::Authority& inner) {
    return std::make_unique<ops::ObservedAuthority>(inner, metrics);
  };
  Result<std::unique_ptr<Runtime>> rt = Runtime::Open(config.data_dir, runtime_options);
  if (!rt) return ReportFailure(rt.error());
  Runtime& r = **rt;
  AttachMetrics(metrics, r);
  api::SteadyTickClock ticks;
  std::unique_ptr<api::RateLimiter> limiter = RateLimiterFor(config.rate_limits, ticks, metrics);
  // Signatures are judged by the wall clock even when a test moves the domain's clock.
  SystemClock wall_clock;
  auth::Authenticator authenticator(
      *r.identity_store, *r.box, *r.replay, wall_clock,
      auth::AuthOptions{config.timestamp_window_seconds, config.key_cache_milliseconds});
  api::Services services{*r.plans, *r.orders, *r.certificates};
  iam::Authorizer authorizer(*r.identity_store);
  api::Gateway gateway(authenticator, authorizer, services, *r.audit, *r.clock, limiter.get());
  // Records older than [audit] retention_days go at start and then hourly, in bounded batches;
  // so do orders released longer than [limits] released_order_retention_days ago.
  ops::Pruner audit_pruner(
      "audit records", [&r, &config] { return r.audit->Prune(config.audit_retention_days); },
      std::chrono::hours(1));
  ops::Pruner order_pruner(
      "released orders",
      [&r, &config] { return r.orders->PruneReleased(config.released_order_retention_days); },
      std::chrono::hours(1));
  validation::LiveChecker live_checker(config.checker);
  ops::ObservedChecker checker(live_checker, metrics);
  worker::OrderWorker order_worker(*r.orders, checker,
                                   std::chrono::milliseconds(config.validator_poll_ms));
  // /healthz and /readyz beside the API (ops/endpoints.h): the CA is ready once loaded.
  ops::HealthEndpoints health(*r.metrics_store, [&r]() -> Status {
    if (!r.ca || r.ca->root_pem().empty()) return InternalError("the CA is not loaded");
    return Ok{};
  });
  if (config.validation_worker) r.orders->OnNewOrder([&order_worker] { order_worker.Wake(); });
  revocation::Settings revocation_settings;
  revocation_settings.crl_validity_seconds = config.crl_validity_hours * 3600;
  revocation_settings.responder_dir = config.data_dir + "/ocsp";
  Result<std::unique_ptr<revocation::RevocationStatus>> revocation_status =
      revocation::RevocationStatus::Open(*r.ca, *r.box, *r.revocation_store, *r.clock,
                                         revocation_settings);
  if (!revocation_status) return ReportFailure(revocation_status.error());
  revocation::RevocationStatus& revocations = **revocation_status;
  r.orders->OnRevoked([&revocations] { revocations.NotifyRevoked(); });

  // ACME (RFC 8555) beside the CAS API: its own paths, its own module.
  auth::MemoryReplayGuard acme_nonce_memory(
      auth::ReplayOptions{auth::ReplayOptions::Scope::kAccessKey, config.timestamp_window_seconds,
                          kAcmeNonceEntries, auth::ReplayOptions{}.exact_slice_entries});
  auth::ReplayGuard& acme_nonce_guard =
      r.postgres ? *r.replay : static_cast<auth::ReplayGuard&>(acme_nonce_memory);
  acme::NonceIssuer acme_nonces([&r] { return AcmeNonceKey(r); }, acme_nonce_guard, wall_clock,
                                config.timestamp_window_seconds);
  acme::EabKeys eab_keys(*r.acme_store, *r.box, *r.clock);
  acme::Server acme_server(*r.acme_store, eab_keys, acme_nonces, *r.orders, *r.plans, checker,
                           *r.clock,
                           acme::ServerSettings{config.orders.auto_approve, "/acme/", r.audit.get(),
                                                config.max_acme_accounts_per_eab_key});
  // The staging directory: the same EAB keys and accounts, orders in memory only (no unit
  // spent), certificates from its own test CA under DATA_DIR/ca-staging (trusted by nobody).
  Result<std::unique_ptr<pki::BuiltinCa>> staging_ca =
      pki::BuiltinCa::Open(pki::CaFiles{config.data_dir + "/ca-staging"}, wall_clock.NowSeconds());
  if (!staging_ca) return ReportFailure(staging_ca.error());
  acme::StagingStore staging_store(*r.acme_store);
  cas::Orders staging_orders(staging_store, **staging_ca, *r.box, *r.clock, config.orders);
  acme::Server acme_staging(
      staging_store, eab_keys, acme_nonces, staging_orders, *r.plans, checker, *r.clock,
      acme::ServerSettings{config.orders.auto_approve, std::string(acme::kStagingPrefix), nullptr,
                           config.max_acme_accounts_per_eab_key});

  http::Application app;
  app.handle = [&gateway, &health, &metrics, &revocations, &acme_server,
                &acme_staging](const rpc::Request& request) {
    if (std::optional<rpc::Response> probe = health.Handle(request)) return std::move(*probe);
    // CRL and OCSP for relying parties: beside the API, unauthenticated, logged by the module.
    if (revocation::IsRevocationPath(request.path)) {
      return revocation::HandleRevocationRequest(revocations, request);
    }
    if (acme_staging.Handles(request.path)) return acme_staging.Handle(request);
    if (acme_server.Handles(request.path)) return acme_server.Handle(request);
    const auto start = std::chrono::steady_clock::now();
    api::Answer answer = gateway.Handle(request);
    const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
    metrics.ObserveRequest(answer.action, answer.code, nanos);
    LogAccess(answer, nanos / 1000);
    return std::move(answer.response);
  };
  app.refuse = [&metrics](const Error& error) {
    metrics.ObserveRefusal(rpc::ToWire(error.code).code);
    return api::RenderTransportError(error);
  };
  std::string ca_file;
  if (!config.listen_tls.empty()) {
    Result<http::TlsOptions> tls = PrepareTls(config, *r.ca, wall_clock.NowSeconds(), ca_file);
    if (!tls) return ReportFailure(tls.error());
    config.server.tls = std::move(*tls);
  }
  Result<std::unique_ptr<http::Server>> server =
      http::Server::Create(config.server, std::move(app));
  if (!server) return ReportFailure(server.error());
  const std::string address = (*server)->address();
  const std::string tls_address = (*server)->tls_address();
  if (flags.dev) {
    Status s = SeedDemo(**rt, "http://" + address,
                        tls_address.empty() ? "" : "https://" + tls_address, ca_file);
    if (!s) return ReportFailure(s.error());
  }
  // The operator API: its own listener and thread, the same server code, and the same shutdown
  // (SIGTERM drains both). Ready before the CAS API's "listening on" line.
  ops::OperatorApi operator_api(*r.admin);
  std::unique_ptr<http::Server> admin_server;
  if (!config.admin_listen.empty()) {
    admin_options.threads = 1;
    admin_options.max_connections = 256;
    admin_options.body_budget_bytes = 16 * admin_options.limits.body_bytes;
    http::Application admin_app;
    admin_app.handle = [&operator_api](const rpc::Request& request) {
      return operator_api.Handle(request);
    };
    admin_app.refuse = [](const Error& error) { return api::RenderTransportError(error); };
    Result<std::unique_ptr<http::Server>> created =
        http::Server::Create(admin_options, std::move(admin_app));
    if (!created) return ReportFailure(created.error());
    admin_server = std::move(*created);
    if (Status s = admin_server->Listen(); !s) return ReportFailure(s.error());
    log::Line(log::Level::kLifecycle, "operator API listening at " + admin_server->address())
        .Write();
  }
  // Its line comes before "listening on": harnesses that wait for that one find it already.
  Result<std::unique_ptr<MetricsListener>> metrics_listener =
      MetricsListener::Start(config, metrics);
  if (!metrics_listener) return ReportFailure(metrics_listener.error());
  if (*metrics_listener) {
    log::Line(log::Level::kLifecycle,
              "metrics at http://" + (*metrics_listener)->address() + "/metrics")
        .Write();
  }
  if (config.validation_worker) order_worker.Start();
  revocations.Start();
  audit_pruner.Start();
  order_pruner.Start();
  // Readiness: the demo account is printed and the port accepts before this line is written;
  // harnesses wait for it (never for the port alone).
  if (Status s = (*server)->Listen(); !s) return ReportFailure(s.error());
  // Started only once nothing can return early (a joinable thread must be joined). Whichever
  // server stops first stops the other: a SIGTERM that reaches only one of them (before the
  // other's Run() has registered for it) still stops the process.
  std::thread admin_thread;
  if (admin_server) {
    admin_thread = std::thread([&admin_server, &server] {
      admin_server->Run();
      (*server)->Stop();
    });
  }
  log::Line(log::Level::kLifecycle, "listening on " + address)
      .Str("data_dir", config.data_dir)
      .Str("validation", config.validation_mode)
      .Write();
  if (!tls_address.empty()) {
    log::Line(log::Level::kLifecycle, "listening (tls) on " + tls_address)
        .Str("ca_file", ca_file)
        .Write();
  }
  log::Line(log::Level::kInfo, "revocation status served")
      .Str("crl", "http://" + address + std::string(revocation::kCrlPath))
      .Str("ocsp", "http://" + address + std::string(revocation::kOcspPath))
      .Str("public_url", config.public_url.empty()
                             ? "(unset: certificates carry no CRL or OCSP URL)"
                             : config.public_url)
      .Write();
  (*server)->Run();
  revocations.Stop();
  if (admin_server) {
    admin_server->Stop();
    admin_thread.join();
  }
  if (*metrics_listener) (*metrics_listener)->Stop();
  order_worker.Stop();
  audit_pruner.Stop();
  order_pruner.Stop();
  log::Line(log::Level::kLifecycle, "stopped").Write();
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App& app, Runner& run) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* serve = app.add_subcommand("serve", "Serve the CAS API over HTTP (and HTTPS)");
  serve->add_option("--listen", flags->listen, "HOST:PORT to listen on (default 127.0.0.1:8080)");
  serve
      ->add_option("--listen-tls", flags->listen_tls,
                   "HOST:PORT to serve HTTPS on as well (default: no HTTPS)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  serve->add_option("--data-dir", flags->data_dir, "Data directory (default ./certplan-data)");
  serve->add_option("--admin-listen", flags->admin_listen,
                    "HOST:PORT (loopback) to serve the operator API on (default: off)");
  serve->add_option("--store-url", flags->store_url,
                    "postgresql://… to share one PostgreSQL among nodes (default: SQLite in the "
                    "data directory)");
  serve->add_option("--config", flags->config_file, "TOML configuration file")
      ->check(CLI::ExistingFile);
  serve->add_flag("--dev", flags->dev,
                  "Seed and print a demo account with a plan of each ProductCode; validation "
                  "mode auto unless configured");
  serve->add_option("--clock-offset-file", flags->clock_offset_file,
                    "Testing only: add the seconds written in this file to the clock");
  serve->callback([flags, &run] { run = [flags] { return Serve(*flags); }; });
}

}  // namespace certplan::cli
