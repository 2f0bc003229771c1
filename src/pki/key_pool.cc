#include "pki/key_pool.h"

#include <pthread.h>
#include <sched.h>

#include "core/log.h"

namespace certplan::pki {

KeyPool::KeyPool(const Authority& inner, size_t capacity)
    : inner_(inner), capacity_(capacity == 0 ? 1 : capacity) {
  filler_ = std::thread([this] { Fill(); });
}

KeyPool::~KeyPool() {
  {
    std::scoped_lock lock(mu_);
    stopping_ = true;
  }
  taken_cv_.notify_all();
  // A busy core may starve an idle-priority thread for as long as the load lasts: let the key
  // in hand finish at normal priority, so shutting down never waits for the load to drop.
  sched_param normal{};
  (void)pthread_setschedparam(filler_.native_handle(), SCHED_OTHER, &normal);
  filler_.join();
}

Result<GeneratedKey> KeyPool::GenerateKey() const {
  {
    std::scoped_lock lock(mu_);
    if (!keys_.empty()) {
      GeneratedKey key = std::move(keys_.front());
      keys_.pop_front();
      taken_cv_.notify_one();
      return key;
    }
  }
  return inner_.GenerateKey();  // empty: make it here rather than wait for the filler
}

size_t KeyPool::ready() const {
  std::scoped_lock lock(mu_);
  return keys_.size();
}

void KeyPool::WaitUntilFull() const {
  std::unique_lock lock(mu_);
  added_cv_.wait(lock, [this] { return keys_.size() >= capacity_ || stopping_; });
}

void KeyPool::Fill() {
  // Spare CPU only: the scheduler runs this thread when nothing else wants the core, so
  // refilling never slows requests or issuance (an empty pool falls back to the caller).
  sched_param idle{};
  if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &idle) != 0) {
    log::Line(log::Level::kWarn, "key pool: cannot lower the filler's priority").Write();
  }
  for (;;) {
    {
      std::unique_lock lock(mu_);
      taken_cv_.wait(lock, [this] { return stopping_ || keys_.size() < capacity_; });
      if (stopping_) return;
    }
    Result<GeneratedKey> key = inner_.GenerateKey();  // outside the lock: the slow part
    std::scoped_lock lock(mu_);
    if (!key) {
      log::Line(log::Level::kError, "key pool").Str("message", key.error().detail).Write();
      stopping_ = true;  // OpenSSL cannot make keys: callers make their own (and see why)
      added_cv_.notify_all();
      return;
    }
    keys_.push_back(std::move(*key));
    added_cv_.notify_all();
  }
}

}  // namespace certplan::pki
