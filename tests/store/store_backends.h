// The fixture every port contract suite shares (STYLE §2.10): each test runs over a temporary
// SQLite file and over a fresh database on the PostgreSQL server named by CERTPLAN_TEST_PG_URL
// (scripts/test.sh starts one). A missing server fails the run; it never skips. Suites reach
// the store only through the port they test (and the ports they need to set up or observe).
#pragma once

#include <cstdlib>
#include <memory>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "acme/acme_store.h"
#include "cas/certificate_store.h"
#include "cas/counter_audit_store.h"
#include "cas/order_store.h"
#include "cas/plan_store.h"
#include "cas/revocation_store.h"
#include "iam/identity_store.h"
#include "ops/audit_log.h"
#include "ops/metrics_store.h"
#include "ops/operator_store.h"
#include "store/postgres/pg_handles.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_handles.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/audit_for_test.h"
#include "testing/temp_dir.h"

namespace certplan::store {

class StoreBackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      Result<std::unique_ptr<sqlite::SqliteStore>> s = sqlite::SqliteStore::Open(dir_.File("db"));
      ASSERT_TRUE(s) << s.error().detail;
      sqlite_ = std::move(*s);
      Wire(*sqlite_);
    } else {
      const char* admin = std::getenv("CERTPLAN_TEST_PG_URL");
      ASSERT_TRUE(admin && *admin) << "CERTPLAN_TEST_PG_URL must name a PostgreSQL server";
      std::random_device rd;
      db_ = "certplan_contract_" + std::to_string(rd() % 1000000000);
      admin_url_ = admin;
      Result<std::unique_ptr<postgres::PgConnection>> conn =
          postgres::PgConnection::Open(admin_url_);
      ASSERT_TRUE(conn) << conn.error().detail;
      ASSERT_TRUE((*conn)->Exec("CREATE DATABASE " + db_));
      url_ = admin_url_.substr(0, admin_url_.rfind('/')) + "/" + db_;
      Result<std::unique_ptr<postgres::PostgresStore>> s = postgres::PostgresStore::Open(url_);
      ASSERT_TRUE(s) << s.error().detail;
      postgres_ = std::move(*s);
      Wire(*postgres_);
    }
    ASSERT_TRUE(identities_->CreateAccount(1001, "a", 1, testing::TestRecord()));
    ASSERT_TRUE(identities_->CreateAccount(2002, "b", 1, testing::TestRecord()));
  }

  void TearDown() override {
    sqlite_.reset();
    postgres_.reset();
    if (db_.empty()) return;
    Result<std::unique_ptr<postgres::PgConnection>> conn = postgres::PgConnection::Open(admin_url_);
    if (conn) (void)(*conn)->Exec("DROP DATABASE IF EXISTS " + db_ + " WITH (FORCE)");
  }

  // Runs SQL behind the store's back, to simulate drift.
  void Tamper(const std::string& sql) {
    if (GetParam() == "sqlite") {
      Result<std::unique_ptr<sqlite::Connection>> raw = sqlite::Connection::Open(dir_.File("db"));
      ASSERT_TRUE(raw);
      ASSERT_TRUE((*raw)->Exec(sql));
    } else {
      Result<std::unique_ptr<postgres::PgConnection>> raw = postgres::PgConnection::Open(url_);
      ASSERT_TRUE(raw);
      ASSERT_TRUE((*raw)->Exec(sql));
    }
  }

  static cas::Order NewOrder(int64_t account, const char* product) {
    cas::Order o;
    o.account_id = account;
    o.product_code = product;
    o.domains = {"a.example.com", "b.example.com"};
    o.token = "t";
    o.sealed_private_key = std::string("\x00\x01\xfe", 3);
    o.created_at = o.updated_at = o.next_check_at = 100;
    o.validation_deadline = 1000;
    return o;
  }

  testing::TempDir dir_;
  std::string admin_url_, url_, db_;
  std::unique_ptr<sqlite::SqliteStore> sqlite_;
  std::unique_ptr<postgres::PostgresStore> postgres_;  // also the shared nonce window
  // The open backend seen through each port.
  iam::IdentityStore* identities_ = nullptr;
  cas::PlanStore* plans_ = nullptr;
  cas::OrderStore* orders_ = nullptr;
  cas::CounterAuditStore* audit_ = nullptr;
  cas::CertificateStore* certificates_ = nullptr;
  cas::RevocationStore* revocations_ = nullptr;
  ops::OperatorStore* operators_ = nullptr;
  ops::MetricsStore* metrics_ = nullptr;
  ops::AuditLog* audit_log_ = nullptr;
  acme::AcmeStore* acme_ = nullptr;

 private:
  template <typename Backend>
  void Wire(Backend& backend) {
    identities_ = &backend;
    plans_ = &backend;
    orders_ = &backend;
    audit_ = &backend;
    certificates_ = &backend;
    revocations_ = &backend;
    operators_ = &backend;
    metrics_ = &backend;
    audit_log_ = &backend;
    acme_ = &backend;
  }
};

}  // namespace certplan::store
