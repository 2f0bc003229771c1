#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
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
    explicit Job(Work w) : work(std::move(w)) {}
    Work work;
    std::optional<Status> result;  // set by the writer before `done`; read by the caller after
    // 0 until `result` is set, then 1 (release): the caller sleeps on it with a futex of its own,
    // woken by the writer alone. No mutex is taken to hand the result over, so a caller woken
    // while the writer still finishes the batch never blocks on a lock the writer holds (on
    // one core: a context switch there and one back per job). Not a std::binary_semaphore or
    // std::atomic::wait, whose waits spin on sched_yield first: on a busy core, a context switch
    // per spin.
    std::atomic<uint32_t> done{0};
  };
  explicit GroupCommitter(std::unique_ptr<Connection> conn) : conn_(std::move(conn)) {}
  void Loop();
  void RunBatch(std::deque<Job*>& batch);

  std::unique_ptr<Connection> conn_;  // used by the writer thread only
  std::mutex mu_;
  std::condition_variable work_cv_;
  std::deque<Job*> queue_;       // guarded by mu_
  bool stopping_ = false;        // guarded by mu_
  bool writer_waiting_ = false;  // the writer sleeps on work_cv_; guarded by mu_
  std::thread writer_;
};

}  // namespace certplan::store::sqlite
