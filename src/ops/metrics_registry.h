#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace certplan::ops {

// One label of a series, e.g. {"action", "DescribePackageState"}.
struct Label {
  std::string name;
  std::string value;
};
using Labels = std::vector<Label>;

namespace detail {
// Slots of counters, one row per shard. A thread always adds to the row of its shard (picked
// once per thread, round robin), so threads on different cores rarely share a cache line; a
// reader sums the rows. Rows are cache-line aligned.
struct SlotBlock {
  static constexpr size_t kShards = 16;
  static constexpr size_t kSlots = 512;  // per block; the registry adds blocks as needed
  struct alignas(64) Row {
    std::atomic<uint64_t> v[kSlots];
  };
  Row rows[kShards];

  static size_t ThreadShard();
  void Add(size_t slot, uint64_t n) {
    rows[ThreadShard()].v[slot].fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t Sum(size_t slot) const;
};
}  // namespace detail

// A monotonic count. A cheap copyable handle into its registry (which must outlive it). Add()
// is wait-free: one relaxed atomic add on the calling thread's shard, no lock, no allocation.
// A default-constructed Counter ignores Add().
class Counter {
 public:
  Counter() = default;
  void Add(uint64_t n = 1) const {
    if (block_) block_->Add(slot_, n);
  }
  uint64_t Value() const { return block_ ? block_->Sum(slot_) : 0; }

 private:
  friend class Registry;
  Counter(detail::SlotBlock* block, size_t slot) : block_(block), slot_(slot) {}
  detail::SlotBlock* block_ = nullptr;
  size_t slot_ = 0;
};

// Observations counted into fixed buckets (upper bounds, inclusive, ascending) plus their sum.
// Values are integers in the family's unit (e.g. nanoseconds), rendered divided (e.g. seconds).
// Observe() is wait-free like Counter::Add: a scan of the bounds and two relaxed atomic adds.
class Histogram {
 public:
  Histogram() = default;
  void Observe(int64_t value) const;
  // Observations so far (the +Inf bucket) and their sum, in the family's unit.
  uint64_t Count() const;
  uint64_t Sum() const;
  // Observations in bucket `i` alone (not cumulative); i == bounds().size() is the overflow.
  uint64_t BucketCount(size_t i) const;
  std::span<const int64_t> bounds() const { return bounds_; }

 private:
  friend class Registry;
  detail::SlotBlock* block_ = nullptr;
  size_t first_slot_ = 0;  // bucket i at first_slot_ + i, the overflow after them, then the sum
  std::span<const int64_t> bounds_;
};

// Writes families whose values are read at scrape time (gauges of store rows, process
// figures). Family() starts a family; Sample() adds a series to the family last started.
class Exposition {
 public:
  explicit Exposition(std::string& out) : out_(out) {}
  // `type`: "gauge" or "counter".
  void Family(std::string_view name, std::string_view help, std::string_view type);
  void Sample(const Labels& labels, double value);
  void Sample(double value) { Sample(Labels{}, value); }

 private:
  std::string& out_;
  std::string name_;
};

// The process's metrics in Prometheus text exposition format 0.0.4. Families are declared at
// start (Add*), series keep their labels for life, so the label set is bounded by what the
// caller declares. Declaring and rendering take a mutex; updating a Counter or Histogram never
// does. Names must match [a-zA-Z_:][a-zA-Z0-9_:]* (labels: no colon, no "__" prefix); a bad
// name is a programming error and aborts.
class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // How a series with value 0 is rendered: kAlways, or kOnceNonZero (a series of a large
  // declared matrix, e.g. every Action × every error Code, appears once it has counted).
  enum class Zero { kAlways, kOnceNonZero };

  // A counter series of family `name` (declared on first use; help and kind must agree).
  Counter AddCounter(std::string_view name, std::string_view help, const Labels& labels,
                     Zero zero = Zero::kAlways);
  // A histogram series; `bounds` ascending, in units of which `per_unit` make one rendered
  // unit (1e9 renders nanoseconds as seconds; dividing keeps 100000 / 1e9 exactly "0.0001").
  // Series of one family share bounds and per_unit.
  Histogram AddHistogram(std::string_view name, std::string_view help, const Labels& labels,
                         std::vector<int64_t> bounds, double per_unit);
  // Families written at scrape time, after the declared ones, in the order added.
  void AddCollector(std::function<void(Exposition&)> collect);

  // The whole exposition.
  std::string Render() const;

 private:
  struct Series;
  struct Family;
  Family& FamilyFor(std::string_view name, std::string_view help, int kind);
  size_t Allocate(size_t n, detail::SlotBlock*& block);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<detail::SlotBlock>> blocks_;    // guarded by mu_
  size_t next_slot_ = 0;                                      // in blocks_.back(); guarded by mu_
  std::vector<std::unique_ptr<Family>> families_;             // guarded by mu_
  std::vector<std::function<void(Exposition&)>> collectors_;  // guarded by mu_
};

// Text format escaping (exposed for tests): label values escape \ " and newline; HELP text
// escapes \ and newline.
std::string EscapeLabelValue(std::string_view value);
std::string EscapeHelp(std::string_view help);
// A sample value: integers exactly, others in the shortest form that reads back the same
// (fixed notation from 1e-6 up); "+Inf", "-Inf", "NaN".
std::string FormatValue(double value);
bool ValidMetricName(std::string_view name);
bool ValidLabelName(std::string_view name);

}  // namespace certplan::ops
