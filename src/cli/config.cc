#include "cli/config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>

#include <toml++/toml.h>

#include "api/action_table.h"
#include "revocation/revocation_status.h"

namespace certplan::cli {
namespace {

Error Bad(std::string_view key, std::string_view why) { return InvalidParameter(key, why); }

// Extra rules a row may add to its type (ConfigKey::check): why `text` is refused, "" if fine.
std::string IpHostPort(const ConfigValue& v) {
  http::ServerOptions parsed;
  if (!ParseListen(v.text, parsed)) return "use HOST:PORT with a port from 0 to 65535.";
  unsigned char address[16];
  if (::inet_pton(AF_INET, parsed.host.c_str(), address) != 1 &&
      ::inet_pton(AF_INET6, parsed.host.c_str(), address) != 1) {
    return "\"" + parsed.host + "\" is not an IP address.";
  }
  return "";
}

std::string Ipv4HostPort(const ConfigValue& v) {
  http::ServerOptions parsed;
  unsigned char address[4];
  if (!ParseListen(v.text, parsed) || ::inet_pton(AF_INET, parsed.host.c_str(), address) != 1) {
    return "use IPV4:PORT, e.g. 127.0.0.1:5353.";
  }
  return "";
}

std::string AnyHostPort(const ConfigValue& v) {
  http::ServerOptions parsed;
  if (!ParseListen(v.text, parsed)) return "values are \"HOST:PORT\" strings.";
  return "";
}

std::string PublicUrl(const ConfigValue& v) {
  if (v.text.empty()) return "";
  Status s = revocation::CheckPublicUrl(v.text);
  return s ? "" : s.error().message;
}

std::string NotEmpty(const ConfigValue& v) { return v.text.empty() ? "must not be empty." : ""; }

std::string StoreUrl(const ConfigValue& v) {
  if (v.text.empty() || v.text.rfind("postgresql://", 0) == 0 ||
      v.text.rfind("postgres://", 0) == 0) {
    return "";
  }
  return "use postgresql://USER@HOST:PORT/DB (or leave it empty).";
}

// "" (no listener) or HOST:PORT.
std::string HostPortOrEmpty(const ConfigValue& v) {
  http::ServerOptions parsed;
  if (v.text.empty() || ParseListen(v.text, parsed)) return "";
  return "use HOST:PORT, e.g. 127.0.0.1:9464, or \"\" for none.";
}

// One [rate_limits.actions] value: a number of requests a second from 0 (lifts the limit) to
// 1,000,000, or { qps = N, burst = M } (burst 1-1,000,000; default max(1, qps)). "" when it
// passes, else why not.
std::string ReadRate(const toml::node& node, api::RateLimit& out) {
  constexpr double kMaxQps = 1'000'000;
  auto number = [](const toml::node* n) -> std::optional<double> {
    if (!n) return std::nullopt;
    if (std::optional<int64_t> i = n->value_exact<int64_t>()) return static_cast<double>(*i);
    return n->value_exact<double>();
  };
  std::optional<double> qps, burst;
  if (const toml::table* t = node.as_table()) {
    for (const auto& [k, v] : *t) {
      if (k.str() != "qps" && k.str() != "burst") return "a table takes qps and burst only.";
    }
    qps = number(t->get("qps"));
    if (!qps) return "give qps, a number of requests a second.";
    if (t->get("burst")) {
      burst = number(t->get("burst"));
      if (!burst || *burst < 1 || *burst > kMaxQps) {
        return "burst must be a number from 1 to 1000000.";
      }
    }
  } else {
    qps = number(&node);
    if (!qps) return "a number of requests a second, or { qps = N, burst = M }, is required.";
  }
  if (*qps < 0 || *qps > kMaxQps) return "qps must be from 0 to 1000000.";
  out.qps = *qps;
  out.burst = burst.value_or(std::max(1.0, *qps));
  return "";
}

http::ServerOptions Listen(const ConfigValue& v) {
  http::ServerOptions parsed;
  (void)ParseListen(v.text, parsed);  // the type check has parsed it already
  return parsed;
}

// THE table of known keys (README order). A row: key, type (and range or choices), the
// environment variable if any, an extra check if any, and where the value goes.
constexpr int64_t kMaxBodyBudget = int64_t{1} << 40;
const ConfigKey kKeys[] = {
    {.key = "store.url",
     .type = KeyType::kString,
     .env = "CERTPLAN_STORE_URL",
     .check = StoreUrl,
     .set = [](Config& c, const ConfigValue& v) { c.store_url = v.text; }},
    {.key = "server.listen",
     .type = KeyType::kHostPort,
     .env = "CERTPLAN_LISTEN",
     .check = IpHostPort,
     .set =
         [](Config& c, const ConfigValue& v) {
           const http::ServerOptions parsed = Listen(v);
           c.server.host = parsed.host;
           c.server.port = parsed.port;
         }},
    {.key = "server.threads",
     .type = KeyType::kInteger,
     .min = 0,
     .max = 256,
     .env = "CERTPLAN_THREADS",
     .set = [](Config& c,
               const ConfigValue& v) { c.server.threads = static_cast<int>(v.integer); }},
    {.key = "server.data_dir",
     .type = KeyType::kString,
     .env = "CERTPLAN_DATA_DIR",
     .check = NotEmpty,
     .set = [](Config& c, const ConfigValue& v) { c.data_dir = v.text; }},
    {.key = "server.log_level",
     .type = KeyType::kString,
     .choices = "debug|info|warn|error",
     .env = "CERTPLAN_LOG_LEVEL",
     .set = [](Config& c, const ConfigValue& v) { c.log_level = v.text; }},
    {.key = "server.max_connections",
     .type = KeyType::kInteger,
     .min = 1,
     .max = 1'000'000,
     .set =
         [](Config& c, const ConfigValue& v) {
           c.server.max_connections = static_cast<size_t>(v.integer);
         }},
    {.key = "server.body_budget_bytes",
     .type = KeyType::kInteger,
     .min = 1024,
     .max = kMaxBodyBudget,
     .set =
         [](Config& c, const ConfigValue& v) {
           c.server.body_budget_bytes = static_cast<size_t>(v.integer);
         }},
    {.key = "server.listen_tls",
     .type = KeyType::kHostPort,
     .check = IpHostPort,
     .set = [](Config& c, const ConfigValue& v) { c.listen_tls = v.text; }},
    {.key = "server.tls_cert",
     .type = KeyType::kString,
     .set = [](Config& c, const ConfigValue& v) { c.tls_cert = v.text; }},
    {.key = "server.tls_key",
     .type = KeyType::kString,
     .set = [](Config& c, const ConfigValue& v) { c.tls_key = v.text; }},
    {.key = "server.tls_names",
     .type = KeyType::kStringArray,
     .set = [](Config& c, const ConfigValue& v) { c.tls_names = v.list; }},
    // Where the operator API listens; loopback unless admin_allow_remote (CheckAdminListen).
    {.key = "server.admin_listen",
     .type = KeyType::kString,
     .set = [](Config& c, const ConfigValue& v) { c.admin_listen = v.text; }},
    {.key = "server.admin_allow_remote",
     .type = KeyType::kBoolean,
     .set = [](Config& c, const ConfigValue& v) { c.admin_allow_remote = v.boolean; }},
    // Where /metrics listens; "" for none. A configured address that cannot be bound stops serve.
    {.key = "server.metrics_listen",
     .type = KeyType::kString,
     .check = HostPortOrEmpty,
     .set =
         [](Config& c, const ConfigValue& v) {
           c.metrics_listen = v.text;
           c.metrics_listen_configured = true;
         }},
    {.key = "metrics.per_account",
     .type = KeyType::kBoolean,
     .set = [](Config& c, const ConfigValue& v) { c.metrics_per_account = v.boolean; }},
    {.key = "audit.retention_days",
     .type = KeyType::kInteger,
     .min = 1,
     .max = 36500,
     .set = [](Config& c, const ConfigValue& v) { c.audit_retention_days = v.integer; }},
    {.key = "rate_limits.enabled",
     .type = KeyType::kBoolean,
     .set = [](Config& c, const ConfigValue& v) { c.rate_limits.enabled = v.boolean; }},
    {.key = "rate_limits.preset",
     .type = KeyType::kString,
     .choices = "cas|none",
     .set = [](Config& c, const ConfigValue& v) { c.rate_limits.preset = v.text; }},
    {.key = "rate_limits.max_buckets",
     .type = KeyType::kInteger,
     .min = 16,
     .max = 100'000'000,
     .set = [](Config& c, const ConfigValue& v) { c.rate_limits.max_buckets = v.integer; }},
    {.key = "rate_limits.actions",
     .type = KeyType::kRateTable,
     .set =
         [](Config& c, const ConfigValue& v) {
           for (const auto& [action, rate] : v.rates) c.rate_limits.actions[action] = rate;
         }},
    {.key = "limits.header_bytes",
     .type = KeyType::kInteger,
     .min = 1024,
     .max = 1 << 20,
     .set =
         [](Config& c, const ConfigValue& v) {
           c.server.limits.header_bytes = static_cast<size_t>(v.integer);
         }},
    {.key = "limits.body_bytes",
     .type = KeyType::kInteger,
     .min = 1024,
     .max = 64 << 20,
     .set =
         [](Config& c, const ConfigValue& v) {
           c.server.limits.body_bytes = static_cast<size_t>(v.integer);
         }},
    {.key = "limits.read_timeout_seconds",
     .type = KeyType::kInteger,
     .min = 1,
     .max = 3600,
     .set =
         [](Config& c, const ConfigValue& v) {
           c.server.limits.read_timeout = std::chrono::seconds(v.integer);
         }},
    {.key = "limits.uploads_per_account",
     .type = KeyType::kInteger,
     .min = 1,
     .max = 100'000'000,
     .set = [](Config& c, const ConfigValue& v) { c.max_uploads_per_account = v.integer; }},
    {.key = "limits.acme_accounts_per_eab_key",
     .type = KeyType::kInteger,
     .min = 1,
     .max = 1'000'000,
     .set = [](Config& c, const ConfigValue& v) { c.max_acme_accounts_per_eab_key = v.integer; }},
    {.key = "limits.released_order_retention_days",
     .type = KeyType::kInteger,
     .min = 1,
     .max = 36500,
     .set = [](Config& c, const ConfigValue& v) { c.released_order_retention_days = v.integer; }},
    {.key = "auth.timestamp_window_seconds",
     .type = KeyType::kInteger,
     .min = 1,
     .max = 3600,
     .set = [](Config& c, const ConfigValue& v) { c.timestamp_window_seconds = v.integer; }},
    {.key = "auth.replay_max_entries",
     .type = KeyType::kInteger,
     .min = 30,
     .max = 1'000'000'000,
     .set = [](Config& c, const ConfigValue& v) { c.replay_max_entries = v.integer; }},
    {.key = "auth.replay_scope",
     .type = KeyType::kString,
     .choices = "access_key|account",
     .set =
         [](Config& c, const ConfigValue& v) {
           c.replay_scope = v.text == "account" ? auth::ReplayOptions::Scope::kAccount
                                                : auth::ReplayOptions::Scope::kAccessKey;
         }},
    {.key = "auth.key_cache_milliseconds",
     .type = KeyType::kInteger,
     .min = 0,
     .max = 60000,
     .set = [](Config& c, const ConfigValue& v) { c.key_cache_milliseconds = v.integer; }},
    {.key = "server.counters_cache_milliseconds",
     .type = KeyType::kInteger,
     .min = 0,
     .max = 1000,
     .set = [](Config& c, const ConfigValue& v) { c.counters_cache_milliseconds = v.integer; }},
    {.key = "validation.mode",
     .type = KeyType::kString,
     .choices = "live|auto",
     .set = [](Config& c, const ConfigValue& v) { c.validation_mode = v.text; }},
    {.key = "validation.dns_server",
     .type = KeyType::kHostPort,
     .check = Ipv4HostPort,
     .set =
         [](Config& c, const ConfigValue& v) {
           const http::ServerOptions parsed = Listen(v);
           c.checker.dns = {parsed.host, parsed.port};
         }},
    {.key = "validation.deadline_seconds",
     .type = KeyType::kInteger,
     .min = 1,
     .max = 30 * 86400,
     .set = [](Config& c,
               const ConfigValue& v) { c.orders.validation_deadline_seconds = v.integer; }},
    {.key = "validation.retry_initial_seconds",
     .type = KeyType::kInteger,
     .min = 1,
     .max = 3600,
     .set = [](Config& c, const ConfigValue& v) { c.orders.retry_initial_seconds = v.integer; }},
    {.key = "validation.retry_max_seconds",
     .type = KeyType::kInteger,
     .min = 1,
     .max = 86400,
     .set = [](Config& c, const ConfigValue& v) { c.orders.retry_max_seconds = v.integer; }},
    {.key = "validation.poll_ms",
     .type = KeyType::kInteger,
     .min = 10,
     .max = 60000,
     .set = [](Config& c, const ConfigValue& v) { c.validator_poll_ms = v.integer; }},
    {.key = "validation.worker",
     .type = KeyType::kBoolean,
     .set = [](Config& c, const ConfigValue& v) { c.validation_worker = v.boolean; }},
    {.key = "validation.addresses",
     .type = KeyType::kStringTable,
     .check = AnyHostPort,
     .set =
         [](Config& c, const ConfigValue& v) {
           for (const auto& [domain, target] : v.table) c.checker.addresses[domain] = target;
         }},
    {.key = "ca.root_cert",
     .type = KeyType::kString,
     .set = [](Config& c, const ConfigValue& v) { c.ca.root_cert_file = v.text; }},
    {.key = "ca.issuing_cert",
     .type = KeyType::kString,
     .set = [](Config& c, const ConfigValue& v) { c.ca.issuing_cert_file = v.text; }},
    {.key = "ca.issuing_key",
     .type = KeyType::kString,
     .set = [](Config& c, const ConfigValue& v) { c.ca.issuing_key_file = v.text; }},
    {.key = "ca.key_pool",
     .type = KeyType::kInteger,
     .min = 0,
     .max = 1024,
     .set = [](Config& c, const ConfigValue& v) { c.key_pool = v.integer; }},
    {.key = "ca.public_url",
     .type = KeyType::kString,
     .check = PublicUrl,
     .set = [](Config& c, const ConfigValue& v) { c.public_url = v.text; }},
    {.key = "ca.crl_validity_hours",
     .type = KeyType::kInteger,
     .min = 1,
     .max = 24 * 366,
     .set = [](Config& c, const ConfigValue& v) { c.crl_validity_hours = v.integer; }},
};

const ConfigKey* FindKey(std::string_view key) {
  for (const ConfigKey& k : kKeys) {
    if (k.key == key) return &k;
  }
  return nullptr;
}

// A section is a known key's prefix: "server", "validation".
bool IsSection(std::string_view path) {
  for (const ConfigKey& k : kKeys) {
    if (k.key.size() > path.size() && k.key.substr(0, path.size()) == path &&
        k.key[path.size()] == '.') {
      return true;
    }
  }
  return false;
}

std::vector<std::string_view> Choices(std::string_view choices) {
  std::vector<std::string_view> out;
  while (!choices.empty()) {
    const size_t bar = choices.find('|');
    out.push_back(choices.substr(0, bar));
    choices = bar == std::string_view::npos ? std::string_view() : choices.substr(bar + 1);
  }
  return out;
}

// Optimal string alignment distance (a transposition counts one edit): "listen_tsl" is one
// edit from "listen_tls", "threds" one from "threads".
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// The known key or section `path` was most likely meant to be, or "".
std::string Suggest(std::string_view path) {
  std::vector<std::string> names;
  for (const ConfigKey& k : kKeys) {
    names.emplace_back(k.key);
    for (size_t dot = k.key.find('.'); dot != std::string_view::npos;
         dot = k.key.find('.', dot + 1)) {
      names.emplace_back(k.key.substr(0, dot));
    }
  }
  std::string best;
  size_t best_distance = 3;  // at most two edits, between names of the same depth
  const auto depth = [](std::string_view name) {
    return std::count(name.begin(), name.end(), '.');
  };
  for (const std::string& name : names) {
    if (depth(name) != depth(path)) continue;
    const size_t d = EditDistance(path, name);
    if (d < best_distance) best = name, best_distance = d;
  }
  if (!best.empty()) return best;
  // A known key in the wrong section (or none): `threads = 4` at the top means server.threads.
  const std::string_view leaf = path.substr(path.rfind('.') + 1);
  for (const ConfigKey& k : kKeys) {
    if (k.key.substr(k.key.rfind('.') + 1) == leaf) return std::string(k.key);
  }
  return "";
}

// Applies `k`'s extra rule to one text value; "" when it passes.
std::string Check(const ConfigKey& k, const std::string& text) {
  if (!k.check) return "";
  ConfigValue one;
  one.text = text;
  return k.check(one);
}

// Checks the text of a scalar value (a string of the file, or an environment variable) against
// `k`'s type; fills `out`. "" when it passes, else why not.
std::string CheckText(const ConfigKey& k, const std::string& text, ConfigValue& out) {
  out.text = text;
  switch (k.type) {
    case KeyType::kInteger: {
      int64_t v = 0;
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || ptr != text.data() + text.size() || v < k.min || v > k.max) {
        return DescribeType(k) + " is required.";
      }
      out.integer = v;
      return "";
    }
    case KeyType::kBoolean:
      if (text != "true" && text != "false") return "true or false is required.";
      out.boolean = text == "true";
      return "";
    case KeyType::kString:
      if (!k.choices.empty()) {
        const std::vector<std::string_view> choices = Choices(k.choices);
        if (std::find(choices.begin(), choices.end(), text) == choices.end()) {
          return "use " + DescribeType(k) + ".";
        }
      }
      return Check(k, text);
    case KeyType::kHostPort: {
      http::ServerOptions parsed;
      if (!ParseListen(text, parsed)) return "use HOST:PORT, e.g. 127.0.0.1:8080.";
      return Check(k, text);
    }
    case KeyType::kStringArray:
    case KeyType::kStringTable:
    case KeyType::kRateTable: return DescribeType(k) + " is required.";
  }
  return "unsupported type.";
}

const char* TomlTypeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::none: return "nothing";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
  }
  return "a value";
}

