#include "auth/replay_guard.h"

#include <cstring>
#include <string>

#include <openssl/evp.h>

namespace certplan::auth {

MemoryReplayGuard::MemoryReplayGuard(size_t max_entries)
    : max_per_shard_(max_entries / kShards + 1) {}

Status MemoryReplayGuard::Remember(std::string_view access_key_id, std::string_view nonce,
                                   int64_t expires_at, int64_t now) {
  // A collision-resistant digest, so distinct pairs never collide and an attacker cannot
  // choose nonces that land in one hash bucket.
  std::string input(access_key_id);
  input += '\0';
  input += nonce;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), md, &len, EVP_sha256(), nullptr);
  Key key;
  std::memcpy(&key.hi, md, 8);
  std::memcpy(&key.lo, md + 8, 8);

  Shard& shard = shards_[key.lo % kShards];
  std::scoped_lock lock(shard.mu);
  while (!shard.expiries.empty() && shard.expiries.top().at < now) {
    const Expiry& e = shard.expiries.top();
    auto it = shard.seen.find(e.key);
    if (it != shard.seen.end() && it->second == e.at) shard.seen.erase(it);
    shard.expiries.pop();
  }
  auto [it, inserted] = shard.seen.try_emplace(key, expires_at);
  if (!inserted) {
    if (it->second >= now) {
      return Error(ErrorCode::kSignatureNonceUsed, "Specified signature nonce was used already.");
    }
    it->second = expires_at;  // expired but not yet swept: reuse is fine
  } else if (shard.seen.size() > max_per_shard_) {
    shard.seen.erase(it);
    return Error(ErrorCode::kThrottling, "Request was denied due to user flow control.",
                 "replay guard full");
  }
  shard.expiries.push({expires_at, key});
  return Ok{};
}

}  // namespace certplan::auth
