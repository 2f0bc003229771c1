#include "cli/config.h"

#include <charconv>
#include <cstdlib>

#include <toml++/toml.h>

namespace certplan::cli {
namespace {

Error Bad(std::string_view key, std::string_view why) { return InvalidParameter(key, why); }

template <typename T>
Status ReadInt(const toml::table& table, std::string_view path, T& out, int64_t min, int64_t max) {
  const toml::node* node = table.at_path(path).node();
  if (!node) return Ok{};
  std::optional<int64_t> v = node->value<int64_t>();
  if (!v || *v < min || *v > max) {
    return Bad(path, "an integer between " + std::to_string(min) + " and " + std::to_string(max) +
                         " is required.");
  }
  out = static_cast<T>(*v);
  return Ok{};
}

Status ReadString(const toml::table& table, std::string_view path, std::string& out) {
  const toml::node* node = table.at_path(path).node();
  if (!node) return Ok{};
  std::optional<std::string> v = node->value<std::string>();
  if (!v) return Bad(path, "a string is required.");
  out = *v;
  return Ok{};
}

Status ReadValidation(const toml::table& t, Config& config) {
  Status s = ReadString(t, "validation.mode", config.validation_mode);
  if (s && !config.validation_mode.empty() && config.validation_mode != "auto" &&
      config.validation_mode != "live") {
    return Bad("validation.mode", "use \"auto\" or \"live\".");
  }
  std::string dns;
  if (s) s = ReadString(t, "validation.dns_server", dns);
  if (s && !dns.empty()) {
    http::ServerOptions parsed;
    s = ParseListen(dns, parsed);
    if (!s) return Bad("validation.dns_server", "use IPV4:PORT, e.g. 127.0.0.1:5353.");
    config.checker.dns = {parsed.host, parsed.port};
  }
  cas::OrderSettings& o = config.orders;
  if (s)
    s = ReadInt(t, "validation.deadline_seconds", o.validation_deadline_seconds, 1, 30 * 86400);
  if (s) s = ReadInt(t, "validation.retry_initial_seconds", o.retry_initial_seconds, 1, 3600);
  if (s) s = ReadInt(t, "validation.retry_max_seconds", o.retry_max_seconds, 1, 86400);
  if (s) s = ReadInt(t, "validation.poll_ms", config.validator_poll_ms, 10, 60000);
  if (s) {
    if (const toml::node* worker = t.at_path("validation.worker").node()) {
      std::optional<bool> v = worker->value<bool>();
      if (!v) return Bad("validation.worker", "true or false.");
      config.validation_worker = *v;
    }
  }
  if (!s) return s;
  if (const toml::table* addresses = t.at_path("validation.addresses").as_table()) {
    for (const auto& [domain, node] : *addresses) {
      std::optional<std::string> target = node.value<std::string>();
      if (!target) return Bad("validation.addresses", "values are \"HOST:PORT\" strings.");
      config.checker.addresses[std::string(domain.str())] = *target;
    }
  }
  return Ok{};
}

}  // namespace

Status ParseListen(std::string_view listen, http::ServerOptions& server) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Bad("listen", "use HOST:PORT, e.g. 127.0.0.1:8080.");
  }
  std::string_view host = listen.substr(0, colon);
  if (host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string_view port_text = listen.substr(colon + 1);
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port > 65535) {
    return Bad("listen", "the port must be a number from 0 to 65535.");
  }
  server.host = std::string(host);
  server.port = static_cast<uint16_t>(port);
  return Ok{};
}