// Reads one TOML file against kKeys.
class FileReader {
 public:
  FileReader(std::string path, Config& config) : path_(std::move(path)), config_(config) {}

  ConfigProblems Read(const toml::table& root) {
    Walk(root, "");
    if (problems_.empty()) CrossCheck(root);
    // toml++ keeps a table's keys sorted by name; the operator reads the file top to bottom.
    std::stable_sort(problems_.begin(), problems_.end(), [](const auto& a, const auto& b) {
      return std::pair(a.line, a.column) < std::pair(b.line, b.column);
    });
    return std::move(problems_);
  }
  int keys_set() const { return keys_set_; }

  void Problem(std::string key, const toml::source_region& at, std::string why) {
    problems_.push_back(ConfigProblem{path_, std::move(key), static_cast<int64_t>(at.begin.line),
                                      static_cast<int64_t>(at.begin.column), std::move(why)});
  }

 private:
  void Walk(const toml::table& table, const std::string& prefix) {
    for (const auto& [name, node] : table) {
      const std::string path =
          prefix.empty() ? std::string(name.str()) : prefix + "." + std::string(name.str());
      if (const ConfigKey* k = FindKey(path)) {
        Value(*k, path, name.source(), node);
      } else if (IsSection(path)) {
        if (const toml::table* section = node.as_table()) {
          Walk(*section, path);
        } else {
          Problem(path, node.source(),
                  std::string("[") + path + "] is a section; " + TomlTypeName(node.type()) +
                      " was given.");
        }
      } else {
        const bool section = node.is_table();
        std::string why = section ? "unknown section" : "unknown key";
        if (const std::string guess = Suggest(path); !guess.empty()) {
          why += "; did you mean \"" + guess + "\"?";
        } else {
          why += prefix.empty() ? "." : " in [" + prefix + "].";
        }
        Problem(section ? "[" + path + "]" : path, name.source(), std::move(why));
      }
    }
  }

