#include "iam/authorizer.h"

#include "iam/system_policies.h"

namespace certplan::iam {

Result<std::shared_ptr<const Policy>> Authorizer::Parsed(const std::string& document) {
  {
    std::scoped_lock lock(mu_);
    auto it = index_.find(document);
    if (it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->second;
    }
  }
  // Documents were validated when created; a failure here means the store was edited by hand.
  Result<Policy> policy = Policy::Parse(document);
  if (!policy) return InternalError("stored policy does not parse: " + policy.error().message);
  auto parsed = std::make_shared<const Policy>(std::move(*policy));
  std::scoped_lock lock(mu_);
  if (index_.find(document) == index_.end()) {
    lru_.emplace_front(document, parsed);
    index_.emplace(lru_.front().first, lru_.begin());
    if (lru_.size() > capacity_) {
      index_.erase(lru_.back().first);
      lru_.pop_back();
    }
  }
  return std::shared_ptr<const Policy>(parsed);
}

Status Authorizer::Authorize(const Principal& principal, const RequestContext& request) {
  if (principal.is_root()) return Ok{};
  Result<std::vector<std::pair<std::string, std::string>>> attached =
      store_.AttachedPolicies(principal.account_id, principal.user_name);
  if (!attached) return attached.error();
  std::vector<std::shared_ptr<const Policy>> held;
  for (const auto& [name, stored] : *attached) {
    const std::string document = stored.empty() ? std::string(SystemPolicyDocument(name)) : stored;
    if (document.empty()) continue;
    Result<std::shared_ptr<const Policy>> policy = Parsed(document);
    if (!policy) return policy.error();
    held.push_back(std::move(*policy));
  }
  std::vector<const Policy*> policies;
  for (const auto& p : held) policies.push_back(p.get());
  RequestFacts facts{std::string(request.ram_action),
                     "acs:yundun-cert:*:" + std::to_string(principal.account_id) + ":*",
                     std::string(request.source_ip), request.secure_transport, request.now};
  const Decision decision = Evaluate(policies, facts);
  if (decision == Decision::kAllow) return Ok{};
  Error denied(ErrorCode::kForbiddenRam,
               "User not authorized to operate on the specified resource, or this API doesn't "
               "support RAM.");
  denied.access_denied =
      AccessDenied{std::string(request.ram_action),
                   "SubUser",
                   std::to_string(principal.account_id),
                   principal.user_name,
                   "AccountLevelIdentityBasedPolicy",
                   decision == Decision::kExplicitDeny ? "ExplicitDeny" : "ImplicitDeny"};
  return denied;
}

}  // namespace certplan::iam
