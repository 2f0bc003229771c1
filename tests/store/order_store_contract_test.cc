// The contract of cas::OrderStore: quota taken with the order, transitions as compare-and-sets that
// move the counters, batches, due orders. Runs over SQLite and PostgreSQL
// (tests/store/store_backends.h).
#include <algorithm>
#include <functional>
#include <limits>

#include "cas/orders.h"
#include "store/query_plans.h"
#include "store/store_backends.h"
#include "testing/audit_for_test.h"

namespace certplan::store {
namespace {

using OrderStoreContract = StoreBackendTest;

TEST_P(OrderStoreContract, CreateOrderTakesQuotaAtomicallyAndRoundTrips) {
  Result<cas::Order> none =
      orders_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100, testing::TestRecord());
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kNotFoundPackage);
  ASSERT_TRUE(plans_->GrantPlan(cas::Plan{0, 1001, "geotrust-dv-1-starter", 2, 1, std::nullopt},
                                testing::TestRecord()));
  Result<cas::Order> one =
      orders_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100, testing::TestRecord());
  ASSERT_TRUE(one) << one.error().detail;
  EXPECT_GT(one->id, 0);
  EXPECT_LT(one->id, int64_t{1} << 53);
  ASSERT_TRUE(
      orders_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100, testing::TestRecord()));
  Result<cas::Order> third =
      orders_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100, testing::TestRecord());
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code, ErrorCode::kNotRemainCount);
  EXPECT_EQ(plans_->GetPackageCounters(1001, "geotrust-dv-1-starter", 100)->used, 2);
  EXPECT_TRUE(audit_->AuditCounters()->empty());
  Result<std::optional<cas::Order>> found = orders_->FindOrder(1001, one->id);
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->domains, one->domains);
  EXPECT_EQ((*found)->sealed_private_key, one->sealed_private_key);
  EXPECT_FALSE(*orders_->FindOrder(2002, one->id));  // another account's: not there
  cas::OrderQuery by_name;
  by_name.keyword = "b.example";
  EXPECT_EQ(orders_->ListOrders(1001, by_name)->orders.size(), 2u);
  by_name.keyword = "zzz";
  EXPECT_EQ(orders_->ListOrders(1001, by_name)->orders.size(), 0u);
  EXPECT_TRUE(orders_->ListOrders(2002, cas::OrderQuery{})->orders.empty());
}