  void Value(const ConfigKey& k, const std::string& path, const toml::source_region& key_at,
             const toml::node& node) {
    ConfigValue value;
    std::string why;
    const toml::source_region& at = node.source().begin.line ? node.source() : key_at;
    switch (k.type) {
      case KeyType::kInteger:
        if (!node.is_integer()) {
          why = DescribeType(k) + " is required; " + TomlTypeName(node.type()) + " was given.";
        } else {
          why = CheckText(k, std::to_string(node.as_integer()->get()), value);
        }
        break;
      case KeyType::kBoolean:
        if (!node.is_boolean()) {
          why = "true or false is required; " + std::string(TomlTypeName(node.type())) +
                " was given.";
        } else {
          value.boolean = node.as_boolean()->get();
        }
        break;
      case KeyType::kString:
      case KeyType::kHostPort:
        if (!node.is_string()) {
          why = (k.type == KeyType::kHostPort ? std::string("a \"HOST:PORT\" string")
                                              : std::string("a string")) +
                " is required; " + TomlTypeName(node.type()) + " was given.";
        } else {
          why = CheckText(k, node.as_string()->get(), value);
        }
        break;
      case KeyType::kStringArray: {
        const toml::array* list = node.as_array();
        if (!list) {
          why = "an array of strings is required; " + std::string(TomlTypeName(node.type())) +
                " was given.";
          break;
        }
        for (size_t i = 0; i < list->size(); ++i) {
          const toml::node& item = *list->get(i);
          const std::string item_path = path + "[" + std::to_string(i) + "]";
          if (!item.is_string() || item.as_string()->get().empty()) {
            Problem(item_path, item.source(), "a non-empty string is required.");
            continue;
          }
          if (std::string bad = Check(k, item.as_string()->get()); !bad.empty()) {
            Problem(item_path, item.source(), std::move(bad));
            continue;
          }
          value.list.push_back(item.as_string()->get());
        }
        if (value.list.size() != list->size()) return;  // reported per item
        break;
      }
      case KeyType::kStringTable: {
        const toml::table* table = node.as_table();
        if (!table) {
          why = "a table of strings is required; " + std::string(TomlTypeName(node.type())) +
                " was given.";
          break;
        }
        for (const auto& [name, item] : *table) {
          const std::string item_path = path + ".\"" + std::string(name.str()) + "\"";
          if (!item.is_string()) {
            Problem(
                item_path, item.source(),
                "a string is required; " + std::string(TomlTypeName(item.type())) + " was given.");
            continue;
          }
          if (std::string bad = Check(k, item.as_string()->get()); !bad.empty()) {
            Problem(item_path, item.source(), std::move(bad));
            continue;
          }
          value.table.emplace_back(std::string(name.str()), item.as_string()->get());
        }
        if (value.table.size() != table->size()) return;  // reported per item
        break;
      }
      case KeyType::kRateTable: {
        const toml::table* table = node.as_table();
        if (!table) {
          why = "a table of Action = qps is required; " + std::string(TomlTypeName(node.type())) +
                " was given.";
          break;
        }
        for (const auto& [name, item] : *table) {
          const std::string item_path = path + "." + std::string(name.str());
          if (!api::FindAction(name.str())) {
            Problem(item_path, name.source(), "not an Action certplan serves.");
            continue;
          }
          api::RateLimit rate;
          if (std::string bad = ReadRate(item, rate); !bad.empty()) {
            Problem(item_path, item.source(), std::move(bad));
            continue;
          }
          value.rates.emplace_back(std::string(name.str()), rate);
        }
        if (value.rates.size() != table->size()) return;  // reported per item
        break;
      }
    }
    if (!why.empty()) return Problem(path, at, std::move(why));
    k.set(config_, value);
    ++keys_set_;
  }

