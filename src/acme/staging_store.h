#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "acme/acme_store.h"
#include "cas/order_store.h"

namespace certplan::acme {

// The storage behind the staging directory (/acme/staging/): the same EAB keys and ACME
// accounts as production (delegated to the real AcmeStore), but orders and their ACME views kept
// in process memory only. A staging order takes no unit and never appears in the CAS lists or
// the repository; its certificate comes from the staging CA.
//
// Bounded: at most kMaxOrders orders are held (the oldest is dropped first) and one certplan
// account may place kOrdersPerHour orders an hour (CreateOrder answers kThrottling beyond).
// Thread-safe.
class StagingStore final : public cas::OrderStore, public AcmeStore {
 public:
  static constexpr size_t kMaxOrders = 10'000;
  static constexpr size_t kOrdersPerHour = 30;

  explicit StagingStore(AcmeStore& accounts) : accounts_(accounts) {}

  // cas::OrderStore: never takes quota; kThrottling over the per-account rate.
  // The audit record is dropped with the order: staging changes nothing durable.
  Result<cas::Order> CreateOrder(cas::Order order, int64_t now,
                                 const audit::Record& audit) override;
  Result<std::optional<cas::Order>> FindOrder(int64_t account_id, int64_t order_id) override;
  Status ApplyTransition(const cas::Transition& t, cas::OrderStatus expected) override;
  std::vector<Status> ApplyTransitions(const std::vector<cas::PendingTransition>& batch) override;
  Result<std::vector<cas::Order>> DueOrders(int64_t now, int limit) override;
  // Nothing to prune: the staging orders are bounded by kMaxOrders.
  Result<int64_t> PruneReleasedOrders(int64_t, int64_t) override { return int64_t{0}; }
  Result<cas::OrderPage> ListOrders(int64_t account_id, const cas::OrderQuery& query) override;

  // AcmeStore: keys, accounts and secrets go to the real store; order views stay here.
  Result<std::string> AcmeSharedSecret(std::string_view name, std::string_view candidate) override {
    return accounts_.AcmeSharedSecret(name, candidate);
  }
  Status InsertEabKey(const EabKey& key) override { return accounts_.InsertEabKey(key); }
  Result<std::optional<EabKey>> FindEabKey(std::string_view key_id) override {
    return accounts_.FindEabKey(key_id);
  }
  Result<std::vector<EabKeyUsage>> ListEabKeys(int64_t account_id) override {
    return accounts_.ListEabKeys(account_id);
  }
  Result<bool> RevokeEabKey(std::string_view key_id) override {
    return accounts_.RevokeEabKey(key_id);
  }
  Result<AcmeAccount> CreateAcmeAccount(AcmeAccount account, int64_t max_accounts) override {
    return accounts_.CreateAcmeAccount(std::move(account), max_accounts);
  }
  Result<std::optional<AcmeAccount>> FindAcmeAccount(int64_t id) override {
    return accounts_.FindAcmeAccount(id);
  }
  Result<std::optional<AcmeAccount>> FindAcmeAccountByThumbprint(std::string_view tp) override {
    return accounts_.FindAcmeAccountByThumbprint(tp);
  }
  Status UpdateAcmeAccount(const AcmeAccount& account) override {
    return accounts_.UpdateAcmeAccount(account);
  }
  Status InsertAcmeOrder(const AcmeOrder& order) override;
  Result<std::optional<AcmeOrder>> FindAcmeOrder(int64_t order_id) override;
  Status UpdateAcmeOrderAuthz(int64_t order_id, std::string_view authz_json) override;
  Result<std::vector<int64_t>> AcmeOrdersWithNames(int64_t acme_account_id,
                                                   std::string_view identifiers_key,
                                                   int limit) override;
  Result<std::vector<int64_t>> AcmeAccountOrders(int64_t acme_account_id, int limit) override;
  Result<std::optional<int64_t>> AcmeOrderIdBySerial(std::string_view serial) override;

  size_t size();  // orders held (tests)

 private:
  struct Entry {
    cas::Order order;
    std::optional<AcmeOrder> view;
    std::string serial;  // the issued certificate's, as the repository writes it
  };
  void DropOldest();  // requires mu_

  AcmeStore& accounts_;
  std::mutex mu_;
  std::map<int64_t, Entry> orders_;                          // guarded by mu_
  std::deque<int64_t> arrival_;                              // guarded by mu_
  std::unordered_map<int64_t, std::deque<int64_t>> recent_;  // guarded by mu_
  int64_t next_id_ = 9'000'000'000'000'000;                  // guarded by mu_
};

}  // namespace certplan::acme
