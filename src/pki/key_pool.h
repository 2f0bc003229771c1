#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <thread>

#include "pki/authority.h"

namespace certplan::pki {

// An Authority whose GenerateKey is served from a bounded pool of keys made ahead of time by
// one background thread at idle priority (SCHED_IDLE), refilled as keys are taken (an RSA-2048 key
// costs tens to hundreds of milliseconds). When the pool is empty the caller makes its key itself,
// so a burst is never worse than no pool. Everything else goes to the wrapped authority. Pooled
// keys live only in this process's memory. Thread-safe.
class KeyPool final : public Authority {
 public:
  // Starts filling at once; `capacity` ≥ 1.
  KeyPool(const Authority& inner, size_t capacity);
  ~KeyPool() override;  // stops the filler (after the key it is making)

  Result<CsrFacts> InspectCsr(const std::string& csr_pem) const override {
    return inner_.InspectCsr(csr_pem);
  }
  Result<CsrFacts> InspectCsrNamesInSan(const std::string& csr_pem) const override {
    return inner_.InspectCsrNamesInSan(csr_pem);
  }
  Result<GeneratedKey> GenerateKey() const override;
  Result<IssuedCertificate> Issue(const IssueRequest& request) const override {
    return inner_.Issue(request);
  }
  const std::string& root_pem() const override { return inner_.root_pem(); }

  // Keys ready now.
  size_t ready() const;
  // Blocks until the pool is full (tests, warm start).
  void WaitUntilFull() const;

 private:
  void Fill();

  const Authority& inner_;
  const size_t capacity_;
  mutable std::mutex mu_;
  mutable std::condition_variable taken_cv_;  // a key was taken, or stopping
  mutable std::condition_variable added_cv_;  // a key was added
  mutable std::deque<GeneratedKey> keys_;     // guarded by mu_
  bool stopping_ = false;                     // guarded by mu_
  std::thread filler_;
};

}  // namespace certplan::pki
