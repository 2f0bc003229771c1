#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "cas/domain_checker.h"
#include "cas/orders.h"

namespace certplan::worker {

// The background worker that moves pending orders: validation with retries and backoff (through
// the checker cli/ hands it), then issuance (key generation included, so it never runs on a
// request thread). Orders live in the store, so a restart resumes where it stopped.
// Start()/Stop() own the thread.
class OrderWorker {
 public:
  OrderWorker(cas::Orders& orders, cas::DomainChecker& checker, std::chrono::milliseconds poll)
      : orders_(orders), checker_(checker), poll_(poll) {}
  ~OrderWorker() { Stop(); }

  void Start();
  // Wakes the worker now (a new order arrived).
  void Wake();
  // Finishes the order in hand and joins.
  void Stop();

 private:
  void Run();

  cas::Orders& orders_;
  cas::DomainChecker& checker_;
  std::chrono::milliseconds poll_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  bool woken_ = false;     // guarded by mu_
  std::thread thread_;
};

}  // namespace certplan::worker
