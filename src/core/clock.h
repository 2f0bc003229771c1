#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace certplan {

// Wall-clock time in whole seconds since the Unix epoch. Passed in by reference so tests (and
// the end-to-end suite, through `serve --clock-offset`) can move time.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowSeconds() const = 0;
};

class SystemClock final : public Clock {
 public:
  explicit SystemClock(int64_t offset_seconds = 0) : offset_(offset_seconds) {}
  int64_t NowSeconds() const override {
    using namespace std::chrono;
    return duration_cast<seconds>(system_clock::now().time_since_epoch()).count() + offset_;
  }

 private:
  int64_t offset_;
};

// A clock that only moves when told to; thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now) : now_(now) {}
  int64_t NowSeconds() const override { return now_.load(); }
  void Set(int64_t now) { now_.store(now); }
  void Advance(int64_t seconds) { now_.fetch_add(seconds); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace certplan
