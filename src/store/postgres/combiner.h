#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

namespace certplan::store::postgres {

// Combines the work of concurrent callers into batches run one at a time: the first caller to
// find no batch in flight leads, running everything queued so far (up to kMaxBatch) in one go;
// the others wait for their outcome. When a batch ends, the oldest caller still queued leads the
// next. Each waiter is woken exactly once, for its outcome or to lead, so a batch of N costs N
// wakeups, not one per waiter per batch. An idle store answers at once. Thread-safe.
template <typename Item, typename Outcome, size_t kMaxBatch>
class Combiner {
 public:
  // Runs one batch: an outcome per item, in order.
  using RunBatch = std::function<std::vector<Outcome>(const std::vector<const Item*>&)>;
  // Outcome of an item the batch answered short (a bug in RunBatch, never expected).
  using Short = std::function<Outcome()>;
  Combiner(RunBatch run, Short short_outcome)
      : run_(std::move(run)), short_(std::move(short_outcome)) {}

  Outcome Submit(const Item& item) {
    Waiting self{&item};
    std::unique_lock lock(mu_);
    if (leading_) {
      queue_.push_back(&self);
      self.wake.wait(lock, [&] { return self.outcome.has_value() || self.lead; });
      if (self.outcome) return std::move(*self.outcome);
    } else {
      leading_ = true;
    }
    // Leading: this item and whatever is queued.
    std::vector<Waiting*> batch{&self};
    while (!queue_.empty() && batch.size() < kMaxBatch) {
      batch.push_back(queue_.front());
      queue_.pop_front();
    }
    lock.unlock();
    std::vector<const Item*> items;
    items.reserve(batch.size());
    for (Waiting* w : batch) items.push_back(w->item);
    std::vector<Outcome> outcomes = run_(items);
    lock.lock();
    // Signalled under the lock: a waiter that sees its outcome returns, and its Waiting (on its
    // stack) is gone.
    for (size_t i = 1; i < batch.size(); ++i) {
      batch[i]->outcome.emplace(i < outcomes.size() ? std::move(outcomes[i]) : short_());
      batch[i]->wake.notify_one();
    }
    if (queue_.empty()) {
      leading_ = false;
    } else {
      Waiting* next = queue_.front();  // leads the next batch
      queue_.pop_front();
      next->lead = true;
      next->wake.notify_one();
    }
    lock.unlock();
    return outcomes.empty() ? short_() : std::move(outcomes[0]);
  }

 private:
  struct Waiting {
    explicit Waiting(const Item* i) : item(i) {}
    const Item* item;
    // guarded by mu_:
    bool lead = false;  // handed the lead: runs the next batch
    std::optional<Outcome> outcome;
    // Wakes this waiter only. Not a std::binary_semaphore, whose wait spins on sched_yield
    // first — on a busy core, a context switch per spin.
    std::condition_variable wake;
  };

  RunBatch run_;
  Short short_;
  std::mutex mu_;
  std::deque<Waiting*> queue_;  // guarded by mu_
  bool leading_ = false;        // a batch is being gathered or run; guarded by mu_
};

}  // namespace certplan::store::postgres