// Issue #14: an order validated and issued before it is stored lands in one transaction — the
// unit, the order as issued, its certificate, its repository entry, the issued count — or not at
// all (no unit left, or its id taken).
TEST_P(OrderStoreContract, AnOrderIssuedAtOnceIsStoredInOneStep) {
  ASSERT_TRUE(plans_->GrantPlan(cas::Plan{0, 1001, "geotrust-dv-1-starter", 1, 1, std::nullopt},
                                testing::TestRecord(1001)));
  auto issued_order = [](int64_t id) {
    cas::Order o = NewOrder(1001, "geotrust-dv-1-starter");
    o.id = id;
    Result<cas::Transition> passed = cas::ValidationPassed(o, 100);
    cas::Order next = passed->order;
    next.certificate_pem = "-----BEGIN CERTIFICATE-----\nLEAF\n-----END CERTIFICATE-----\n";
    next.chain_pem = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n";
    next.serial_hex = "0c";
    next.not_after = 100 + 86400;
    Result<cas::Transition> t = cas::Issued(next, 100);
    cas::Certificate entry;
    entry.id = entry.order_id = id;
    entry.account_id = 1001;
    entry.name = "cert-" + std::to_string(id);
    entry.instance_id = "cas-" + std::to_string(id);
    entry.chain_pem = next.certificate_pem + next.chain_pem;
    entry.fingerprint = std::string(40, 'A');
    entry.sha256 = std::string(64, 'B');
    entry.serial = "0c";
    entry.algorithm = "ECC";
    entry.key_bits = 256;
    entry.not_after = next.not_after;
    entry.created_at = 100;
    t->certificate = entry;
    return *t;
  };
  // The call's record and the issuance's, both in the order's transaction.
  auto trail = [&]() {
    ops::AuditQuery q;
    q.account_id = 1001;
    q.since = 100;
    return *audit_log_->ReadAudit(q);
  };
  auto records = [](int64_t order_id, const char* action) {
    return audit::Succeeded(audit::WorkerActor(action), 100, 1001, "OrderId",
                            std::to_string(order_id));
  };
  cas::Transition t = issued_order(cas::NewOrderId());
  t.audit = records(t.order.id, "worker:issue");
  ASSERT_TRUE(orders_->CreateIssuedOrder(t, 100, records(t.order.id, "CreateCertificateRequest")));
  std::vector<audit::Record> written = trail();
  ASSERT_EQ(written.size(), 2u);
  EXPECT_EQ(written[0].actor.action, "CreateCertificateRequest");
  EXPECT_EQ(written[1].actor.action, "worker:issue");
  EXPECT_EQ(written[0].object_id, std::to_string(t.order.id));
  EXPECT_EQ(written[1].object_id, std::to_string(t.order.id));
  Result<std::optional<cas::Order>> found = orders_->FindOrder(1001, t.order.id);
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->status, cas::OrderStatus::kCertificate);
  EXPECT_EQ((*found)->certificate_pem, t.order.certificate_pem);
  EXPECT_EQ((*found)->chain_pem, t.order.chain_pem);
  EXPECT_EQ((*found)->serial_hex, "0c");
  EXPECT_TRUE((*found)->counts_issued);
  Result<std::optional<cas::Certificate>> entry = certificates_->FindCertificate(1001, t.order.id);
  ASSERT_TRUE(entry && *entry);
  EXPECT_EQ((*entry)->chain_pem, t.order.certificate_pem + t.order.chain_pem);
  cas::PackageCounters c = *plans_->GetPackageCounters(1001, "geotrust-dv-1-starter", 100);
  EXPECT_EQ(c.used, 1);
  EXPECT_EQ(c.issued, 1);
  EXPECT_TRUE(audit_->AuditCounters()->empty());
  // No unit left: nothing stored.
  const cas::Transition more = issued_order(cas::NewOrderId());
  Status refused = orders_->CreateIssuedOrder(more, 100, records(more.order.id, "Create"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kNotRemainCount);
  EXPECT_FALSE(*orders_->FindOrder(1001, more.order.id));
  EXPECT_FALSE(*certificates_->FindCertificate(1001, more.order.id));
  // The id taken: nothing stored either (a unit was free again).
  ASSERT_TRUE(plans_->GrantPlan(cas::Plan{0, 1001, "geotrust-dv-1-starter", 1, 1, std::nullopt},
                                testing::TestRecord(1001)));
  Status taken = orders_->CreateIssuedOrder(issued_order(t.order.id), 100,
                                            records(t.order.id, "CreateCertificateRequest"));
  ASSERT_FALSE(taken);
  c = *plans_->GetPackageCounters(1001, "geotrust-dv-1-starter", 100);
  EXPECT_EQ(c.used, 1);
  EXPECT_EQ(c.issued, 1);
  EXPECT_TRUE(audit_->AuditCounters()->empty());
  // Neither refusal left a record.
  EXPECT_EQ(trail().size(), 2u);
}

TEST_P(OrderStoreContract, TransitionsAreCompareAndSetAndMoveCounters) {
  ASSERT_TRUE(plans_->GrantPlan(cas::Plan{0, 1001, "geotrust-dv-1-starter", 2, 1, std::nullopt},
                                testing::TestRecord()));
  Result<cas::Order> order =
      orders_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100, testing::TestRecord());
  ASSERT_TRUE(order);
  Result<cas::Transition> cancel = cas::CancelForPackage(*order, 200);
  ASSERT_TRUE(orders_->ApplyTransition(*cancel, cas::OrderStatus::kDomainVerify));
  Status again = orders_->ApplyTransition(*cancel, cas::OrderStatus::kDomainVerify);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kOrderStateError);
  EXPECT_EQ(plans_->GetPackageCounters(1001, "geotrust-dv-1-starter", 100)->used, 0);
  EXPECT_TRUE(audit_->AuditCounters()->empty());
}

