// Migration 11 on SQLite, 12 on PostgreSQL (issue #14: each certificate stored once) on both
// backends: a store as the previous version wrote it — the leaf and chain in every issued order's
// row, the chain again in its repository entry — opens with this binary and reads back every
// certificate, chain and entry unchanged, while each chain is now stored once; issuance after the
// migration shares the chain.
#include <cstdlib>
#include <memory>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "cas/order.h"
#include "store/postgres/pg_handles.h"
#include "store/postgres/pg_migrations.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/migrations.h"
#include "store/sqlite/sqlite_handles.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/temp_dir.h"

namespace certplan::store {
namespace {

// The schema version the previous binary left.
constexpr int64_t kSqliteBefore = 10, kPostgresBefore = 11;
constexpr int64_t kNow = 1'800'000'000;
constexpr int64_t kIssued = 1'000'000'000'000'001, kRevoked = 1'000'000'000'000'002,
                  kOldCa = 1'000'000'000'000'003, kPending = 1'000'000'000'000'004,
                  kUpload = 9'000'000'000'000'001;

std::string Pem(const std::string& fill) {
  return "-----BEGIN CERTIFICATE-----\n" + fill + "\n-----END CERTIFICATE-----\n";
}
const std::string kChain = Pem("ISSUING");         // the CA's chain every recent order shares
const std::string kOldChain = Pem("OLD-ISSUING");  // an earlier CA's

class CertificateStorageMigration : public ::testing::TestWithParam<std::string> {
 protected:
  bool sqlite() const { return GetParam() == "sqlite"; }
  std::string B(bool v) const { return sqlite() ? (v ? "1" : "0") : (v ? "true" : "false"); }

  // The store at the previous binary's schema, nothing else.
  void SetUp() override {
    if (sqlite()) {
      Result<std::unique_ptr<sqlite::Connection>> conn = sqlite::Connection::Open(dir_.File("db"));
      ASSERT_TRUE(conn);
      ASSERT_TRUE(sqlite::Migrate(**conn, kSqliteBefore));
      return;
    }
    const char* admin = std::getenv("CERTPLAN_TEST_PG_URL");
    ASSERT_TRUE(admin && *admin) << "CERTPLAN_TEST_PG_URL must name a PostgreSQL server";
    admin_url_ = admin;
    std::random_device rd;
    db_ = "certplan_migration_" + std::to_string(rd() % 1000000000);
    Result<std::unique_ptr<postgres::PgConnection>> conn = postgres::PgConnection::Open(admin_url_);
    ASSERT_TRUE(conn);
    ASSERT_TRUE((*conn)->Exec("CREATE DATABASE " + db_));
    url_ = admin_url_.substr(0, admin_url_.rfind('/')) + "/" + db_;
    Result<std::unique_ptr<postgres::PgConnection>> db = postgres::PgConnection::Open(url_);
    ASSERT_TRUE(db);
    ASSERT_TRUE(postgres::Migrate(**db, kPostgresBefore));
  }

  void TearDown() override {
    sqlite_.reset();
    postgres_.reset();
    if (db_.empty()) return;
    Result<std::unique_ptr<postgres::PgConnection>> conn = postgres::PgConnection::Open(admin_url_);
    if (conn) (void)(*conn)->Exec("DROP DATABASE IF EXISTS " + db_ + " WITH (FORCE)");
  }

  void Sql(const std::string& sql) {
    if (sqlite()) {
      Result<std::unique_ptr<sqlite::Connection>> raw = sqlite::Connection::Open(dir_.File("db"));
      ASSERT_TRUE(raw);
      Status s = (*raw)->Exec(sql);
      ASSERT_TRUE(s) << s.error().detail;
    } else {
      Result<std::unique_ptr<postgres::PgConnection>> raw = postgres::PgConnection::Open(url_);
      ASSERT_TRUE(raw);
      Result<postgres::PgResultPtr> r = (*raw)->Exec(sql);
      ASSERT_TRUE(r) << r.error().detail;
    }
  }

  int64_t Count(const std::string& sql) {
    if (sqlite()) {
      Result<std::unique_ptr<sqlite::Connection>> raw = sqlite::Connection::Open(dir_.File("db"));
      EXPECT_TRUE(raw);
      Result<sqlite::Stmt> stmt = (*raw)->Prepare(sql);
      EXPECT_TRUE(stmt);
      EXPECT_EQ(sqlite3_step(*stmt), SQLITE_ROW);
      return sqlite3_column_int64(*stmt, 0);
    }
    Result<std::unique_ptr<postgres::PgConnection>> raw = postgres::PgConnection::Open(url_);
    EXPECT_TRUE(raw);
    Result<postgres::PgResultPtr> r = (*raw)->Exec(sql);
    EXPECT_TRUE(r);
    return postgres::Int(r->get(), 0, 0);
  }

