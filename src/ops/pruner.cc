#include "ops/pruner.h"

#include <exception>

#include "core/log.h"

namespace certplan::ops {

void Pruner::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Pruner::Stop() {
  {
    std::scoped_lock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void Pruner::Run() {
  for (;;) {
    try {
      Result<int64_t> pruned = prune_();
      if (!pruned) {
        log::Line(log::Level::kWarn, what_ + ": pruning failed")
            .Str("message", pruned.error().message)
            .Str("detail", pruned.error().detail)
            .Write();
      } else if (*pruned > 0) {
        log::Line(log::Level::kInfo, what_ + " pruned").Int("count", *pruned).Write();
      }
    } catch (const std::exception& e) {
      log::Line(log::Level::kError, what_ + ": pruning exception").Str("error", e.what()).Write();
    }
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, period_, [this] { return stopping_; })) return;
  }
}

}  // namespace certplan::ops