// A batch is one transaction of independent compare-and-sets: the step whose order moved
// meanwhile fails alone, the others land with their counter changes.
TEST_P(OrderStoreContract, BatchedTransitionsApplyEachOrFailAlone) {
  ASSERT_TRUE(plans_->GrantPlan(cas::Plan{0, 1001, "geotrust-dv-1-starter", 5, 1, std::nullopt},
                                testing::TestRecord()));
  std::vector<cas::Order> orders;
  for (int i = 0; i < 3; ++i) {
    Result<cas::Order> o =
        orders_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100, testing::TestRecord());
    ASSERT_TRUE(o);
    orders.push_back(*o);
  }
  // The middle one is cancelled by its owner before the worker's batch lands.
  ASSERT_TRUE(orders_->ApplyTransition(*cas::CancelForPackage(orders[1], 150),
                                       cas::OrderStatus::kDomainVerify));
  std::vector<cas::PendingTransition> batch;
  for (const cas::Order& o : orders) {
    Result<cas::Transition> passed = cas::ValidationPassed(o, 200);
    ASSERT_TRUE(passed);
    Result<cas::Transition> issued = cas::Issued(passed->order, 200);
    ASSERT_TRUE(issued);
    batch.push_back({*issued, cas::OrderStatus::kDomainVerify});
  }
  std::vector<Status> results = orders_->ApplyTransitions(batch);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0]);
  ASSERT_FALSE(results[1]);
  EXPECT_EQ(results[1].error().code, ErrorCode::kOrderStateError);
  EXPECT_TRUE(results[2]);
  cas::PackageCounters c = *plans_->GetPackageCounters(1001, "geotrust-dv-1-starter", 200);
  EXPECT_EQ(c.used, 2);
  EXPECT_EQ(c.issued, 2);
  EXPECT_EQ((*orders_->FindOrder(1001, orders[0].id))->status, cas::OrderStatus::kCertificate);
  EXPECT_EQ((*orders_->FindOrder(1001, orders[1].id))->status, cas::OrderStatus::kCancelled);
  EXPECT_TRUE(audit_->AuditCounters()->empty());
  EXPECT_TRUE(orders_->ApplyTransitions({}).empty());
}

TEST_P(OrderStoreContract, DueOrdersAreThePendingOnesWhoseTimeCame) {
  ASSERT_TRUE(plans_->GrantPlan(cas::Plan{0, 1001, "geotrust-dv-1-starter", 5, 1, std::nullopt},
                                testing::TestRecord()));
  ASSERT_TRUE(
      orders_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100, testing::TestRecord()));
  EXPECT_EQ(orders_->DueOrders(99, 10)->size(), 0u);
  EXPECT_EQ(orders_->DueOrders(100, 10)->size(), 1u);
}

