#include "auth/authenticator.h"

#include "core/time_format.h"

namespace certplan::auth {

Status Authenticator::CheckTimestamp(const SignedRequest& claim, int64_t now,
                                     int64_t& signed_at) const {
  std::optional<int64_t> parsed = ParseIso8601Utc(claim.timestamp);
  if (!parsed) {
    return Error(ErrorCode::kInvalidTimestampFormat,
                 "Specified time stamp or date value is not well formatted: expected "
                 "YYYY-MM-DDThh:mm:ssZ in UTC.");
  }
  const int64_t skew = now - *parsed;
  if (skew > options_.timestamp_window_seconds || -skew > options_.timestamp_window_seconds) {
    return Error(ErrorCode::kTimestampExpired, "Specified time stamp or date value is expired.");
  }
  signed_at = *parsed;
  return Ok{};
}

Result<std::optional<std::shared_ptr<const Authenticator::KnownKey>>> Authenticator::Lookup(
    std::string_view id) {
  using Found = std::optional<std::shared_ptr<const KnownKey>>;
  const auto now = std::chrono::steady_clock::now();
  const auto ttl = std::chrono::milliseconds(options_.key_cache_milliseconds);
  {
    std::scoped_lock lock(mu_);
    auto it = keys_.find(id);
    if (it != keys_.end() && now - it->second->fetched < ttl) return Found(it->second);
  }
  Result<std::optional<iam::AccessKey>> found = store_.FindAccessKey(id);
  if (!found) return found.error();
  if (!*found) return Found();  // unknown keys are not cached: nothing to gain for a forger
  Result<std::string> secret = box_.Open((*found)->sealed_secret, (*found)->id);
  if (!secret) return secret.error();
  auto known =
      std::make_shared<const KnownKey>(KnownKey{std::move(**found), std::move(*secret), now});
  if (options_.key_cache_milliseconds > 0) {
    std::scoped_lock lock(mu_);
    if (keys_.size() >= kMaxCachedKeys) keys_.clear();  // bounded; refills from the store
    keys_.insert_or_assign(std::string(id), known);
  }
  return Found(std::move(known));
}

Result<iam::Principal> Authenticator::Authenticate(const SignedRequest& claim,
                                                   const rpc::Request& request,
                                                   const rpc::Params& params,
                                                   std::optional<PendingNonce::Claim>* defer) {
  Result<std::optional<std::shared_ptr<const KnownKey>>> found = Lookup(claim.access_key_id);
  if (!found) return found.error();
  if (!*found) {
    return Error(ErrorCode::kAccessKeyNotFound, "Specified access key is not found.");
  }
  const iam::AccessKey& key = (**found)->record;
  if (!key.enabled) {
    return Error(ErrorCode::kAccessKeyInactive, "Specified access key is disabled.");
  }
  // certplan issues no STS tokens yet; a token it did not issue is never silently ignored.
  if (claim.has_security_token) {
    return Error(ErrorCode::kSecurityTokenMalformed,
                 "The security token you provided is malformed: this service issues no STS "
                 "tokens; sign with an AccessKey instead.");
  }
  const int64_t now = clock_.NowSeconds();
  int64_t signed_at = 0;
  Status fresh = CheckTimestamp(claim, now, signed_at);
  if (!fresh) return fresh.error();
  Status verified = VerifySignature(claim, request, params, (**found)->secret);
  if (!verified) return verified.error();
  // Kept until the signed time leaves the window: after that the timestamp check refuses it.
  // Its share is the key's (or its account's): a key can fill only its own.
  const int64_t expires_at = signed_at + options_.timestamp_window_seconds;
  if (defer != nullptr && replay_.ClaimsPendingNonces()) {
    *defer = PendingNonce::Claim{key.id, std::string(claim.nonce), expires_at, now};
  } else if (Status unseen =
                 replay_.RememberFor(key.id, key.account_id, claim.nonce, expires_at, now);
             !unseen) {
    return unseen.error();
  }
  return iam::Principal{key.account_id, key.user_name, key.id};
}

Status Authenticator::ClaimNonce(const PendingNonce::Claim& claim, int64_t account_id) {
  return replay_.RememberFor(claim.access_key_id, account_id, claim.nonce, claim.expires_at,
                             claim.now);
}

}  // namespace certplan::auth
