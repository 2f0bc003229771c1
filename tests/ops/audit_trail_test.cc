// ops::AuditTrail over a fake ops::AuditLog (the port's contract runs on both real stores in
// tests/store/audit_log_contract_test.cc): argument refusals, paging, pruning in batches,
// refusal records, and the operator's time syntax.
#include "ops/audit_trail.h"

#include <gtest/gtest.h>

#include "testing/audit_for_test.h"

namespace certplan::ops {
namespace {

class FakeLog final : public AuditLog {
 public:
  Status AppendAudit(const audit::Record& record) override {
    appended.push_back(record);
    return Ok{};
  }
  Result<std::vector<audit::Record>> ReadAudit(const AuditQuery& query) override {
    queries.push_back(query);
    std::vector<audit::Record> out;
    for (int64_t i = 0; i < std::min<int64_t>(query.limit, available); ++i) {
      audit::Record r;
      r.id = query.after_id + 1 + i;
      r.time = 500;
      out.push_back(r);
    }
    available -= static_cast<int64_t>(out.size());
    return out;
  }
  Result<int64_t> PruneAudit(int64_t before, int64_t max_rows) override {
    prune_before = before;
    const int64_t n = std::min(max_rows, old_rows);
    old_rows -= n;
    ++prune_calls;
    return n;
  }
  Result<std::vector<int64_t>> OrdersWithoutCreationRecord(int64_t) override {
    return std::vector<int64_t>{};
  }

  std::vector<audit::Record> appended;
  std::vector<AuditQuery> queries;
  int64_t available = 0;
  int64_t old_rows = 0;
  int64_t prune_before = 0;
  int prune_calls = 0;
};

class AuditTrailTest : public ::testing::Test {
 protected:
  FakeLog log_;
  FakeClock clock_{1'000'000};
  AuditTrail trail_{log_, clock_};
};

TEST_F(AuditTrailTest, ReadRefusesBadLimitsAndAnEmptyRange) {
  for (int64_t limit : {int64_t{0}, int64_t{-1}, AuditTrail::kMaxPage + 1}) {
    Result<AuditPage> r = trail_.Read(1, 0, 10, std::nullopt, limit);
    ASSERT_FALSE(r) << limit;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
  }
  Result<AuditPage> empty = trail_.Read(1, 10, 10, std::nullopt, 10);
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidParameter);
  EXPECT_TRUE(log_.queries.empty());
}

TEST_F(AuditTrailTest, AFullPageCarriesTheCursorOfItsLastRecord) {
  log_.available = 5;
  Result<AuditPage> first = trail_.Read(7, 100, 900, std::nullopt, 3);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->records.size(), 3u);
  ASSERT_TRUE(first->next);
  EXPECT_EQ(first->next->id, 3);
  EXPECT_EQ(log_.queries[0].account_id, 7);
  EXPECT_EQ(log_.queries[0].after_time, 100);  // from the start of the range
  Result<AuditPage> second = trail_.Read(7, 100, 900, first->next, 3);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->records.size(), 2u);
  EXPECT_FALSE(second->next);
  EXPECT_EQ(log_.queries[1].after_time, 500);
  EXPECT_EQ(log_.queries[1].after_id, 3);
}

TEST_F(AuditTrailTest, PruneDeletesInBatchesUntilAShortOneAndRefusesZeroDays) {
  log_.old_rows = 12;
  Result<int64_t> pruned = trail_.Prune(30, 5);
  ASSERT_TRUE(pruned);
  EXPECT_EQ(*pruned, 12);
  EXPECT_EQ(log_.prune_calls, 3);  // 5, 5, 2
  EXPECT_EQ(log_.prune_before, 1'000'000 - 30 * 86400);
  Result<int64_t> zero = trail_.Prune(0);
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().code, ErrorCode::kInvalidParameter);
}

TEST_F(AuditTrailTest, ARefusalIsRecordedNowWithItsCodeAndABoundedObject) {
  ASSERT_TRUE(trail_.RecordRefusal(testing::TestActor("CancelOrderRequest"), 9, "OrderId",
                                   std::string(1000, '7'), "NotFoundOrder"));
  ASSERT_EQ(log_.appended.size(), 1u);
  const audit::Record& r = log_.appended[0];
  EXPECT_EQ(r.time, 1'000'000);
  EXPECT_EQ(r.account_id, 9);
  EXPECT_EQ(r.actor.action, "CancelOrderRequest");
  EXPECT_EQ(r.object_type, "OrderId");
  EXPECT_EQ(r.object_id.size(), 128u);
  EXPECT_EQ(r.result, "NotFoundOrder");
}

TEST(AuditTime, RfcThreeThreeThreeNineOrUnixSecondsOnly) {
  EXPECT_EQ(ParseAuditTime("0"), 0);
  EXPECT_EQ(ParseAuditTime("1764547200"), 1764547200);
  EXPECT_EQ(ParseAuditTime("2025-12-01T00:00:00Z"), 1764547200);
  EXPECT_EQ(ParseAuditTime("2025-12-01T08:00:00+08:00"), 1764547200);
  for (const char* bad : {"", "yesterday", "-5", "12abc", "99999999999999999999", "2025-12-01"}) {
    EXPECT_FALSE(ParseAuditTime(bad)) << bad;
  }
}

TEST(AuditFields, NamesAndValuesLineUp) {
  audit::Record r = testing::TestRecord(5, 1764547200);
  r.actor.type = audit::PrincipalType::kRamUser;
  EXPECT_EQ(AuditFieldNames().size(), AuditFieldValues(r).size());
  EXPECT_EQ(AuditFieldValues(r)[1], "2025-12-01T00:00:00Z");
  EXPECT_EQ(AuditFieldValues(r)[4], "ram_user");
  for (audit::PrincipalType t : {audit::PrincipalType::kRoot, audit::PrincipalType::kRamUser,
                                 audit::PrincipalType::kOperator, audit::PrincipalType::kCli,
                                 audit::PrincipalType::kAcme, audit::PrincipalType::kWorker}) {
    EXPECT_EQ(audit::ParsePrincipalTypeName(audit::PrincipalTypeName(t)), t);
  }
}

}  // namespace
}  // namespace certplan::ops