// ListUserCertificateOrder's lists (issue #12 fault 9): filtered and paged in the store, newest
// first (created_at, then id), each page the same whichever end the store walks it from, and the
// totals — kept by triggers — equal to a recount of the rows after every kind of write.
TEST_P(OrderStoreContract, ListsFilterAndPageInTheStore) {
  constexpr int64_t kNow = 1'800'000'000;
  constexpr int64_t kDay = 86'400;
  ASSERT_TRUE(plans_->GrantPlan(cas::Plan{0, 1001, "geotrust-dv-1-starter", 50, 1, std::nullopt},
                                testing::TestRecord()));
  ASSERT_TRUE(plans_->GrantPlan(cas::Plan{0, 2002, "geotrust-dv-1-starter", 5, 1, std::nullopt},
                                testing::TestRecord()));
  std::vector<cas::Order> made;
  for (int i = 0; i < 14; ++i) {
    cas::Order o = NewOrder(1001, "geotrust-dv-1-starter");
    o.created_at = 100 + i / 2;  // two per second: the id breaks the tie
    o.domains = {"n" + std::to_string(i) + ".example.com"};
    Result<cas::Order> stored = orders_->CreateOrder(o, 100, testing::TestRecord());
    ASSERT_TRUE(stored) << stored.error().detail;
    made.push_back(*stored);
  }
  ASSERT_TRUE(orders_->CreateOrder(NewOrder(2002, "geotrust-dv-1-starter"), 100,
                                   testing::TestRecord()));  // foreign
  auto apply = [&](size_t i, const Result<cas::Transition>& t) {
    ASSERT_TRUE(t);
    const cas::OrderStatus was = made[i].status;
    ASSERT_TRUE(orders_->ApplyTransition(*t, was));
    made[i] = t->order;
  };
  apply(0, cas::CancelForPackage(made[0], kNow));  // cancelled: only when asked for
  apply(1, cas::CancelOrder(made[1], kNow));
  apply(1, cas::DeleteOrder(made[1], kNow));            // deleted: never
  apply(2, cas::CancelOrder(made[2], kNow));            // PAYED
  apply(3, cas::ValidationFailed(made[3], kNow, "x"));  // CHECKED_FAIL
  apply(4, cas::ValidationPassed(made[4], kNow));       // CHECKING (process)
  const int64_t not_after[] = {kNow + 90 * kDay, kNow + 10 * kDay, kNow - kDay, kNow + 200 * kDay};
  for (size_t k = 0; k < 4; ++k) {
    const size_t i = 5 + k;
    apply(i, cas::ValidationPassed(made[i], kNow));
    cas::Order signed_order = made[i];
    signed_order.not_after = not_after[k];
    apply(i, cas::Issued(signed_order, kNow));
  }
  apply(9, cas::ValidationPassed(made[9], kNow));
  cas::Order revoked = made[9];
  revoked.not_after = kNow + 90 * kDay;
  apply(9, cas::Issued(revoked, kNow));
  apply(9, cas::CancelForPackage(made[9], kNow));  // REVOKED

  // What each list must hold, from ListStatusName itself.
  std::vector<cas::Order> newest_first = made;
  std::sort(newest_first.begin(), newest_first.end(), [](const cas::Order& a, const cas::Order& b) {
    return a.created_at != b.created_at ? a.created_at > b.created_at : a.id > b.id;
  });
  auto expected = [&](std::string_view status) {
    std::vector<int64_t> ids;
    for (const cas::Order& o : newest_first) {
      const std::string_view s = cas::ListStatusName(o, kNow);
      if (s == "DELETED") continue;
      if (status.empty() ? s != "CANCELLED" : s == status) ids.push_back(o.id);
    }
    return ids;
  };
  // Every page size and offset, so pages are read from either end.
  auto listed = [&](cas::OrderQuery q, int64_t size) {
    std::vector<int64_t> ids;
    int64_t total = -1;
    for (q.offset = 0, q.limit = size;; q.offset += size) {
      Result<cas::OrderPage> page = orders_->ListOrders(1001, q);
      EXPECT_TRUE(page) << page.error().detail;
      if (!page) return std::make_pair(ids, total);
      if (total >= 0) {
        EXPECT_EQ(page->total, total);
      }
      total = page->total;
      if (page->orders.empty()) break;
      EXPECT_LE(static_cast<int64_t>(page->orders.size()), size);
      for (const cas::Order& o : page->orders) ids.push_back(o.id);
    }
    return std::make_pair(ids, total);
  };
  for (int64_t size : {1, 2, 3, 5, 50}) {
    auto [ids, total] = listed(cas::OrderQuery{}, size);
    EXPECT_EQ(ids, expected("")) << "ShowSize " << size;
    EXPECT_EQ(total, static_cast<int64_t>(expected("").size()));
  }
  for (std::string_view status : {"PAYED", "CHECKING", "CHECKED_FAIL", "ISSUED", "WILLEXPIRED",
                                  "EXPIRED", "REVOKED", "CANCELLED"}) {
    std::optional<cas::OrderQuery> q = cas::OrderQueryForListStatus(status, kNow);
    ASSERT_TRUE(q) << status;
    for (int64_t size : {1, 2, 50}) {
      auto [ids, total] = listed(*q, size);
      EXPECT_EQ(ids, expected(status)) << status << " ShowSize " << size;
      EXPECT_EQ(total, static_cast<int64_t>(expected(status).size())) << status;
    }
  }
  EXPECT_FALSE(cas::OrderQueryForListStatus("NOTACTIVATED", kNow));
  // The maintained total equals a recount of the rows (a keyword every order matches).
  cas::OrderQuery all;
  all.keyword = "example.com";
  EXPECT_EQ(orders_->ListOrders(1001, all)->total, static_cast<int64_t>(expected("").size()));
  // Keyword: a substring of a name, or the id exactly.
  cas::OrderQuery by_name;
  by_name.keyword = "n12.";
  Result<cas::OrderPage> named = orders_->ListOrders(1001, by_name);
  ASSERT_TRUE(named && named->orders.size() == 1u);
  EXPECT_EQ(named->orders[0].id, made[12].id);
  by_name.keyword = std::to_string(made[13].id);
  EXPECT_EQ(orders_->ListOrders(1001, by_name)->orders.at(0).id, made[13].id);
  // Far past the end: empty, the total kept — never a wrapped-around page.
  cas::OrderQuery far;
  far.offset = std::numeric_limits<int64_t>::max();
  far.limit = 1000;
  Result<cas::OrderPage> past = orders_->ListOrders(1001, far);
  ASSERT_TRUE(past);
  EXPECT_TRUE(past->orders.empty());
  EXPECT_EQ(past->total, static_cast<int64_t>(expected("").size()));
  // Another account's list.
  EXPECT_EQ(orders_->ListOrders(2002, cas::OrderQuery{})->total, 1);
}

