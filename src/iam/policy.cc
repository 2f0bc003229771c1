#include "iam/policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>

#include <nlohmann/json.hpp>

#include "core/time_format.h"

namespace certplan::iam {
namespace {

using Json = nlohmann::json;

enum class KeyType { kIp, kBool, kDate };

struct KnownKey {
  std::string_view name;  // lower-case
  KeyType type;
};
constexpr KnownKey kKeys[] = {{"acs:sourceip", KeyType::kIp},
                              {"acs:securetransport", KeyType::kBool},
                              {"acs:currenttime", KeyType::kDate}};

struct KnownOperator {
  std::string_view name;
  std::array<bool, 3> applies;  // to kIp, kBool, kDate
};
constexpr KnownOperator kOperators[] = {
    {"StringEquals", {true, true, true}},
    {"StringNotEquals", {true, true, true}},
    {"StringEqualsIgnoreCase", {true, true, true}},
    {"StringNotEqualsIgnoreCase", {true, true, true}},
    {"StringLike", {true, true, true}},
    {"StringNotLike", {true, true, true}},
    {"IpAddress", {true, false, false}},
    {"NotIpAddress", {true, false, false}},
    {"Bool", {false, true, false}},
    {"DateEquals", {false, false, true}},
    {"DateNotEquals", {false, false, true}},
    {"DateLessThan", {false, false, true}},
    {"DateLessThanEquals", {false, false, true}},
    {"DateGreaterThan", {false, false, true}},
    {"DateGreaterThanEquals", {false, false, true}},
};

Error Malformed(std::string why) { return InvalidParameter("PolicyDocument", std::move(why)); }

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

// An address and prefix length, in network byte order (IPv4 stored as 4 bytes).
struct Cidr {
  std::array<unsigned char, 16> bytes{};
  int family = 0;
  int prefix = 0;
};

std::optional<Cidr> ParseIp(std::string_view text, bool allow_prefix) {
  Cidr c;
  std::string addr(text.substr(0, text.find('/')));
  if (inet_pton(AF_INET, addr.c_str(), c.bytes.data()) == 1) {
    c.family = AF_INET, c.prefix = 32;
  } else if (inet_pton(AF_INET6, addr.c_str(), c.bytes.data()) == 1) {
    c.family = AF_INET6, c.prefix = 128;
  } else {
    return std::nullopt;
  }
  const size_t slash = text.find('/');
  if (slash != std::string_view::npos) {
    if (!allow_prefix) return std::nullopt;
    std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 ||
        !std::all_of(digits.begin(), digits.end(),
                     [](char ch) { return ch >= '0' && ch <= '9'; })) {
      return std::nullopt;
    }
    const int p = std::stoi(std::string(digits));
    if (p > c.prefix) return std::nullopt;
    c.prefix = p;
  }
  return c;
}

bool InCidr(const Cidr& net, const Cidr& ip) {
  if (net.family != ip.family) return false;
  int bits = net.prefix;
  for (size_t i = 0; bits > 0; ++i, bits -= 8) {
    const unsigned char mask = bits >= 8 ? 0xFF : static_cast<unsigned char>(0xFF << (8 - bits));
    if ((net.bytes[i] & mask) != (ip.bytes[i] & mask)) return false;
  }
  return true;
}

Result<std::vector<std::string>> StringList(const Json& node, std::string_view field) {
  std::vector<std::string> out;
  if (node.is_string()) {
    out.push_back(node.get<std::string>());
  } else if (node.is_array() && !node.empty()) {
    for (const Json& item : node) {
      if (!item.is_string()) return Malformed(std::string(field) + " must hold strings.");
      out.push_back(item.get<std::string>());
    }
  } else if (node.is_boolean()) {
    out.push_back(node.get<bool>() ? "true" : "false");
  } else {
    return Malformed(std::string(field) + " must be a string or a non-empty list of strings.");
  }
  return out;
}

Status CheckValue(const Condition& c, KeyType type) {
  for (const std::string& v : c.values) {
    bool ok = true;
    if (c.op == "IpAddress" || c.op == "NotIpAddress") ok = ParseIp(v, true).has_value();
    if (c.op == "Bool") ok = v == "true" || v == "false";
    if (c.op.rfind("Date", 0) == 0) ok = ParseRfc3339(v).has_value();
    if (!ok) return Malformed("\"" + v + "\" is not a valid value for " + c.op + ".");
  }
  (void)type;
  return Ok{};
}

Result<std::vector<Condition>> ParseConditions(const Json& node) {
  std::vector<Condition> out;
  if (!node.is_object()) return Malformed("Condition must be an object.");
  for (auto& [op, keys] : node.items()) {
    auto known_op =
        std::find_if(std::begin(kOperators), std::end(kOperators),
                     [&wanted = op](const KnownOperator& k) { return k.name == wanted; });
    if (known_op == std::end(kOperators))
      return Malformed("unknown condition operator " + op + ".");
    if (!keys.is_object() || keys.empty())
      return Malformed(op + " must map condition keys to values.");
    for (auto& [key, values] : keys.items()) {
      const std::string lower = Lower(key);
      auto known_key = std::find_if(std::begin(kKeys), std::end(kKeys),
                                    [&](const KnownKey& k) { return k.name == lower; });
      if (known_key == std::end(kKeys)) return Malformed("unsupported condition key " + key + ".");
      if (!known_op->applies[static_cast<size_t>(known_key->type)]) {
        return Malformed(op + " cannot test " + key + ".");
      }
      Result<std::vector<std::string>> list = StringList(values, key);
      if (!list) return list.error();
      Condition c{op, lower, std::move(*list)};
      if (Status s = CheckValue(c, known_key->type); !s) return s.error();
      out.push_back(std::move(c));
    }
  }
  return out;
}

Result<Statement> ParseStatement(const Json& node) {
  if (!node.is_object()) return Malformed("each Statement must be an object.");
  Statement st;
  auto effect = node.find("Effect");
  if (effect == node.end() || !effect->is_string() || (*effect != "Allow" && *effect != "Deny")) {
    return Malformed("Effect must be \"Allow\" or \"Deny\".");
  }
  st.effect = *effect == "Allow" ? Effect::kAllow : Effect::kDeny;
  for (auto& [field, target] :
       {std::pair{"Action", &st.actions}, std::pair{"Resource", &st.resources}}) {
    auto it = node.find(field);
    if (it == node.end()) return Malformed(std::string("a Statement has no ") + field + ".");
    Result<std::vector<std::string>> list = StringList(*it, field);
    if (!list) return list.error();
    *target = std::move(*list);
  }
  for (const std::string& a : st.actions) {
    if (a != "*" && a.find(':') == std::string::npos) {
      return Malformed("Action \"" + a + "\" must be service:Action, e.g. yundun-cert:Describe*.");
    }
  }
  if (auto cond = node.find("Condition"); cond != node.end()) {
    Result<std::vector<Condition>> conditions = ParseConditions(*cond);
    if (!conditions) return conditions.error();
    st.conditions = std::move(*conditions);
  }
  for (auto& [key, value] : node.items()) {
    if (key != "Effect" && key != "Action" && key != "Resource" && key != "Condition") {
      return Malformed("unknown Statement field " + key + ".");
    }
    (void)value;
  }
  return st;
}

bool StringTest(const Condition& c, std::string_view actual) {
  const bool negated = c.op.find("Not") != std::string::npos;
  bool any = false;
  for (const std::string& v : c.values) {
    if (c.op == "StringEquals" || c.op == "StringNotEquals") any |= v == actual;
    if (c.op == "StringEqualsIgnoreCase" || c.op == "StringNotEqualsIgnoreCase")
      any |= Lower(v) == Lower(actual);
    if (c.op == "StringLike" || c.op == "StringNotLike") any |= WildcardMatch(v, actual, false);
  }
  return negated ? !any : any;
}

bool Holds(const Condition& c, const RequestFacts& f) {
  std::string actual;
  if (c.key == "acs:sourceip") actual = f.source_ip;
  if (c.key == "acs:securetransport") actual = f.secure_transport ? "true" : "false";
  if (c.key == "acs:currenttime") actual = FormatIso8601Utc(f.now);
  if (c.op.rfind("String", 0) == 0) return StringTest(c, actual);
  if (c.op == "Bool")
    return std::any_of(c.values.begin(), c.values.end(), [&](auto& v) { return v == actual; });
  if (c.op == "IpAddress" || c.op == "NotIpAddress") {
    std::optional<Cidr> ip = ParseIp(f.source_ip, false);
    const bool any = ip && std::any_of(c.values.begin(), c.values.end(), [&](const std::string& v) {
                       return InCidr(*ParseIp(v, true), *ip);
                     });
    return c.op == "IpAddress" ? any : !any;
  }
  // Date operators: compare the request time with each value; any may match (Not*: none).
  auto compare = [&](const std::string& v) {
    const int64_t t = *ParseRfc3339(v);
    if (c.op == "DateEquals" || c.op == "DateNotEquals") return f.now == t;
    if (c.op == "DateLessThan") return f.now < t;
    if (c.op == "DateLessThanEquals") return f.now <= t;
    if (c.op == "DateGreaterThan") return f.now > t;
    return f.now >= t;  // DateGreaterThanEquals
  };
  const bool any = std::any_of(c.values.begin(), c.values.end(), compare);
  return c.op == "DateNotEquals" ? !any : any;
}

bool Applies(const Statement& st, const RequestFacts& f) {
  auto matches = [](const std::vector<std::string>& patterns, std::string_view text, bool ci) {
    return std::any_of(patterns.begin(), patterns.end(),
                       [&](const std::string& p) { return WildcardMatch(p, text, ci); });
  };
  if (!matches(st.actions, f.action, true) || !matches(st.resources, f.resource, false))
    return false;
  return std::all_of(st.conditions.begin(), st.conditions.end(),
                     [&](const Condition& c) { return Holds(c, f); });
}

}  // namespace