  // Rules between keys, reported at the first of them the file sets.
  void CrossCheck(const toml::table& root) {
    auto at = [&](std::string_view key) {
      const toml::node* node = root.at_path(key).node();
      return node ? node->source() : toml::source_region{};
    };
    const pki::CaFiles& ca = config_.ca;
    const bool any =
        !ca.root_cert_file.empty() || !ca.issuing_cert_file.empty() || !ca.issuing_key_file.empty();
    const bool all =
        !ca.root_cert_file.empty() && !ca.issuing_cert_file.empty() && !ca.issuing_key_file.empty();
    if (any && !all) {
      for (std::string_view key : {"ca.root_cert", "ca.issuing_cert", "ca.issuing_key"}) {
        if (!root.at_path(key)) {
          Problem(std::string(key), at("ca"),
                  "give root_cert, issuing_cert and issuing_key together.");
        }
      }
    }
    if (config_.server.body_budget_bytes < config_.server.limits.body_bytes) {
      const bool budget_set = static_cast<bool>(root.at_path("server.body_budget_bytes"));
      Problem(budget_set ? "server.body_budget_bytes" : "limits.body_bytes",
              at(budget_set ? "server.body_budget_bytes" : "limits.body_bytes"),
              "server.body_budget_bytes must be at least limits.body_bytes.");
    }
  }