// The bound on orders a client can make without end (Create*, then cancel): those that gave
// their unit back go after their retention, oldest first, in batches, with their ACME views;
// the counts follow, and nothing that holds a unit or is newer goes.
TEST_P(OrderStoreContract, ReleasedOrdersArePrunedOldestFirstAndNothingElse) {
  ASSERT_TRUE(plans_->GrantPlan(cas::Plan{0, 1001, "geotrust-dv-1-starter", 10, 1, std::nullopt},
                                testing::TestRecord()));
  std::vector<cas::Order> made;
  for (int i = 0; i < 5; ++i) {
    Result<cas::Order> o =
        orders_->CreateOrder(NewOrder(1001, "geotrust-dv-1-starter"), 100, testing::TestRecord());
    ASSERT_TRUE(o) << o.error().detail;
    made.push_back(*o);
  }
  auto apply = [&](size_t i, const Result<cas::Transition>& t) {
    ASSERT_TRUE(t);
    ASSERT_TRUE(orders_->ApplyTransition(*t, made[i].status));
    made[i] = t->order;
  };
  apply(0, cas::CancelForPackage(made[0], 1000));  // cancelled, unit back: old
  apply(1, cas::CancelOrder(made[1], 900));
  apply(1, cas::DeleteOrder(made[1], 1100));       // deleted, unit back: old
  apply(2, cas::CancelForPackage(made[2], 5000));  // cancelled: too recent
  apply(3, cas::CancelOrder(made[3], 1000));       // payed: holds its unit
  apply(4, cas::CancelForPackage(made[4], 1000));  // cancelled, then made to hold a unit below
  Tamper(std::string("UPDATE orders SET holds_unit = ") + (GetParam() == "sqlite" ? "1" : "true") +
         " WHERE id = " + std::to_string(made[4].id));
  acme::AcmeOrder view;
  view.order_id = made[0].id;
  view.acme_account_id = 7;
  view.identifiers_key = "a.example.com";
  view.created_at = 100;
  ASSERT_TRUE(acme_->InsertAcmeOrder(view));
  const int64_t used = plans_->GetPackageCounters(1001, "geotrust-dv-1-starter", 100)->used;
  cas::OrderQuery cancelled;
  cancelled.statuses = {cas::OrderStatus::kCancelled};
  ASSERT_EQ(orders_->ListOrders(1001, cancelled)->total, 3);

  Result<int64_t> first = orders_->PruneReleasedOrders(2000, 1);  // the oldest only
  ASSERT_TRUE(first) << first.error().detail;
  EXPECT_EQ(*first, 1);
  EXPECT_FALSE(*orders_->FindOrder(1001, made[0].id));
  EXPECT_FALSE(*acme_->FindAcmeOrder(made[0].id));
  EXPECT_EQ(orders_->ListOrders(1001, cancelled)->total, 2);
  Result<int64_t> rest = orders_->PruneReleasedOrders(2000, 10);
  ASSERT_TRUE(rest);
  EXPECT_EQ(*rest, 1);  // the deleted one
  EXPECT_EQ(*orders_->PruneReleasedOrders(2000, 10), 0);
  for (size_t i : {size_t{2}, size_t{3}, size_t{4}}) {
    EXPECT_TRUE(*orders_->FindOrder(1001, made[i].id)) << i;
  }
  EXPECT_EQ(orders_->ListOrders(1001, cancelled)->total, 2);
  EXPECT_EQ(orders_->ListOrders(1001, cas::OrderQuery{})->total, 1);  // the payed one
  EXPECT_EQ(plans_->GetPackageCounters(1001, "geotrust-dv-1-starter", 100)->used, used);
  // Later, the recent one goes too.
  EXPECT_EQ(*orders_->PruneReleasedOrders(6000, 10), 1);
  EXPECT_EQ(orders_->ListOrders(1001, cancelled)->total, 1);  // the one holding a unit stays
  EXPECT_TRUE(*orders_->FindOrder(1001, made[4].id));
}

