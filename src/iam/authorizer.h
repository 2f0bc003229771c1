#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/result.h"
#include "iam/identity_store.h"
#include "iam/policy.h"
#include "iam/principal.h"

namespace certplan::iam {

// What the gateway knows about the request besides its principal.
struct RequestContext {
  std::string_view ram_action;  // "yundun-cert:DescribePackageState"
  std::string_view source_ip;
  bool secure_transport = false;
  int64_t now = 0;
};

// RAM authorization: an account's root identity may do everything in its account; a RAM user
// may do what the union of its attached policies allows (explicit Deny wins). The attachments
// are read from the store on every request, so a change takes effect on the next one; parsed
// documents are cached by their text (bounded LRU). Thread-safe.
class Authorizer {
 public:
  explicit Authorizer(IdentityStore& store, size_t cache_entries = 1024)
      : store_(store), capacity_(cache_entries) {}

  // kForbiddenRam with AccessDenied filled when refused; store errors pass through.
  Status Authorize(const Principal& principal, const RequestContext& request);

 private:
  Result<std::shared_ptr<const Policy>> Parsed(const std::string& document);

  IdentityStore& store_;
  size_t capacity_;
  std::mutex mu_;
  // guarded by mu_: document text -> parsed policy, most recently used first
  std::list<std::pair<std::string, std::shared_ptr<const Policy>>> lru_;
  std::unordered_map<std::string_view, decltype(lru_)::iterator> index_;
};

}  // namespace certplan::iam
