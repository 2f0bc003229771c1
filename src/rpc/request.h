#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace certplan::rpc {

// One HTTP request as the gateway sees it, free of any HTTP library type.
struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // the target before '?', still percent-encoded
  std::string query;   // the target after '?', still percent-encoded
  // Header names lower-cased, values as received; repeated headers appear repeatedly.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string peer_ip;  // textual address of the TCP peer
  bool secure = false;  // arrived over TLS

  // The first value of header `name` (lower-case), or empty when absent.
  std::string_view Header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return {};
  }
  bool HasHeader(std::string_view name) const {
    for (const auto& h : headers) {
      if (h.first == name) return true;
    }
    return false;
  }
};

// What goes back on the wire.
struct Response {
  int status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

}  // namespace certplan::rpc