  // An order row as the previous version wrote it.
  void OldOrder(int64_t id, const std::string& status, const std::string& leaf,
                const std::string& chain, const std::string& serial) {
    const bool issued = status == "certificate";
    Sql("INSERT INTO orders (id, account_id, product_code, origin, status, validate_type, domains, "
        "token, csr_pem, certificate_pem, chain_pem, serial_hex, not_before, not_after, "
        "issued_at, holds_unit, counts_issued, created_at, updated_at, validation_deadline, "
        "next_check_at) VALUES (" +
        std::to_string(id) + ", 1001, 'geotrust-dv-1-starter', 2, '" + status +
        "', 'DNS', 'www.example.com', 't', 'CSR', '" + leaf + "', '" + chain + "', '" + serial +
        "', " + std::to_string(kNow) + ", " + std::to_string(kNow + 90 * 86400) + ", " +
        std::to_string(leaf.empty() ? 0 : kNow) + ", " + B(status != "revoked") + ", " + B(issued) +
        ", " + std::to_string(kNow - 10) + ", " + std::to_string(kNow) + ", " +
        std::to_string(kNow + 86400) + ", " + std::to_string(leaf.empty() ? kNow : 0) + ")");
  }

  // A repository entry row as the previous version wrote it.
  void OldEntry(int64_t id, int64_t order_id, const std::string& chain, bool revoked) {
    const bool upload = order_id == 0;
    Sql("INSERT INTO certificates (id, account_id, name, upload, order_id, instance_id, "
        "chain_pem, sealed_key, common_name, not_before, not_after, fingerprint, sha256, serial, "
        "algorithm, key_bits, revoked, created_at, product_code, has_key) VALUES (" +
        std::to_string(id) + ", 1001, '" + (upload ? "mine" : "cert-" + std::to_string(id)) +
        "', " + B(upload) + ", " + std::to_string(order_id) + ", 'cas-" + std::to_string(id) +
        "', '" + chain + "', '" + (upload ? "6b6579" : "") + "', 'www.example.com', " +
        std::to_string(kNow) + ", " + std::to_string(kNow + 90 * 86400) + ", 'F', 'S', 'ab', " +
        "'ECC', 256, " + B(revoked) + ", " + std::to_string(kNow) + ", " +
        (upload ? "''" : "'geotrust-dv-1-starter'") + ", " + B(upload) + ")");
  }

  // Opens the store with this binary (which migrates it) and wires the ports.
  void OpenStore() {
    if (sqlite()) {
      Result<std::unique_ptr<sqlite::SqliteStore>> s = sqlite::SqliteStore::Open(dir_.File("db"));
      ASSERT_TRUE(s) << s.error().detail;
      sqlite_ = std::move(*s);
      orders_ = sqlite_.get();
      certificates_ = sqlite_.get();
      revocations_ = sqlite_.get();
    } else {
      Result<std::unique_ptr<postgres::PostgresStore>> s = postgres::PostgresStore::Open(url_);
      ASSERT_TRUE(s) << s.error().detail;
      postgres_ = std::move(*s);
      orders_ = postgres_.get();
      certificates_ = postgres_.get();
      revocations_ = postgres_.get();
    }
  }

  cas::Order Order(int64_t id) {
    Result<std::optional<cas::Order>> o = orders_->FindOrder(1001, id);
    EXPECT_TRUE(o && *o) << id;
    return o && *o ? **o : cas::Order{};
  }
  std::string EntryChain(int64_t id) {
    Result<std::optional<cas::Certificate>> c = certificates_->FindCertificate(1001, id);
    EXPECT_TRUE(c && *c) << id;
    return c && *c ? (*c)->chain_pem : std::string();
  }

