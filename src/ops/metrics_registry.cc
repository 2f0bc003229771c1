#include "ops/metrics_registry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace certplan::ops {
namespace detail {

size_t SlotBlock::ThreadShard() {
  static std::atomic<size_t> next{0};
  thread_local const size_t shard = next.fetch_add(1, std::memory_order_relaxed) % kShards;
  return shard;
}

uint64_t SlotBlock::Sum(size_t slot) const {
  uint64_t total = 0;
  for (const Row& row : rows) total += row.v[slot].load(std::memory_order_relaxed);
  return total;
}

}  // namespace detail

namespace {

enum Kind { kCounter = 0, kHistogram = 1 };

[[noreturn]] void Misuse(std::string_view what, std::string_view name) {
  std::fprintf(stderr, "metrics registry: %.*s: %.*s\n", static_cast<int>(what.size()), what.data(),
               static_cast<int>(name.size()), name.data());
  std::abort();
}

bool NameChar(char c, bool first, bool colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (colon && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

// `{a="x",b="y"}` with `extra` (already rendered, e.g. le="0.5") last; "" when both are empty.
std::string RenderLabels(const Labels& labels, std::string_view extra = {}) {
  if (labels.empty() && extra.empty()) return {};
  std::string out = "{";
  for (const Label& l : labels) {
    if (out.size() > 1) out += ',';
    out += l.name;
    out += "=\"";
    out += EscapeLabelValue(l.value);
    out += '"';
  }
  if (!extra.empty()) {
    if (out.size() > 1) out += ',';
    out += extra;
  }
  out += '}';
  return out;
}

void CheckLabels(const Labels& labels) {
  for (const Label& l : labels) {
    if (!ValidLabelName(l.name) || l.name == "le") Misuse("bad label name", l.name);
  }
}

}  // namespace

struct Registry::Series {
  std::string labels;  // rendered "{…}" or ""
  Labels raw;          // for histograms, which add le
  detail::SlotBlock* block = nullptr;
  size_t slot = 0;
  Zero zero = Zero::kAlways;
};

struct Registry::Family {
  std::string name;
  std::string help;
  int kind = kCounter;
  std::vector<int64_t> bounds;  // histograms
  double per_unit = 1;
  std::vector<Series> series;
};

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  if (value == std::trunc(value) && std::fabs(value) < 1e15) {
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(value));
    return std::string(buf, end);
  }
  // Fixed notation where it stays short ("0.00005", as Prometheus's own clients write bucket
  // bounds), the shortest form otherwise; both read back as the same double.
  const double magnitude = std::fabs(value);
  auto [end, ec] = magnitude >= 1e-6 && magnitude < 1e15
                       ? std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed)
                       : std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, end);
}

bool ValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!NameChar(name[i], i == 0, true)) return false;
  }
  return true;
}

bool ValidLabelName(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!NameChar(name[i], i == 0, false)) return false;
  }
  return true;
}

void Histogram::Observe(int64_t value) const {
  if (!block_) return;
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  block_->Add(first_slot_ + i, 1);
  block_->Add(first_slot_ + bounds_.size() + 1, value > 0 ? static_cast<uint64_t>(value) : 0);
}

uint64_t Histogram::Count() const {
  uint64_t n = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) n += BucketCount(i);
  return n;
}

uint64_t Histogram::Sum() const {
  return block_ ? block_->Sum(first_slot_ + bounds_.size() + 1) : 0;
}

uint64_t Histogram::BucketCount(size_t i) const {
  return block_ ? block_->Sum(first_slot_ + i) : 0;
}

void Exposition::Family(std::string_view name, std::string_view help, std::string_view type) {
  if (!ValidMetricName(name)) Misuse("bad metric name", name);
  name_ = std::string(name);
  out_ += "# HELP " + name_ + ' ' + EscapeHelp(help) + '\n';
  out_ += "# TYPE " + name_ + ' ' + std::string(type) + '\n';
}

void Exposition::Sample(const Labels& labels, double value) {
  CheckLabels(labels);
  out_ += name_ + RenderLabels(labels) + ' ' + FormatValue(value) + '\n';
}

Registry::Registry() = default;
Registry::~Registry() = default;