bool WildcardMatch(std::string_view pattern, std::string_view text, bool ignore_case) {
  // Iterative glob with backtracking to the last '*': linear in practice, no recursion.
  auto eq = [ignore_case](char a, char b) {
    return ignore_case ? std::tolower(static_cast<unsigned char>(a)) ==
                             std::tolower(static_cast<unsigned char>(b))
                       : a == b;
  };
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || eq(pattern[p], text[t]))) {
      ++p, ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++, mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1, t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

Result<Policy> Policy::Parse(std::string_view document) {
  Json doc = Json::parse(document, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return Malformed("it is not a JSON object.");
  auto version = doc.find("Version");
  if (version == doc.end() || *version != "1") return Malformed("Version must be \"1\".");
  auto statements = doc.find("Statement");
  if (statements == doc.end() || !statements->is_array() || statements->empty()) {
    return Malformed("Statement must be a non-empty list.");
  }
  Policy policy;
  for (const Json& node : *statements) {
    Result<Statement> st = ParseStatement(node);
    if (!st) return st.error();
    policy.statements_.push_back(std::move(*st));
  }
  return policy;
}

Decision Evaluate(const std::vector<const Policy*>& policies, const RequestFacts& facts) {
  bool allowed = false;
  for (const Policy* policy : policies) {
    for (const Statement& st : policy->statements()) {
      if (!Applies(st, facts)) continue;
      if (st.effect == Effect::kDeny) return Decision::kExplicitDeny;
      allowed = true;
    }
  }
  return allowed ? Decision::kAllow : Decision::kImplicitDeny;
}

}  // namespace certplan::iam