  std::string path_;
  Config& config_;
  ConfigProblems problems_;
  int keys_set_ = 0;
};

}  // namespace

std::span<const ConfigKey> ConfigKeys() { return kKeys; }

std::string DescribeType(const ConfigKey& key) {
  switch (key.type) {
    case KeyType::kInteger:
      return "integer " + std::to_string(key.min) + "-" + std::to_string(key.max);
    case KeyType::kBoolean: return "boolean";
    case KeyType::kString: {
      if (key.choices.empty()) return "string";
      const std::vector<std::string_view> choices = Choices(key.choices);
      std::string out;
      for (size_t i = 0; i < choices.size(); ++i) {
        if (i > 0) out += i + 1 == choices.size() ? " or " : ", ";
        out += '"';
        out += choices[i];
        out += '"';
      }
      return out;
    }
    case KeyType::kHostPort: return "HOST:PORT";
    case KeyType::kStringArray: return "array of strings";
    case KeyType::kStringTable: return "table of strings";
    case KeyType::kRateTable: return "table of Action = qps or { qps, burst }";
  }
  return "value";
}

std::string ConfigProblem::ToString() const {
  std::string out = source;
  if (line > 0) {
    out += ':';
    out += std::to_string(line);
    out += ':';
    out += std::to_string(column);
  }
  out += ": ";
  if (!key.empty()) out += key + ": ";
  return out + why;
}

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

