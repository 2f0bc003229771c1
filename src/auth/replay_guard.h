#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"

namespace certplan::auth {

// Remembers (AccessKeyId, nonce) pairs until the signed time + the timestamp window has
// passed, so a captured request cannot be replayed while its timestamp is still accepted
// (spec §2.3). Implementations are thread-safe.
class ReplayGuard {
 public:
  virtual ~ReplayGuard() = default;
  // Records the pair. kSignatureNonceUsed when it was seen and has not yet expired;
  // kThrottling when the caller's share is full (memory stays bounded under any load, and a
  // share belongs to one key or one account: nobody else's requests can fill it).
  virtual Status Remember(std::string_view access_key_id, std::string_view nonce,
                          int64_t expires_at, int64_t now) = 0;
  // The same, knowing the account that owns the key (for guards that share by account).
  virtual Status RememberFor(std::string_view access_key_id, int64_t account_id,
                             std::string_view nonce, int64_t expires_at, int64_t now) {
    (void)account_id;
    return Remember(access_key_id, nonce, expires_at, now);
  }
  // Whether a request's nonce may be left to its durable write (auth/pending_nonce.h): only a
  // guard whose store claims the nonce in the write's own statement says yes.
  virtual bool ClaimsPendingNonces() const { return false; }
};

struct ReplayOptions {
  enum class Scope { kAccessKey, kAccount };
  // Whose requests fill one share: each AccessKey's own, or all the keys of one account.
  Scope scope = Scope::kAccessKey;
  // The timestamp window (AuthOptions): a nonce lives at most 2 × window seconds (signed up
  // to window in the future, kept until window after its signed time).
  int64_t window_seconds = 900;
  // Nonces one share holds at once: 40,000 requests a second for 1,800 s by default. Over it,
  // kThrottling for this share only, until its oldest slices age out.
  int64_t share_nonces = 72'000'000;
  // A slice keeps exact digests up to this many entries, then turns into Bloom filters (so
  // quiet keys cost a few KiB and never see a false positive).
  size_t exact_slice_entries = 4096;
};

// In-process guard for a single node (the SQLite default). Each share (an AccessKey, or an
// account) is a ring of kSlices + 1 time slices keyed by expiry time. A slice holds exact
// 128-bit digests while small, then a chain of Bloom filters of share_nonces / kSlices entries
// each (36 bits an entry, 25 probes: a full filter answers a fresh nonce "seen" with
// probability ≈ 3.1e-8; a full share holds the equivalent of kSlices full filters, so a fresh
// request is wrongly refused as kSignatureNonceUsed with probability ≤ 1e-6). A slice is
// dropped once its last expiry has passed; a share with no live slice is forgotten.
class MemoryReplayGuard final : public ReplayGuard {
 public:
  explicit MemoryReplayGuard(ReplayOptions options);
  // Per-AccessKey shares of `share_nonces` over the default 900 s window.
  explicit MemoryReplayGuard(size_t share_nonces);
  Status Remember(std::string_view access_key_id, std::string_view nonce, int64_t expires_at,
                  int64_t now) override;
  Status RememberFor(std::string_view access_key_id, int64_t account_id, std::string_view nonce,
                     int64_t expires_at, int64_t now) override;

  // Slices per 2 × window.
  static constexpr int64_t kSlices = 30;
  static constexpr int kBloomBitsPerEntry = 36;
  static constexpr int kBloomProbes = 25;

  // For tests and operators: bytes of digests and filters held (container overhead aside).
  size_t ApproximateBytes();
  size_t ShareCount();
  // For the metrics: shares, entries in all of them, the fullest share's entries and its
  // capacity (share_nonces), and ApproximateBytes(); one pass under each shard's lock.
  struct Fill {
    size_t shares = 0;
    int64_t entries = 0;
    int64_t fullest = 0;
    int64_t capacity = 0;
    size_t bytes = 0;
  };
  Fill Measure();

 private:
  struct Digest {
    uint64_t hi, lo;
    bool operator==(const Digest&) const = default;
  };
  struct DigestHash {
    size_t operator()(const Digest& d) const { return d.lo; }
  };
  // A filter's words, zero until set. Large ones are mapped from the kernel (zero pages, no
  // write to clear them) and marked for transparent huge pages where the system allows it:
  // the 25 probes of a nonce fall on 25 random pages of a filter of megabytes, and with 4 KiB
  // pages each one was a TLB miss as well as a cache miss. The memory is the same either way.
  class Bits {
   public:
    explicit Bits(size_t words);
    ~Bits();
    Bits(Bits&& other) noexcept;
    Bits& operator=(Bits&& other) noexcept;
    Bits(const Bits&) = delete;
    Bits& operator=(const Bits&) = delete;
    size_t size() const { return words_; }
    uint64_t& operator[](size_t i) { return data_[i]; }
    uint64_t operator[](size_t i) const { return data_[i]; }

   private:
    uint64_t* data_ = nullptr;
    size_t words_ = 0;
    bool mapped_ = false;  // from mmap (else from the heap)
  };
  struct Filter {
    Bits bits;
    int64_t count = 0;
  };
  struct Slice {
    int64_t count = 0;
    std::unordered_map<Digest, int64_t, DigestHash> exact;  // digest → expires_at
    std::vector<Filter> filters;  // once past the exact tier; the last one takes new entries
  };
  struct Share {
    std::map<int64_t, Slice> slices;  // by expires_at / slice_seconds_
    int64_t count = 0;                // entries in all slices
  };
  // Finds a share by a string_view of its name without building a std::string.
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view name) const { return std::hash<std::string_view>()(name); }
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Share, NameHash, std::equal_to<>> shares;  // guarded by mu
    uint64_t calls = 0;                                                        // guarded by mu
  };
  static constexpr size_t kShards = 16;

  Status RememberIn(std::string_view share_name, const Digest& digest, int64_t expires_at,
                    int64_t now);
  bool Seen(const Slice& slice, const Digest& digest, int64_t now) const;
  // False when an expired entry of the same digest was taken over (the count is unchanged).
  bool Insert(Slice& slice, const Digest& digest, int64_t expires_at);
  void AddToFilter(Slice& slice, const Digest& digest);
  void Sweep(Share& share, int64_t now) const;

  ReplayOptions options_;
  int64_t slice_seconds_;
  int64_t filter_entries_;  // capacity of one Bloom filter
  size_t filter_words_;
  std::array<Shard, kShards> shards_;
};

}  // namespace certplan::auth
