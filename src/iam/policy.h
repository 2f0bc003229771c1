#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace certplan::iam {

// What a policy can be asked about one request.
struct RequestFacts {
  std::string action;    // "yundun-cert:DescribePackageState"
  std::string resource;  // "acs:yundun-cert:*:<account>:*"
  std::string source_ip;
  bool secure_transport = false;
  int64_t now = 0;  // seconds since the epoch
};

enum class Effect { kAllow, kDeny };

// One condition: operator, key and the values any of which may match.
struct Condition {
  std::string op;   // e.g. "IpAddress", "DateLessThan", "StringLike"
  std::string key;  // lower-case, e.g. "acs:sourceip"
  std::vector<std::string> values;
};

struct Statement {
  Effect effect = Effect::kAllow;
  std::vector<std::string> actions;    // patterns with * and ?
  std::vector<std::string> resources;  // patterns with * and ?
  std::vector<Condition> conditions;   // all must hold
};

// A parsed and validated RAM policy document (Version "1"). Immutable; thread-safe.
class Policy {
 public:
  // kInvalidParameter naming what is wrong: not JSON, Version not "1", no Statement, Effect not
  // Allow/Deny, Action/Resource not a string or list of strings, an unknown condition operator
  // or key, a malformed CIDR, date or boolean.
  static Result<Policy> Parse(std::string_view document);

  const std::vector<Statement>& statements() const { return statements_; }

 private:
  std::vector<Statement> statements_;
};

enum class Decision { kAllow, kExplicitDeny, kImplicitDeny };

// RAM evaluation: an explicit Deny in any policy wins, then any Allow, otherwise implicit deny.
Decision Evaluate(const std::vector<const Policy*>& policies, const RequestFacts& facts);

// `*` matches any run of characters, `?` exactly one; case-insensitive when asked.
bool WildcardMatch(std::string_view pattern, std::string_view text, bool ignore_case);

}  // namespace certplan::iam
