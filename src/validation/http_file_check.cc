#include "validation/http_file_check.h"

#include <curl/curl.h>

#include <memory>

#include "cas/domain_checker.h"
#include "core/free_with.h"

namespace certplan::validation {
namespace {

using CurlPtr = std::unique_ptr<CURL, FreeWith<&curl_easy_cleanup>>;
using SlistPtr = std::unique_ptr<curl_slist, FreeWith<&curl_slist_free_all>>;

constexpr size_t kMaxBody = 64 * 1024;

size_t Collect(char* data, size_t size, size_t count, void* out) {
  auto* body = static_cast<std::string*>(out);
  const size_t n = size * count;
  if (body->size() + n > kMaxBody) return 0;  // aborts the transfer
  body->append(data, n);
  return n;
}

Result<std::string> Fetch(std::string_view scheme, std::string_view domain,
                          const AddressOverrides& overrides,
                          std::string_view path = cas::kFileAuthPath) {
  CurlPtr curl(curl_easy_init());
  if (!curl) return InternalError("curl_easy_init");
  const std::string url = std::string(scheme) + "://" + std::string(domain) + std::string(path);
  std::string body;
  SlistPtr connect_to;
  auto it = overrides.find(domain);
  if (it != overrides.end()) {
    // "HOST:PORT:CONNECT-TO-HOST:CONNECT-TO-PORT", empty first part = any host and port.
    connect_to.reset(curl_slist_append(nullptr, ("::" + it->second).c_str()));
    curl_easy_setopt(curl.get(), CURLOPT_CONNECT_TO, connect_to.get());
  }
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, &Collect);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
  const CURLcode rc = curl_easy_perform(curl.get());
  if (rc != CURLE_OK) {
    return Error(ErrorCode::kServiceUnavailable, url + ": " + curl_easy_strerror(rc));
  }
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) {
    return Error(ErrorCode::kServiceUnavailable, url + " answered HTTP " + std::to_string(status));
  }
  return body;
}

}  // namespace

Result<std::string> FetchFileAuth(std::string_view domain, const AddressOverrides& overrides) {
  Result<std::string> plain = Fetch("http", domain, overrides);
  if (plain) return plain;
  Result<std::string> secure = Fetch("https", domain, overrides);
  if (secure) return secure;
  return plain.error();
}

Result<std::string> FetchHttpPath(std::string_view domain, std::string_view path,
                                  const AddressOverrides& overrides) {
  return Fetch("http", domain, overrides, path);
}

}  // namespace certplan::validation