// The plans of the list statements at a realistic size (issue #12 fault 9): with thousands of
// orders in the account and as many in another, every statement reads one index range of the
// account — the count reads the counters, not the orders — and none scans the table. Rows are
// written straight into the store (as a bulk import would; the count triggers see them too),
// sized like real ones; PostgreSQL plans from the statistics ANALYZE gathered.
TEST_P(OrderStoreContract, ListsReadAnIndexRangeNeverTheTable) {
  constexpr int64_t kNow = 1'800'000'000;
  constexpr int kRows = 20000;  // half of them the account's
  if (GetParam() == "sqlite") {
    Tamper(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
        std::to_string(kRows) +
        ") INSERT INTO orders (id, account_id, product_code, origin, status, validate_type, "
        "domains, token, csr_pem, not_after, holds_unit, counts_issued, created_at, "
        "updated_at, validation_deadline, next_check_at) SELECT 2000000000000000 + i, CASE WHEN "
        "i % 2 = 0 THEN 1001 ELSE 2002 END, 'geotrust-dv-1-starter', 0, CASE (i / 2) % 10 WHEN 0 "
        "THEN 'payed' WHEN 1 THEN 'cancelled' ELSE 'certificate' END, 'DNS', 'n' || i || "
        "'.example.com', 't', printf('%.700c', 'C'), 1800000000 + (i % 100) * 86400, 1, 0, "
        "1000 + i * 100, 1000, 0, 0 FROM n");
  } else {
    Tamper(
        "INSERT INTO orders (id, account_id, product_code, origin, status, validate_type, "
        "domains, token, csr_pem, not_after, holds_unit, counts_issued, created_at, "
        "updated_at, validation_deadline, next_check_at) SELECT 2000000000000000 + i, CASE "
        "WHEN i % 2 = 0 THEN 1001 ELSE 2002 END, 'geotrust-dv-1-starter', 0, CASE (i / 2) % 10 "
        "WHEN 0 THEN 'payed' WHEN 1 THEN 'cancelled' ELSE 'certificate' END, 'DNS', 'n' || i "
        "|| '.example.com', 't', md5(i::text) || repeat('C', 668), 1800000000 + (i % 100) * "
        "86400, true, false, 1000 + i * 100, 1000, 0, 0 FROM generate_series(1, " +
        std::to_string(kRows) + ") i");
    Tamper("VACUUM ANALYZE orders");
    Tamper("ANALYZE order_counts");
  }
  const int64_t shown = kRows / 2 / 10 * 9;  // all but the cancelled tenth
  ASSERT_EQ(orders_->ListOrders(1001, cas::OrderQuery{})->total, shown);
  auto plans = [&](const cas::OrderQuery& q, int64_t total) {
    Result<std::vector<std::string>> p = sqlite_ ? sqlite_->ExplainListOrders(1001, q, total)
                                                 : postgres_->ExplainListOrders(1001, q, total);
    EXPECT_TRUE(p) << p.error().detail;
    std::vector<PlanFacts> facts;
    for (const std::string& plan : p ? *p : std::vector<std::string>{}) {
      facts.push_back(sqlite_ ? ReadSqlitePlan(plan) : ReadPostgresPlan(plan));
    }
    return facts;
  };
  using Reads = std::multiset<std::string>;
  // The page: the ids from one index (entries only), the rows by primary key; a sort, if any,
  // of the page's rows only.
  auto expect_page_from = [](const PlanFacts& page, const std::string& index) {
    EXPECT_EQ(page.reads, (Reads{"index-only " + index, "primary-key orders"})) << page.text;
    EXPECT_FALSE(page.sorts_below_root) << page.text;
  };
  // The default list: first, middle and last page of 50; the count from the counters alone; a
  // deep page finds where it starts from the bucket counts (never the orders), then skips at most
  // one bucket's index entries.
  for (int64_t offset : {int64_t{0}, shown / 2, shown - 50}) {
    cas::OrderQuery q;
    q.offset = offset;
    std::vector<PlanFacts> p = plans(q, shown);
    ASSERT_GE(p.size(), 2u);
    EXPECT_EQ(p.front().reads, (Reads{"primary-key order_counts"})) << p.front().text;
    expect_page_from(p.back(), "orders_shown");
    EXPECT_EQ(p.size(), offset == shown / 2 ? 4u : 2u);  // the middle page seeks
    for (size_t i = 1; i + 1 < p.size(); ++i) {
      for (const std::string& read : p[i].reads) {
        EXPECT_TRUE(read.ends_with("order_buckets")) << p[i].text;
      }
    }
  }
  // Deep pages hold what they must, across buckets of both widths (the rows span 2 x 10^6 s),
  // and still after rows change state or go (the triggers keep the bucket counts).
  auto expect_deep_pages = [&](const std::function<bool(int)>& listed) {
    std::vector<int64_t> expected;  // the account's shown orders, newest first
    for (int i = kRows; i >= 1; --i) {
      if (i % 2 == 0 && listed(i)) expected.push_back(2000000000000000 + i);
    }
    const int64_t total = static_cast<int64_t>(expected.size());
    for (int64_t offset : {int64_t{2000}, int64_t{2049}, total / 2 - 7, total - 2050, total - 30}) {
      cas::OrderQuery q;
      q.offset = offset;
      q.limit = 50;
      Result<cas::OrderPage> page = orders_->ListOrders(1001, q);
      ASSERT_TRUE(page) << page.error().detail;
      EXPECT_EQ(page->total, total);
      std::vector<int64_t> ids;
      for (const cas::Order& o : page->orders) ids.push_back(o.id);
      const size_t end = std::min<size_t>(expected.size(), static_cast<size_t>(offset + 50));
      EXPECT_EQ(ids, std::vector<int64_t>(expected.begin() + offset, expected.begin() + end))
          << "offset " << offset;
    }
  };
  expect_deep_pages([](int i) { return (i / 2) % 10 != 1; });
  Tamper(
      "UPDATE orders SET status = 'cancelled' WHERE account_id = 1001 AND (id - 2000000000000000) "
      "% 7 = 0");
  Tamper("DELETE FROM orders WHERE account_id = 1001 AND (id - 2000000000000000) % 11 = 0");
  expect_deep_pages([](int i) { return (i / 2) % 10 != 1 && i % 7 != 0 && i % 11 != 0; });
  // One stored state: the counters and the index by state.
  std::optional<cas::OrderQuery> payed = cas::OrderQueryForListStatus("PAYED", kNow);
  payed->offset = 500;
  std::vector<PlanFacts> p = plans(*payed, kRows / 2 / 10);
  ASSERT_EQ(p.size(), 2u);  // a shallow page: no seek
  EXPECT_EQ(p[0].reads, (Reads{"primary-key order_counts"})) << p[0].text;
  expect_page_from(p[1], "orders_by_status");
  // A NotAfter window: the count too is an index range (entries only) of the account's issued
  // orders.
  std::optional<cas::OrderQuery> issued = cas::OrderQueryForListStatus("ISSUED", kNow);
  p = plans(*issued, 100);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].reads, (Reads{"index-only orders_by_status"})) << p[0].text;
  expect_page_from(p[1], "orders_by_status");
}

INSTANTIATE_TEST_SUITE_P(Backends, OrderStoreContract, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace certplan::store
