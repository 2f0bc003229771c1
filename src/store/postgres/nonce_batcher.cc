#include "store/postgres/nonce_batcher.h"

namespace certplan::store::postgres {

Status NonceBatcher::Claim(const NonceClaim& claim) {
  Waiting self{&claim, std::nullopt};
  std::unique_lock lock(mu_);
  queue_.push_back(&self);
  for (;;) {
    if (self.outcome) return std::move(*self.outcome);
    if (!leading_) {
      // Lead: everything queued (this claim among it, unless an earlier batch filled up) goes
      // in one statement.
      leading_ = true;
      std::vector<Waiting*> batch;
      std::vector<const NonceClaim*> claims;
      while (!queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(queue_.front());
        claims.push_back(queue_.front()->claim);
        queue_.pop_front();
      }
      lock.unlock();
      std::vector<Status> outcomes = run_(claims);
      lock.lock();
      for (size_t i = 0; i < batch.size(); ++i) {
        batch[i]->outcome = i < outcomes.size()
                                ? std::move(outcomes[i])
                                : Status(InternalError("nonce batch answered short"));
      }
      leading_ = false;
      done_cv_.notify_all();
      continue;
    }
    done_cv_.wait(lock);
  }
}

}  // namespace certplan::store::postgres
