#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "store/sqlite/sqlite_handles.h"

namespace certplan::store::sqlite {

// Group commit: one writer thread runs every queued write in one transaction — each inside its
// own SAVEPOINT, so a write that fails (no quota left, say) is undone alone — and commits them
// with a single fsync. Run() returns only after that commit is durable (synchronous=FULL), so
// no caller is told "done" before its write is on disk. Thread-safe.
class GroupCommitter {
 public:
  using Work = std::function<Status(Connection&)>;

  static Result<std::unique_ptr<GroupCommitter>> Start(const std::string& path);
  ~GroupCommitter();

  // Runs `work` on the writer connection inside the next batch; its own result, or the batch's
  // commit failure.
  Status Run(Work work);

 private:
  struct Job {
    Work work;
    std::optional<Status> result;  // set by the writer, guarded by mu_
    // Its caller waits here alone: a batch's commit wakes the batch's callers, not every caller
    // waiting on later batches.
    std::condition_variable done;
  };
  explicit GroupCommitter(std::unique_ptr<Connection> conn) : conn_(std::move(conn)) {}
  void Loop();
  void RunBatch(std::deque<Job*>& batch);

  std::unique_ptr<Connection> conn_;  // used by the writer thread only
  std::mutex mu_;
  std::condition_variable work_cv_;
  std::deque<Job*> queue_;  // guarded by mu_
  bool stopping_ = false;   // guarded by mu_
  std::thread writer_;
};

}  // namespace certplan::store::sqlite
