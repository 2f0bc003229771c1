#include "store/sqlite/group_commit.h"

namespace certplan::store::sqlite {

constexpr size_t kMaxBatch = 512;

Result<std::unique_ptr<GroupCommitter>> GroupCommitter::Start(const std::string& path) {
  Result<std::unique_ptr<Connection>> conn = Connection::Open(path);
  if (!conn) return conn.error();
  std::unique_ptr<GroupCommitter> gc(new GroupCommitter(std::move(*conn)));
  gc->writer_ = std::thread([raw = gc.get()] { raw->Loop(); });
  return gc;
}

GroupCommitter::~GroupCommitter() {
  {
    std::scoped_lock lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
}

Status GroupCommitter::Run(Work work) {
  Job job{std::move(work), std::nullopt, {}};
  std::unique_lock lock(mu_);
  if (stopping_) return Error(ErrorCode::kServiceUnavailable, "The store is shutting down.");
  queue_.push_back(&job);
  work_cv_.notify_one();
  job.done.wait(lock, [&] { return job.result.has_value(); });
  return std::move(*job.result);
}

void GroupCommitter::Loop() {
  for (;;) {
    std::deque<Job*> batch;
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      while (!queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(queue_.front());
        queue_.pop_front();
      }
    }
    RunBatch(batch);
  }
}

void GroupCommitter::RunBatch(std::deque<Job*>& batch) {
  std::vector<Status> results;
  results.reserve(batch.size());
  Status begun = conn_->Step("BEGIN IMMEDIATE");
  if (begun) {
    for (Job* job : batch) {
      Status s = conn_->Step("SAVEPOINT job");
      if (s) s = job->work(*conn_);
      // A failed job leaves no trace; the others in the batch are unaffected.
      if (!s) (void)conn_->Step("ROLLBACK TO job");
      (void)conn_->Step("RELEASE job");
      results.push_back(std::move(s));
    }
    Status committed = conn_->Step("COMMIT");
    if (!committed) {
      (void)conn_->Exec("ROLLBACK");
      for (Status& r : results) {
        if (r) r = committed;  // nothing of the batch is durable
      }
    }
  } else {
    results.assign(batch.size(), begun);
  }
  std::scoped_lock lock(mu_);
  // Notified under the lock: a woken caller returns and destroys its Job (and its condition
  // variable), which it cannot do before the lock is released.
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i]->result = std::move(results[i]);
    batch[i]->done.notify_one();
  }
}

}  // namespace certplan::store::sqlite
