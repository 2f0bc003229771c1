#include "store/sqlite/group_commit.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <utility>

namespace certplan::store::sqlite {

constexpr size_t kMaxBatch = 512;

namespace {

// Sleeps while *word is 0 (returns at once if it is not; spurious returns are the caller's to
// re-check).
void FutexWait(std::atomic<uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, 0, nullptr, nullptr, 0);
}

// Wakes one sleeper on `word`. The word may be gone by then (its caller saw it set and
// returned): a wake on an address nobody sleeps on does nothing, and one that reaches a later
// sleeper on the same stack address is a spurious return it re-checks.
void FutexWake(std::atomic<uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

}  // namespace

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
  work_cv_.notify_all();  // whether or not it said it was waiting
  if (writer_.joinable()) writer_.join();
}

Status GroupCommitter::Run(Work work) {
  Job job(std::move(work));
  {
    std::scoped_lock lock(mu_);
    if (stopping_) return Error(ErrorCode::kServiceUnavailable, "The store is shutting down.");
    queue_.push_back(&job);
    // A busy writer finds the job when its batch ends: no wakeup for it (one futex call and a
    // context switch fewer per write under load).
    if (std::exchange(writer_waiting_, false)) work_cv_.notify_one();
  }
  while (job.done.load(std::memory_order_acquire) == 0) FutexWait(&job.done);
  return std::move(*job.result);
}

void GroupCommitter::Loop() {
  for (;;) {
    std::deque<Job*> batch;
    {
      std::unique_lock lock(mu_);
      while (!stopping_ && queue_.empty()) {
        writer_waiting_ = true;
        work_cv_.wait(lock);
      }
      writer_waiting_ = false;
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
  // Each caller is woken by its own job's futex, not every waiter by every batch, and without a
  // lock: once `done` is set the caller may return and its job (on its stack) is gone, so the
  // job is not touched after that store but for the wake on its address (see FutexWake).
  for (size_t i = 0; i < batch.size(); ++i) {
    Job* job = batch[i];
    job->result = std::move(results[i]);
    job->done.store(1, std::memory_order_release);
    FutexWake(&job->done);
  }
}

}  // namespace certplan::store::sqlite
