#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace certplan::rpc {

// Decoded request parameters: the union of the URL query and an
// application/x-www-form-urlencoded body (spec §1.1). Names are case-sensitive.
class Params {
 public:
  using Pair = std::pair<std::string, std::string>;

  // Decodes both sources. A malformed escape, invalid UTF-8, or the same name twice (in one
  // source or across both) is kInvalidParameter naming the parameter.
  static Result<Params> Decode(std::string_view query, std::string_view form_body);
  // The same with the body's parameters already decoded (a JSON body, DecodeJsonBody).
  static Result<Params> Decode(std::string_view query, std::vector<Pair> body);

  // The raw value, empty string included.
  std::optional<std::string_view> Raw(std::string_view name) const;
  // The value, with an empty string treated as absent (spec §5: SDKs send `Name=` for "").
  std::optional<std::string_view> Get(std::string_view name) const;
  // Required value: kMissingParameter when absent or empty.
  Result<std::string_view> Require(std::string_view name) const;
  // Optional int64 in decimal: kInvalidParameter when not a number.
  Result<std::optional<int64_t>> GetInt64(std::string_view name) const;
  // Optional int64 in decimal within [min, max]: kInvalidParameter naming the range when it is
  // not a number, does not fit int64, or lies outside.
  Result<std::optional<int64_t>> GetInt64In(std::string_view name, int64_t min, int64_t max) const;

  // The parameters that came in the URL query, in arrival order (V3 signs only these).
  const std::vector<Pair>& query() const { return query_; }
  // Every parameter (query and body), sorted by name (V1 signs these minus Signature).
  const std::map<std::string, std::string, std::less<>>& all() const { return all_; }

 private:
  std::vector<Pair> query_;
  std::map<std::string, std::string, std::less<>> all_;
};

// Splits `a=1&b=2` into decoded pairs (`+` is space). kInvalidParameter on a bad escape or
// invalid UTF-8.
Result<std::vector<Params::Pair>> DecodeUrlEncoded(std::string_view text);

// A JSON request body read as parameters (spec/cas-repository.md §7.10.1): one top-level object
// whose scalar members become parameters (numbers and booleans as their JSON text) and whose
// arrays flatten to Name.N or Name.N.Key. kInvalidParameter for bad JSON, another top-level value,
// nested objects or nulls.
Result<std::vector<Params::Pair>> DecodeJsonBody(std::string_view body);

}  // namespace certplan::rpc