ConfigProblems LoadConfigFile(const std::string& path, Config& config, int* keys_set) {
  if (std::ifstream probe(path); !probe) {
    return {ConfigProblem{path, "", 0, 0, std::string("cannot be read: ") + std::strerror(errno)}};
  }
  toml::table root;
  try {  // toml++ reports parse errors by exception when exceptions are on
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const toml::source_region& at = e.source();
    return {ConfigProblem{path, "", static_cast<int64_t>(at.begin.line),
                          static_cast<int64_t>(at.begin.column),
                          "not valid TOML: " + std::string(e.description())}};
  }
  FileReader reader(path, config);
  ConfigProblems problems = reader.Read(root);
  if (keys_set) *keys_set = reader.keys_set();
  return problems;
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

ConfigProblems ApplyEnvironment(Config& config) {
  ConfigProblems problems;
  for (const ConfigKey& k : kKeys) {
    if (k.env.empty()) continue;
    const char* text = std::getenv(std::string(k.env).c_str());
    if (!text || !*text) continue;
    ConfigValue value;
    if (std::string why = CheckText(k, text, value); !why.empty()) {
      // Appended piecewise: GCC 12's -O3 flags `"(" + std::string(…)` with a false
      // -Wstringop-overflow.
      std::string message = "(";
      message += k.key;
      message += ") ";
      message += why;
      problems.push_back(
          ConfigProblem{"environment", std::string(k.env), 0, 0, std::move(message)});
      continue;
    }
    k.set(config, value);
  }
  return problems;
}

Status CheckAdminListen(const Config& config, http::ServerOptions& admin) {
  constexpr std::string_view kKey = "server.admin_listen";
  if (!ParseListen(config.admin_listen, admin)) {
    return Bad(kKey, "use HOST:PORT, e.g. 127.0.0.1:8081.");
  }
  in_addr v4{};
  in6_addr v6{};
  bool loopback = false;
  if (::inet_pton(AF_INET, admin.host.c_str(), &v4) == 1) {
    loopback = (ntohl(v4.s_addr) >> 24) == 127;
  } else if (::inet_pton(AF_INET6, admin.host.c_str(), &v6) == 1) {
    loopback = IN6_IS_ADDR_LOOPBACK(&v6);
  } else {
    return Bad(kKey, "\"" + admin.host + "\" is not an IP address.");
  }
  if (!loopback && !config.admin_allow_remote) {
    return Bad(kKey,
               "the operator API speaks plain HTTP with bearer tokens: listen on a loopback "
               "address (127.0.0.1, ::1), or set server.admin_allow_remote = true behind a "
               "TLS-terminating proxy.");
  }
  return Ok{};
}

}  // namespace certplan::cli
