#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "core/result.h"

namespace certplan::ops {

// Housekeeping on a thread of its own: runs `prune` (which returns how many rows it deleted)
// at Start() and then every `period` until Stop(); what it deleted is logged at info as
// "<what> pruned" with the count, a failure at warn as "<what>: pruning failed" with its
// message, and retried the next period. serve owns one per retention: the audit trail
// ([audit] retention_days) and released orders ([limits] released_order_retention_days).
class Pruner {
 public:
  Pruner(std::string what, std::function<Result<int64_t>()> prune, std::chrono::seconds period)
      : what_(std::move(what)), prune_(std::move(prune)), period_(period) {}
  ~Pruner() { Stop(); }
  Pruner(const Pruner&) = delete;
  Pruner& operator=(const Pruner&) = delete;

  void Start();
  void Stop();  // waits for a pass under way; idempotent

 private:
  void Run();

  std::string what_;
  std::function<Result<int64_t>()> prune_;
  std::chrono::seconds period_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace certplan::ops
