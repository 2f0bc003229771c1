#include "worker/order_worker.h"

#include <exception>

#include "core/log.h"

namespace certplan::worker {

constexpr int kBatch = 32;

void OrderWorker::Start() {
  thread_ = std::thread([this] { Run(); });
}

void OrderWorker::Wake() {
  {
    std::scoped_lock lock(mu_);
    woken_ = true;
  }
  cv_.notify_one();
}

void OrderWorker::Stop() {
  {
    std::scoped_lock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void OrderWorker::Run() {
  for (;;) {
    int handled = 0;
    try {
      Result<int> advanced = orders_.AdvanceDue(checker_, kBatch);
      if (advanced) {
        handled = *advanced;
      } else {
        log::Line(log::Level::kError, "validator")
            .Str("code", std::to_string(static_cast<int>(advanced.error().code)))
            .Str("message", advanced.error().message)
            .Str("detail", advanced.error().detail)
            .Write();
      }
    } catch (const std::exception& e) {
      log::Line(log::Level::kError, "validator exception").Str("error", e.what()).Write();
    }
    std::unique_lock lock(mu_);
    if (stopping_) return;
    // A full batch means more may be due: go again at once.
    if (handled < kBatch) {
      cv_.wait_for(lock, poll_, [this] { return stopping_ || woken_; });
    }
    woken_ = false;
    if (stopping_) return;
  }
}

}  // namespace certplan::worker