Registry::Family& Registry::FamilyFor(std::string_view name, std::string_view help, int kind) {
  if (!ValidMetricName(name)) Misuse("bad metric name", name);
  for (auto& f : families_) {
    if (f->name != name) continue;
    if (f->kind != kind || f->help != help) Misuse("family declared twice differently", name);
    return *f;
  }
  auto f = std::make_unique<Family>();
  f->name = std::string(name);
  f->help = std::string(help);
  f->kind = kind;
  families_.push_back(std::move(f));
  return *families_.back();
}

size_t Registry::Allocate(size_t n, detail::SlotBlock*& block) {
  if (n > detail::SlotBlock::kSlots) Misuse("series too wide", "");
  if (blocks_.empty() || next_slot_ + n > detail::SlotBlock::kSlots) {
    blocks_.push_back(std::make_unique<detail::SlotBlock>());
    next_slot_ = 0;
  }
  block = blocks_.back().get();
  const size_t first = next_slot_;
  next_slot_ += n;
  return first;
}

Counter Registry::AddCounter(std::string_view name, std::string_view help, const Labels& labels,
                             Zero zero) {
  CheckLabels(labels);
  std::scoped_lock lock(mu_);
  Family& family = FamilyFor(name, help, kCounter);
  Series s;
  s.labels = RenderLabels(labels);
  s.zero = zero;
  s.slot = Allocate(1, s.block);
  family.series.push_back(s);
  return Counter(s.block, s.slot);
}

Histogram Registry::AddHistogram(std::string_view name, std::string_view help, const Labels& labels,
                                 std::vector<int64_t> bounds, double per_unit) {
  CheckLabels(labels);
  if (bounds.empty() || !std::is_sorted(bounds.begin(), bounds.end()) ||
      std::adjacent_find(bounds.begin(), bounds.end()) != bounds.end()) {
    Misuse("histogram bounds must ascend strictly", name);
  }
  std::scoped_lock lock(mu_);
  Family& family = FamilyFor(name, help, kHistogram);
  if (family.series.empty()) {
    family.bounds = std::move(bounds);
    family.per_unit = per_unit;
  } else if (family.bounds != bounds || family.per_unit != per_unit) {
    Misuse("histogram series with other buckets", name);
  }
  Series s;
  s.raw = labels;
  s.labels = RenderLabels(labels);
  s.slot = Allocate(family.bounds.size() + 2, s.block);  // buckets, overflow, sum
  family.series.push_back(s);
  Histogram h;
  h.block_ = s.block;
  h.first_slot_ = s.slot;
  h.bounds_ = family.bounds;  // the family's vector never changes once it has a series
  return h;
}

void Registry::AddCollector(std::function<void(Exposition&)> collect) {
  std::scoped_lock lock(mu_);
  collectors_.push_back(std::move(collect));
}

std::string Registry::Render() const {
  std::string out;
  std::scoped_lock lock(mu_);
  for (const auto& f : families_) {
    out += "# HELP " + f->name + ' ' + EscapeHelp(f->help) + '\n';
    out += "# TYPE " + f->name + (f->kind == kCounter ? " counter\n" : " histogram\n");
    for (const Series& s : f->series) {
      if (f->kind == kCounter) {
        const uint64_t v = s.block->Sum(s.slot);
        if (v == 0 && s.zero == Zero::kOnceNonZero) continue;
        out += f->name + s.labels + ' ' + std::to_string(v) + '\n';
        continue;
      }
      // Cumulative buckets; the count is the +Inf bucket, so the two always agree.
      uint64_t cumulative = 0;
      for (size_t i = 0; i <= f->bounds.size(); ++i) {
        cumulative += s.block->Sum(s.slot + i);
        const std::string le = i < f->bounds.size()
                                   ? FormatValue(static_cast<double>(f->bounds[i]) / f->per_unit)
                                   : std::string("+Inf");
        out += f->name + "_bucket" + RenderLabels(s.raw, "le=\"" + le + "\"") + ' ' +
               std::to_string(cumulative) + '\n';
      }
      const double sum =
          static_cast<double>(s.block->Sum(s.slot + f->bounds.size() + 1)) / f->per_unit;
      out += f->name + "_sum" + s.labels + ' ' + FormatValue(sum) + '\n';
      out += f->name + "_count" + s.labels + ' ' + std::to_string(cumulative) + '\n';
    }
  }
  Exposition exposition(out);
  for (const auto& collect : collectors_) collect(exposition);
  return out;
}

}  // namespace certplan::ops