  testing::TempDir dir_;
  std::string admin_url_, url_, db_;
  std::unique_ptr<sqlite::SqliteStore> sqlite_;
  std::unique_ptr<postgres::PostgresStore> postgres_;
  cas::OrderStore* orders_ = nullptr;
  cas::CertificateStore* certificates_ = nullptr;
  cas::RevocationStore* revocations_ = nullptr;
};

TEST_P(CertificateStorageMigration, AStoreOfThePreviousVersionReadsBackUnchanged) {
  Sql("INSERT INTO accounts (id, name, created_at) VALUES (1001, 'a', 1)");
  Sql("INSERT INTO plans (account_id, product_code, count, granted_at) VALUES (1001, "
      "'geotrust-dv-1-starter', 10, 1)");
  Sql("INSERT INTO package_usage (account_id, product_code, used, issued) VALUES (1001, "
      "'geotrust-dv-1-starter', 3, 2)");
  const std::string leaf1 = Pem("LEAF-ONE"), leaf2 = Pem("LEAF-TWO"), leaf3 = Pem("LEAF-OLD");
  OldOrder(kIssued, "certificate", leaf1, kChain, "0a01");
  OldOrder(kRevoked, "revoked", leaf2, kChain, "0a02");
  OldOrder(kOldCa, "certificate", leaf3, kOldChain, "0a03");
  OldOrder(kPending, "domain_verify", "", "", "");
  OldEntry(kIssued, kIssued, leaf1 + kChain, false);
  OldEntry(kRevoked, kRevoked, leaf2 + kChain, true);
  // An entry whose chain is not its order's leaf and chain byte for byte keeps its own.
  const std::string own = leaf3 + "\n" + kOldChain;
  OldEntry(kOldCa, kOldCa, own, false);
  OldEntry(kUpload, 0, leaf1 + kChain, false);
  Sql("INSERT INTO revocations (order_id, issuer_key_id, serial_hex, revoked_at, reason, "
      "not_after) VALUES (" +
      std::to_string(kRevoked) + ", 'k', '0a02', " + std::to_string(kNow) + ", 1, " +
      std::to_string(kNow + 90 * 86400) + ")");

  OpenStore();
  // Every certificate, chain and entry reads back as it was written.
  EXPECT_EQ(Order(kIssued).certificate_pem, leaf1);
  EXPECT_EQ(Order(kIssued).chain_pem, kChain);
  EXPECT_EQ(Order(kRevoked).certificate_pem, leaf2);
  EXPECT_EQ(Order(kRevoked).chain_pem, kChain);
  EXPECT_EQ(Order(kRevoked).status, cas::OrderStatus::kRevoked);
  EXPECT_EQ(Order(kOldCa).certificate_pem, leaf3);
  EXPECT_EQ(Order(kOldCa).chain_pem, kOldChain);
  EXPECT_EQ(Order(kPending).certificate_pem, "");
  EXPECT_EQ(Order(kPending).chain_pem, "");
  EXPECT_EQ(Order(kPending).csr_pem, "CSR");
  EXPECT_EQ(Order(kIssued).serial_hex, "0a01");
  EXPECT_EQ(EntryChain(kIssued), leaf1 + kChain);
  EXPECT_EQ(EntryChain(kRevoked), leaf2 + kChain);
  EXPECT_EQ(EntryChain(kOldCa), own);
  EXPECT_EQ(EntryChain(kUpload), leaf1 + kChain);
  Result<std::optional<cas::IssuedSerial>> serial = revocations_->FindIssuedSerial("0a02");
  ASSERT_TRUE(serial && *serial);
  EXPECT_EQ((*serial)->order_id, kRevoked);
  EXPECT_EQ((*serial)->chain_pem, kChain);
  ASSERT_TRUE((*serial)->revocation);
  EXPECT_EQ((*serial)->revocation->issuer_key_id, "k");
  // … and each is stored once: two chains, three leaves, the issued entries' own chain gone
  // where it was their order's.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM ca_chains"), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM issued_certificates"), 3);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM certificates WHERE chain_pem = ''"), 2);

  // An issuance after the migration shares the chain already stored.
  cas::Order pending = Order(kPending);
  Result<cas::Transition> passed = cas::ValidationPassed(pending, kNow);
  ASSERT_TRUE(passed);
  cas::Order next = passed->order;
  next.certificate_pem = Pem("LEAF-NEW");
  next.chain_pem = kChain;
  next.serial_hex = "0a04";
  Result<cas::Transition> issued = cas::Issued(next, kNow);
  ASSERT_TRUE(issued);
  ASSERT_TRUE(orders_->ApplyTransition(*issued, cas::OrderStatus::kDomainVerify));
  EXPECT_EQ(Order(kPending).certificate_pem, Pem("LEAF-NEW"));
  EXPECT_EQ(Order(kPending).chain_pem, kChain);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM ca_chains"), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM issued_certificates"), 4);
}

INSTANTIATE_TEST_SUITE_P(Backends, CertificateStorageMigration,
                         ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace certplan::store
