#include "auth/replay_guard.h"

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <utility>

#include "auth/crypto.h"

namespace certplan::auth {
namespace {

template <typename Words>
bool TestBit(const Words& bits, uint64_t i) {
  return bits[i / 64] >> (i % 64) & 1;
}
template <typename Words>
void SetBit(Words& bits, uint64_t i) {
  bits[i / 64] |= uint64_t{1} << (i % 64);
}

// Filters at least this large are mapped (smaller ones, e.g. in tests, come from the heap).
constexpr size_t kMappedBytes = 2 * 1024 * 1024;

}  // namespace

MemoryReplayGuard::Bits::Bits(size_t words) : words_(words) {
  const size_t bytes = words * sizeof(uint64_t);
  if (bytes >= kMappedBytes) {
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) {
#ifdef MADV_HUGEPAGE
      madvise(p, bytes, MADV_HUGEPAGE);  // advice: refused (or THP off) leaves 4 KiB pages
#endif
      data_ = static_cast<uint64_t*>(p);
      mapped_ = true;
      return;
    }
  }
  data_ = static_cast<uint64_t*>(std::calloc(words == 0 ? 1 : words, sizeof(uint64_t)));
  if (data_ == nullptr) throw std::bad_alloc();  // as the std::vector it replaces would
}

MemoryReplayGuard::Bits::~Bits() {
  if (data_ == nullptr) return;
  if (mapped_) {
    munmap(data_, words_ * sizeof(uint64_t));
  } else {
    std::free(data_);
  }
}

MemoryReplayGuard::Bits::Bits(Bits&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      words_(std::exchange(other.words_, 0)),
      mapped_(std::exchange(other.mapped_, false)) {}

MemoryReplayGuard::Bits& MemoryReplayGuard::Bits::operator=(Bits&& other) noexcept {
  if (this != &other) {
    Bits gone(std::move(*this));
    data_ = std::exchange(other.data_, nullptr);
    words_ = std::exchange(other.words_, 0);
    mapped_ = std::exchange(other.mapped_, false);
  }
  return *this;
}

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
  // SHA-256 of access_key_id, a NUL byte, then the nonce.
  unsigned char md[kMaxDigestBytes];
  RawDigest(auth::Digest::kSha256, {access_key_id, std::string_view("\0", 1), nonce}, md);
  Digest digest;
  std::memcpy(&digest.hi, md, 8);
  std::memcpy(&digest.lo, md + 8, 8);
  // Key ids cannot contain ':' (they are alphanumeric), so the two namespaces never meet.
  if (options_.scope == ReplayOptions::Scope::kAccount) {
    return RememberIn("account:" + std::to_string(account_id), digest, expires_at, now);
  }
  return RememberIn(access_key_id, digest, expires_at, now);
}

namespace {

// A digest's probe positions in a filter of `m` bits: (hi + i × step) mod 2^64, then mod m, for
// i = 0, 1, …, as they always were, each from the one before by additions: one division per
// filter instead of one per probe. When the 64-bit sum wraps, it loses 2^64, which is
// 2^64 mod m below m.
class Probes {
 public:
  Probes(uint64_t hi, uint64_t lo, uint64_t m)
      : m_(m),
        sum_(hi),
        step_(lo | 1),  // odd
        at_(hi % m),
        step_mod_(step_ % m),
        wrap_mod_((UINT64_MAX % m + 1) % m) {}
  uint64_t Next() {
    const uint64_t at = at_;
    const uint64_t sum = sum_ + step_;
    at_ = Add(at_, step_mod_);
    if (sum < sum_) at_ = Add(at_, m_ - wrap_mod_);  // wrapped: minus 2^64 mod m
    sum_ = sum;
    return at;
  }

 private:
  // a + b mod m, for a, b < m.
  uint64_t Add(uint64_t a, uint64_t b) const {
    const uint64_t r = a + b;
    return r >= m_ ? r - m_ : r;
  }
  uint64_t m_;
  uint64_t sum_;  // hi + i × step, mod 2^64
  uint64_t step_;
  uint64_t at_;  // sum_ mod m
  uint64_t step_mod_;
  uint64_t wrap_mod_;  // 2^64 mod m
};

}  // namespace

bool MemoryReplayGuard::Seen(const Slice& slice, const Digest& digest, int64_t now) const {
  if (slice.filters.empty()) {
    auto it = slice.exact.find(digest);
    return it != slice.exact.end() && it->second >= now;
  }
  for (const Filter& f : slice.filters) {
    Probes probes(digest.hi, digest.lo, static_cast<uint64_t>(f.bits.size()) * 64);
    bool all = true;
    for (int i = 0; i < kBloomProbes && all; ++i) all = TestBit(f.bits, probes.Next());
    if (all) return true;
  }
  return false;
}

void MemoryReplayGuard::AddToFilter(Slice& slice, const Digest& digest) {
  if (slice.filters.empty() || slice.filters.back().count >= filter_entries_) {
    slice.filters.push_back(Filter{Bits(filter_words_), 0});
  }
  Filter& f = slice.filters.back();
  Probes probes(digest.hi, digest.lo, static_cast<uint64_t>(f.bits.size()) * 64);
  // The positions first, their words asked of memory at once (each is a cache miss in a
  // filter of megabytes), then the bits set.
  std::array<uint64_t, kBloomProbes> at;
  for (uint64_t& i : at) {
    i = probes.Next();
    __builtin_prefetch(&f.bits[i / 64], 1);
  }
  for (uint64_t i : at) SetBit(f.bits, i);
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

Status MemoryReplayGuard::RememberIn(std::string_view share_name, const Digest& digest,
                                     int64_t expires_at, int64_t now) {
  Shard& shard = shards_[NameHash()(share_name) % kShards];
  std::scoped_lock lock(shard.mu);
  // Now and then, forget the shares whose every slice has aged out.
  if (++shard.calls % 1024 == 0) {
    for (auto it = shard.shares.begin(); it != shard.shares.end();) {
      Sweep(it->second, now);
      it = it->second.slices.empty() ? shard.shares.erase(it) : std::next(it);
    }
  }
  auto found = shard.shares.find(share_name);
  if (found == shard.shares.end()) found = shard.shares.emplace(share_name, Share{}).first;
  Share& share = found->second;
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
