#include "auth/canonical_request.h"

#include <algorithm>

#include "rpc/percent.h"

namespace certplan::auth {
namespace {

std::string_view Trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

void AppendPairs(std::string& out, const ParamPairs& pairs) {
  bool first = true;
  for (const auto& [name, value] : pairs) {
    if (!first) out += '&';
    first = false;
    rpc::AppendPercentEncoded(out, name);
    out += '=';
    rpc::AppendPercentEncoded(out, value);
  }
}

// CanonicalQuery appended to `out`: the pairs sorted through pointers, not copied.
void AppendCanonicalQuery(std::string& out, const ParamPairs& pairs) {
  using Pair = ParamPairs::value_type;
  // The thread's list of pointers keeps its capacity from one request to the next.
  thread_local std::vector<const Pair*> sorted;
  sorted.clear();
  if (sorted.capacity() > 256) sorted.shrink_to_fit();  // a large query's is given back
  sorted.reserve(pairs.size());
  for (const Pair& p : pairs) sorted.push_back(&p);
  // By name, then value, in byte order.
  std::sort(sorted.begin(), sorted.end(), [](const Pair* a, const Pair* b) { return *a < *b; });
  bool first = true;
  for (const Pair* p : sorted) {
    if (!first) out += '&';
    first = false;
    rpc::AppendPercentEncoded(out, p->first);
    out += '=';
    rpc::AppendPercentEncoded(out, p->second);
  }
}

// CanonicalHeaders appended to `out`.
void AppendCanonicalHeaders(std::string& out, const rpc::Request& request,
                            const std::vector<std::string_view>& signed_headers) {
  std::vector<std::string_view> values;
  for (std::string_view name : signed_headers) {
    values.clear();
    // The usual case, a header sent once, is appended without collecting its values.
    const auto named = [&](const auto& h) { return h.first == name; };
    const auto first = std::find_if(request.headers.begin(), request.headers.end(), named);
    if (first == request.headers.end() ||
        std::find_if(first + 1, request.headers.end(), named) == request.headers.end()) {
      out += name;
      out += ':';
      if (first != request.headers.end()) out += Trim(first->second);
      out += '\n';
      continue;
    }
    for (const auto& [n, v] : request.headers) {
      if (n == name) values.push_back(Trim(v));
    }
    if (values.size() > 1) std::sort(values.begin(), values.end());
    out += name;
    out += ':';
    for (size_t i = 0; i < values.size(); ++i) {
      if (i > 0) out += ',';
      out += values[i];
    }
    out += '\n';
  }
}

}  // namespace

std::string CanonicalQuery(ParamPairs pairs) {
  std::string out;
  AppendCanonicalQuery(out, pairs);
  return out;
}

std::string CanonicalHeaders(const rpc::Request& request,
                             const std::vector<std::string_view>& signed_headers) {
  std::string out;
  AppendCanonicalHeaders(out, request, signed_headers);
  return out;
}

std::string CanonicalRequestV3(const rpc::Request& request, const ParamPairs& query,
                               const std::vector<std::string_view>& signed_headers,
                               std::string_view signed_headers_text,
                               std::string_view hashed_payload) {
  std::string out;
  AppendCanonicalRequestV3(out, request, query, signed_headers, signed_headers_text,
                           hashed_payload);
  return out;
}

void AppendCanonicalRequestV3(std::string& out, const rpc::Request& request,
                              const ParamPairs& query,
                              const std::vector<std::string_view>& signed_headers,
                              std::string_view signed_headers_text,
                              std::string_view hashed_payload) {
  out.reserve(out.size() + 512 + request.query.size());
  out += request.method;
  out += "\n/\n";  // CanonicalURI is `/` for every RPC operation
  AppendCanonicalQuery(out, query);
  out += '\n';
  AppendCanonicalHeaders(out, request, signed_headers);
  out += '\n';
  out += signed_headers_text;
  out += '\n';
  out += hashed_payload;
}

std::string CanonicalizedQueryV1(const ParamPairs& sorted_params) {
  std::string out;
  AppendPairs(out, sorted_params);
  return out;
}

std::string StringToSignV1(std::string_view method, std::string_view canonicalized_query) {
  std::string out(method);
  out += "&%2F&";
  rpc::AppendPercentEncoded(out, canonicalized_query);
  return out;
}

}  // namespace certplan::auth
