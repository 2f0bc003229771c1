#include "auth/replay_guard.h"

#include <algorithm>
#include <cstring>
#include <string>

#include <openssl/evp.h>

namespace certplan::auth {
namespace {

bool TestBit(const std::vector<uint64_t>& bits, uint64_t i) { return bits[i / 64] >> (i % 64) & 1; }
void SetBit(std::vector<uint64_t>& bits, uint64_t i) { bits[i / 64] |= uint64_t{1} << (i % 64); }

}  // namespace

MemoryReplayGuard::MemoryReplayGuard(ReplayOptions options) : options_(options) {
  const int64_t span = 2 * std::max<int64_t>(options_.window_seconds, 1);
  slice_seconds_ = (span + kSlices - 1) / kSlices;
  // Never smaller than the exact tier it takes over.
  filter_entries_ = std::max<int64_t>((options_.share_nonces + kSlices - 1) / kSlices,
                                      static_cast<int64_t>(options_.exact_slice_entries) + 1);
  const uint64_t bits = static_cast<uint64_t>(filter_entries_) * kBloomBitsPerEntry;
  filter_words_ = static_cast<size_t>((bits + 63) / 64);
}

MemoryReplayGuard::MemoryReplayGuard(size_t share_nonces)
    : MemoryReplayGuard(ReplayOptions{ReplayOptions::Scope::kAccessKey, 900,
                                      static_cast<int64_t>(share_nonces), 4096}) {}

Status MemoryReplayGuard::Remember(std::string_view access_key_id, std::string_view nonce,
                                   int64_t expires_at, int64_t now) {
  return RememberFor(access_key_id, 0, nonce, expires_at, now);
}

Status MemoryReplayGuard::RememberFor(std::string_view access_key_id, int64_t account_id,
                                      std::string_view nonce, int64_t expires_at, int64_t now) {
  // A collision-resistant digest, so distinct pairs never collide and an attacker cannot
  // choose nonces that land on chosen filter bits.
  std::string input(access_key_id);
  input += '\0';
  input += nonce;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), md, &len, EVP_sha256(), nullptr);
  Digest digest;
  std::memcpy(&digest.hi, md, 8);
  std::memcpy(&digest.lo, md + 8, 8);
  // Key ids cannot contain ':' (they are alphanumeric), so the two namespaces never meet.
  const std::string share = options_.scope == ReplayOptions::Scope::kAccount
                                ? "account:" + std::to_string(account_id)
                                : std::string(access_key_id);
  return RememberIn(share, digest, expires_at, now);
}

bool MemoryReplayGuard::Seen(const Slice& slice, const Digest& digest, int64_t now) const {
  if (slice.filters.empty()) {
    auto it = slice.exact.find(digest);
    return it != slice.exact.end() && it->second >= now;
  }
  const uint64_t step = digest.lo | 1;  // odd: the probes never repeat before m
  for (const Filter& f : slice.filters) {
    const uint64_t m = static_cast<uint64_t>(f.bits.size()) * 64;
    bool all = true;
    for (int i = 0; i < kBloomProbes && all; ++i) {
      all = TestBit(f.bits, (digest.hi + static_cast<uint64_t>(i) * step) % m);
    }
    if (all) return true;
  }
  return false;
}

void MemoryReplayGuard::AddToFilter(Slice& slice, const Digest& digest) {
  if (slice.filters.empty() || slice.filters.back().count >= filter_entries_) {
    slice.filters.push_back(Filter{std::vector<uint64_t>(filter_words_, 0), 0});
  }
  Filter& f = slice.filters.back();
  const uint64_t m = static_cast<uint64_t>(f.bits.size()) * 64;
  const uint64_t step = digest.lo | 1;
  for (int i = 0; i < kBloomProbes; ++i) {
    SetBit(f.bits, (digest.hi + static_cast<uint64_t>(i) * step) % m);
  }
  ++f.count;
}