Status LoadConfigFile(const std::string& path, Config& config) {
  toml::table t;
  try {  // toml++ reports parse errors by exception when exceptions are on
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return Bad("config", std::string(e.description()) + " (" + path + ")");
  }
  std::string listen;
  Status s = ReadString(t, "server.listen", listen);
  if (s && !listen.empty()) s = ParseListen(listen, config.server);
  if (s) s = ReadInt(t, "server.threads", config.server.threads, 0, 256);
  if (s) s = ReadInt(t, "server.max_connections", config.server.max_connections, 1, 1'000'000);
  if (s) {
    s = ReadInt(t, "server.body_budget_bytes", config.server.body_budget_bytes, 1024,
                int64_t{1} << 40);
  }
  if (s) s = ReadString(t, "server.listen_tls", config.listen_tls);
  if (s && !config.listen_tls.empty()) {
    http::ServerOptions parsed;
    if (!ParseListen(config.listen_tls, parsed)) {
      return Bad("server.listen_tls", "use HOST:PORT, e.g. 127.0.0.1:8443.");
    }
  }
  if (s) s = ReadString(t, "server.tls_cert", config.tls_cert);
  if (s) s = ReadString(t, "server.tls_key", config.tls_key);
  if (s) {
    if (const toml::node* names = t.at_path("server.tls_names").node()) {
      const toml::array* list = names->as_array();
      if (!list) return Bad("server.tls_names", "an array of host names or IP addresses.");
      for (const toml::node& item : *list) {
        std::optional<std::string> name = item.value<std::string>();
        if (!name || name->empty()) {
          return Bad("server.tls_names", "an array of host names or IP addresses.");
        }
        config.tls_names.push_back(*name);
      }
    }
  }
  if (s) s = ReadString(t, "server.data_dir", config.data_dir);
  if (s) s = ReadString(t, "server.log_level", config.log_level);
  if (s) s = ReadString(t, "store.url", config.store_url);
  if (s) s = ReadInt(t, "limits.header_bytes", config.server.limits.header_bytes, 1024, 1 << 20);
  if (s) s = ReadInt(t, "limits.body_bytes", config.server.limits.body_bytes, 1024, 64 << 20);
  int64_t timeout = config.server.limits.read_timeout.count();
  if (s) s = ReadInt(t, "limits.read_timeout_seconds", timeout, 1, 3600);
  config.server.limits.read_timeout = std::chrono::seconds(timeout);
  if (s) s = ReadInt(t, "auth.timestamp_window_seconds", config.timestamp_window_seconds, 1, 3600);
  if (s) s = ReadInt(t, "auth.key_cache_milliseconds", config.key_cache_milliseconds, 0, 60000);
  if (s) s = ReadInt(t, "auth.replay_max_entries", config.replay_max_entries, 30, 1'000'000'000);
  std::string scope;
  if (s) s = ReadString(t, "auth.replay_scope", scope);
  if (s && !scope.empty()) {
    if (scope == "access_key") {
      config.replay_scope = auth::ReplayOptions::Scope::kAccessKey;
    } else if (scope == "account") {
      config.replay_scope = auth::ReplayOptions::Scope::kAccount;
    } else {
      return Bad("auth.replay_scope", "use \"access_key\" or \"account\".");
    }
  }
  if (s) s = ReadValidation(t, config);
  if (s) s = ReadString(t, "ca.root_cert", config.ca.root_cert_file);
  if (s) s = ReadString(t, "ca.issuing_cert", config.ca.issuing_cert_file);
  if (s) s = ReadString(t, "ca.issuing_key", config.ca.issuing_key_file);
  if (s) s = ReadInt(t, "ca.key_pool", config.key_pool, 0, 1024);
  if (s) s = ReadInt(t, "audit.retention_days", config.audit_retention_days, 1, 36500);
  const bool any = !config.ca.root_cert_file.empty() || !config.ca.issuing_cert_file.empty() ||
                   !config.ca.issuing_key_file.empty();
  const bool all = !config.ca.root_cert_file.empty() && !config.ca.issuing_cert_file.empty() &&
                   !config.ca.issuing_key_file.empty();
  if (s && any && !all) return Bad("ca", "give root_cert, issuing_cert and issuing_key together.");
  if (s && config.server.body_budget_bytes < config.server.limits.body_bytes) {
    return Bad("server.body_budget_bytes", "must be at least limits.body_bytes.");
  }
  return s;
}

Status CheckTls(const Config& config) {
  if (config.tls_cert.empty() != config.tls_key.empty()) {
    return Bad(config.tls_cert.empty() ? "server.tls_cert" : "server.tls_key",
               "give tls_cert and tls_key together.");
  }
  if (!config.tls_cert.empty() && config.listen_tls.empty()) {
    return Bad("server.listen_tls", "tls_cert and tls_key are set but HTTPS does not listen.");
  }
  return Ok{};
}

Status ApplyEnvironment(Config& config) {
  if (const char* v = std::getenv("CERTPLAN_DATA_DIR"); v && *v) config.data_dir = v;
  if (const char* v = std::getenv("CERTPLAN_LOG_LEVEL"); v && *v) config.log_level = v;
  if (const char* v = std::getenv("CERTPLAN_STORE_URL"); v && *v) config.store_url = v;
  if (const char* v = std::getenv("CERTPLAN_LISTEN"); v && *v) {
    Status s = ParseListen(v, config.server);
    if (!s) return s;
  }
  if (const char* v = std::getenv("CERTPLAN_THREADS"); v && *v) {
    config.server.threads = std::atoi(v);
    if (config.server.threads < 0 || config.server.threads > 256) {
      return Bad("CERTPLAN_THREADS", "use 0 (one per core) to 256.");
    }
  }
  return Ok{};
}

}  // namespace certplan::cli