bool MemoryReplayGuard::Insert(Slice& slice, const Digest& digest, int64_t expires_at) {
  if (!slice.filters.empty()) {
    AddToFilter(slice, digest);
    ++slice.count;
    return true;
  }
  // An expired entry not yet swept is taken over in place: no new entry.
  if (!slice.exact.insert_or_assign(digest, expires_at).second) return false;
  ++slice.count;
  if (slice.exact.size() <= options_.exact_slice_entries) return true;
  // Grown past the exact tier: filters from now on, holding every digest so far.
  for (const auto& [d, at] : slice.exact) AddToFilter(slice, d);
  slice.exact = {};
  return true;
}

void MemoryReplayGuard::Sweep(Share& share, int64_t now) const {
  // A slice holds expiries [index × W, (index + 1) × W − 1]; gone once the last has passed.
  while (!share.slices.empty() && (share.slices.begin()->first + 1) * slice_seconds_ <= now) {
    share.count -= share.slices.begin()->second.count;
    share.slices.erase(share.slices.begin());
  }
}

Status MemoryReplayGuard::RememberIn(const std::string& share_name, const Digest& digest,
                                     int64_t expires_at, int64_t now) {
  Shard& shard = shards_[std::hash<std::string>()(share_name) % kShards];
  std::scoped_lock lock(shard.mu);
  // Now and then, forget the shares whose every slice has aged out.
  if (++shard.calls % 1024 == 0) {
    for (auto it = shard.shares.begin(); it != shard.shares.end();) {
      Sweep(it->second, now);
      it = it->second.slices.empty() ? shard.shares.erase(it) : std::next(it);
    }
  }
  Share& share = shard.shares[share_name];
  Sweep(share, now);
  for (auto& [index, slice] : share.slices) {
    if (Seen(slice, digest, now)) {
      return Error(ErrorCode::kSignatureNonceUsed, "Specified signature nonce was used already.");
    }
  }
  if (share.count >= options_.share_nonces) {
    // Full: the oldest slices may hold entries that have already expired; the exact tier knows
    // each one's expiry and gives them back (a filter keeps its own until the slice ends).
    for (auto& [index, slice] : share.slices) {
      if (index * slice_seconds_ > now) break;
      if (!slice.filters.empty()) continue;
      std::erase_if(slice.exact, [&](const auto& entry) { return entry.second < now; });
      share.count -= slice.count - static_cast<int64_t>(slice.exact.size());
      slice.count = static_cast<int64_t>(slice.exact.size());
    }
  }
  if (share.count >= options_.share_nonces) {
    return Error(ErrorCode::kThrottling, "Request was denied due to user flow control.",
                 "replay guard: this share is full");
  }
  if (Insert(share.slices[std::max<int64_t>(expires_at, 0) / slice_seconds_], digest, expires_at)) {
    ++share.count;
  }
  return Ok{};
}

size_t MemoryReplayGuard::ApproximateBytes() {
  size_t bytes = 0;
  for (Shard& shard : shards_) {
    std::scoped_lock lock(shard.mu);
    for (const auto& [name, share] : shard.shares) {
      for (const auto& [index, slice] : share.slices) {
        bytes += slice.exact.size() * (sizeof(Digest) + 8);
        for (const Filter& f : slice.filters) bytes += f.bits.size() * 8;
      }
    }
  }
  return bytes;
}

MemoryReplayGuard::Fill MemoryReplayGuard::Measure() {
  Fill fill;
  fill.capacity = options_.share_nonces;
  for (Shard& shard : shards_) {
    std::scoped_lock lock(shard.mu);
    fill.shares += shard.shares.size();
    for (const auto& [name, share] : shard.shares) {
      fill.entries += share.count;
      fill.fullest = std::max(fill.fullest, share.count);
      for (const auto& [index, slice] : share.slices) {
        fill.bytes += slice.exact.size() * (sizeof(Digest) + 8);
        for (const Filter& f : slice.filters) fill.bytes += f.bits.size() * 8;
      }
    }
  }
  return fill;
}

size_t MemoryReplayGuard::ShareCount() {
  size_t n = 0;
  for (Shard& shard : shards_) {
    std::scoped_lock lock(shard.mu);
    n += shard.shares.size();
  }
  return n;
}

}  // namespace certplan::auth
