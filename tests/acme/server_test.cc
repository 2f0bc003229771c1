// The ACME front over a real SQLite store, the built-in CA and cas::Orders: how ACME orders map
// onto certplan orders and their quota (issue #13, items 3 and 4).
#include "acme/server.h"

#include <gtest/gtest.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme/base64url.h"
#include "acme/jws.h"
#include "acme/test_signer.h"
#include "iam/identity_store.h"
#include "pki/builtin_ca.h"
#include "pki/certificate_chain.h"
#include "pki/jws_crypto.h"
#include "pki/secret_box.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/audit_for_test.h"
#include "testing/temp_dir.h"

namespace certplan::acme {
namespace {

using Json = nlohmann::json;
constexpr std::string_view kBase = "https://acme.test:8443";
constexpr int64_t kAccount = 7;
constexpr const char* kProduct = "digicert-free-1-free";

// Answers every check as told (below the cas::DomainChecker interface).
class ScriptedChecker final : public cas::DomainChecker {
 public:
  Status Check(cas::CheckMethod method, std::string_view domain, std::string_view token) override {
    last_method = method;
    last_domain = std::string(domain);
    last_token = std::string(token);
    if (fail) return Error(ErrorCode::kServiceUnavailable, "nothing at the challenge path");
    return Ok{};
  }
  bool fail = false;
  cas::CheckMethod last_method = cas::CheckMethod::kDns;
  std::string last_domain, last_token;
};

// A DER CSR for `names` (SAN; no CN unless `cn`, written as a raw UTF8String so it may exceed
// X.509's 64 characters, as lego's does), base64url.
std::string CsrFor(const std::vector<std::string>& names, const std::string& cn = "") {
  pki::PkeyPtr key(EVP_EC_gen("P-256"));
  pki::X509ReqPtr req(X509_REQ_new());
  X509_REQ_set_version(req.get(), 0);
  X509_REQ_set_pubkey(req.get(), key.get());
  if (!cn.empty()) {
    X509_NAME_add_entry_by_NID(X509_REQ_get_subject_name(req.get()), NID_commonName,
                               V_ASN1_UTF8STRING, reinterpret_cast<const unsigned char*>(cn.data()),
                               static_cast<int>(cn.size()), -1, 0);
  }
  std::string san;
  for (const std::string& n : names) san += (san.empty() ? "DNS:" : ",DNS:") + n;
  pki::ExtensionsPtr exts(sk_X509_EXTENSION_new_null());
  sk_X509_EXTENSION_push(exts.get(),
                         X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str()));
  X509_REQ_add_extensions(req.get(), exts.get());
  X509_REQ_sign(req.get(), key.get(), EVP_sha256());
  unsigned char* der = nullptr;
  const int len = i2d_X509_REQ(req.get(), &der);
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return Base64UrlEncode(out);
}

class AcmeServerTest : public ::testing::Test {
 protected:
  void SetUp() override { Build(/*auto_approve=*/true); }

  void Build(bool auto_approve) {
    server_.reset();
    orders_.reset();
    if (!store_) {
      store_ = std::move(*store::sqlite::SqliteStore::Open(dir_.File("db")));
      box_ = std::move(*pki::SecretBox::Create(std::string(32, 'k')));
      ca_ = std::move(*pki::BuiltinCa::Open(pki::CaFiles{dir_.File("ca")}, clock_.NowSeconds()));
      ASSERT_TRUE(static_cast<iam::IdentityStore&>(*store_).CreateAccount(
          kAccount, "acme", 1, certplan::testing::TestRecord(kAccount)));
      plans_ = std::make_unique<cas::Plans>(*store_, clock_);
      ASSERT_TRUE(
          plans_->Grant(kAccount, kProduct, 2, std::nullopt, certplan::testing::TestActor()));
      eab_ = std::make_unique<EabKeys>(*store_, *box_, clock_);
      nonces_ = std::make_unique<NonceIssuer>("nonce key", guard_, clock_, 900);
    }
    cas::OrderSettings settings;
    settings.auto_approve = auto_approve;
    settings.validation_deadline_seconds = 3600;
    orders_ = std::make_unique<cas::Orders>(*store_, *ca_, *box_, clock_, settings);
    server_ = std::make_unique<Server>(
        *store_, *eab_, *nonces_, *orders_, *plans_, checker_, clock_,
        ServerSettings{auto_approve, "/acme/", nullptr, max_accounts_per_eab_key_});
  }

  std::string Url(std::string_view path) {
    return std::string(kBase) + "/acme/" + std::string(path);
  }

  rpc::Response Post(const std::string& url, const std::string& payload, bool use_jwk = false) {
    Json header = {{"url", url}, {"nonce", nonces_->Issue()}};
    if (use_jwk || kid_.empty()) {
      header["jwk"] = key_.jwk;
    } else {
      header["kid"] = kid_;
    }
    rpc::Request r;
    r.method = "POST";
    r.path = url.substr(kBase.size());
    r.headers = {{"host", "acme.test:8443"}, {"content-type", "application/jose+json"}};
    r.body = testing::JwsBody(key_, header, payload);
    r.secure = true;
    return server_->Handle(r);
  }

  std::string ProblemOf(const rpc::Response& r) {
    EXPECT_EQ(r.content_type, "application/problem+json");
    return Json::parse(r.body).value("type", "");
  }

  // newAccount for key_, bound through `key`.
  rpc::Response NewAccount(const NewEabKey& key) {
    const std::string prot = Base64UrlEncode(
        Json{{"alg", "HS256"}, {"kid", key.key.key_id}, {"url", Url("new-account")}}.dump());
    const std::string payload = Base64UrlEncode(key_.jwk.dump());
    const std::string mac = pki::HmacSha256(*Base64UrlDecode(key.hmac_key), prot + "." + payload);
    Json body = {
        {"externalAccountBinding",
         {{"protected", prot}, {"payload", payload}, {"signature", Base64UrlEncode(mac)}}}};
    return Post(Url("new-account"), body.dump(), true);
  }

  void Register() {
    Result<NewEabKey> key = eab_->Create(kAccount, kProduct, false, "");
    ASSERT_TRUE(key);
    rpc::Response r = NewAccount(*key);
    ASSERT_EQ(r.status, 201) << r.body;
    for (const auto& [n, v] : r.headers) {
      if (n == "Location") kid_ = v;
    }
  }

  cas::PackageState State() { return *plans_->Describe(kAccount, kProduct); }

  // newOrder for `names`: the order id (0 when refused).
  int64_t NewOrder(const std::vector<std::string>& names, rpc::Response* out = nullptr) {
    Json ids = Json::array();
    for (const std::string& n : names) ids.push_back({{"type", "dns"}, {"value", n}});
    rpc::Response r = Post(Url("new-order"), Json{{"identifiers", ids}}.dump());
    if (out) *out = r;
    if (r.status != 201) return 0;
    for (const auto& [n, v] : r.headers) {
      if (n == "Location") return std::stoll(v.substr(v.rfind('/') + 1));
    }
    return 0;
  }

  ::certplan::testing::TempDir dir_;
  FakeClock clock_{1'700'000'000};
  auth::MemoryReplayGuard guard_{size_t{100000}};
  std::unique_ptr<store::sqlite::SqliteStore> store_;
  std::unique_ptr<pki::SecretBox> box_;
  std::unique_ptr<pki::BuiltinCa> ca_;
  std::unique_ptr<cas::Plans> plans_;
  std::unique_ptr<EabKeys> eab_;
  std::unique_ptr<NonceIssuer> nonces_;
  std::unique_ptr<cas::Orders> orders_;
  ScriptedChecker checker_;
  std::unique_ptr<Server> server_;
  testing::TestKey key_ = testing::EcKey();
  std::string kid_;
  int64_t max_accounts_per_eab_key_ = kDefaultMaxAccountsPerEabKey;
};

TEST_F(AcmeServerTest, AnEabKeyBindsNoMoreAccountsThanItsLimit) {
  max_accounts_per_eab_key_ = 2;
  Build(/*auto_approve=*/true);
  Result<NewEabKey> key = eab_->Create(kAccount, kProduct, false, "");
  ASSERT_TRUE(key);
  ASSERT_EQ(NewAccount(*key).status, 201);
  key_ = testing::EcKey();
  ASSERT_EQ(NewAccount(*key).status, 201);
  testing::TestKey second = std::move(key_);
  key_ = testing::EcKey();
  rpc::Response refused = NewAccount(*key);
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(ProblemOf(refused), "urn:ietf:params:acme:error:unauthorized");
  EXPECT_NE(Json::parse(refused.body).value("detail", "").find("acme_accounts_per_eab_key"),
            std::string::npos);
  // An account the key bound is still returned at the limit.
  key_ = std::move(second);
  EXPECT_EQ(NewAccount(*key).status, 200);
}

TEST_F(AcmeServerTest, OrderIsACertplanOrderThatTakesOneUnitAndIssuesOnFinalize) {
  Register();
  const int64_t id = NewOrder({"www.example.com", "example.com"});
  ASSERT_NE(id, 0);
  Result<cas::Order> order = orders_->Describe(kAccount, id);
  ASSERT_TRUE(order);
  EXPECT_EQ(order->origin, cas::OrderOrigin::kAcme);
  EXPECT_EQ(order->status, cas::OrderStatus::kDomainVerify);
  EXPECT_EQ(order->validation_deadline, clock_.NowSeconds() + 3600);  // ACME expires
  EXPECT_EQ(State().used, 1);
  // The worker leaves it alone until its expiry: it is validated when the client asks.
  EXPECT_EQ(*orders_->AdvanceDue(checker_, 10), 0);
  for (int i = 0; i < 2; ++i) {
    rpc::Response c =
        Post(Url("chall/" + std::to_string(id) + "-" + std::to_string(i) + "/http-01"), "{}");
    ASSERT_EQ(c.status, 200) << c.body;
    EXPECT_EQ(Json::parse(c.body)["status"], "valid");
  }
  EXPECT_EQ(orders_->Describe(kAccount, id)->status, cas::OrderStatus::kProcess);
  // Waits in process for finalize: the worker does not sign it.
  clock_.Advance(10);
  (void)orders_->AdvanceDue(checker_, 10);
  EXPECT_EQ(orders_->Describe(kAccount, id)->status, cas::OrderStatus::kProcess);
  rpc::Response f = Post(Url("order/" + std::to_string(id) + "/finalize"),
                         Json{{"csr", CsrFor({"EXAMPLE.com", "www.example.com"})}}.dump());
  ASSERT_EQ(f.status, 200) << f.body;
  EXPECT_EQ(Json::parse(f.body)["status"], "valid");
  EXPECT_EQ(orders_->Describe(kAccount, id)->status, cas::OrderStatus::kCertificate);
  EXPECT_EQ(State().used, 1);
  EXPECT_EQ(State().issued, 1);
  rpc::Response cert = Post(Url("cert/" + std::to_string(id)), "");
  EXPECT_EQ(cert.content_type, "application/pem-certificate-chain");
  EXPECT_NE(cert.body.find("BEGIN CERTIFICATE"), std::string::npos);
}

TEST_F(AcmeServerTest, FailedChallengeCancelsTheOrderAndGivesTheUnitBack) {
  Build(/*auto_approve=*/false);
  Register();
  checker_.fail = true;
  const int64_t id = NewOrder({"fail.example.com"});
  ASSERT_NE(id, 0);
  EXPECT_EQ(State().used, 1);
  rpc::Response c = Post(Url("chall/" + std::to_string(id) + "-0/http-01"), "{}");
  ASSERT_EQ(c.status, 200) << c.body;
  EXPECT_EQ(Json::parse(c.body)["status"], "invalid");
  EXPECT_EQ(checker_.last_method, cas::CheckMethod::kAcmeHttp01);
  EXPECT_EQ(checker_.last_domain, "fail.example.com");
  // The key authorization: token "." thumbprint.
  EXPECT_EQ(checker_.last_token.substr(checker_.last_token.find('.') + 1), Thumbprint(key_.jwk));
  EXPECT_EQ(orders_->Describe(kAccount, id)->status, cas::OrderStatus::kCancelled);
  EXPECT_EQ(State().used, 0);
  rpc::Response o = Post(Url("order/" + std::to_string(id)), "");
  EXPECT_EQ(Json::parse(o.body)["status"], "invalid");
}

TEST_F(AcmeServerTest, Dns01DigestGoesToTheBaseNameOfAWildcard) {
  Build(/*auto_approve=*/false);
  ASSERT_TRUE(plans_->Grant(kAccount, "geotrust-dv-w-starter", 1, std::nullopt,
                            certplan::testing::TestActor()));
  Result<NewEabKey> key = eab_->Create(kAccount, "geotrust-dv-w-starter", false, "");
  ASSERT_TRUE(key);
  const std::string prot = Base64UrlEncode(
      Json{{"alg", "HS256"}, {"kid", key->key.key_id}, {"url", Url("new-account")}}.dump());
  const std::string payload = Base64UrlEncode(key_.jwk.dump());
  const std::string mac = pki::HmacSha256(*Base64UrlDecode(key->hmac_key), prot + "." + payload);
  rpc::Response acct =
      Post(Url("new-account"),
           Json{{"externalAccountBinding",
                 {{"protected", prot}, {"payload", payload}, {"signature", Base64UrlEncode(mac)}}}}
               .dump(),
           true);
  ASSERT_EQ(acct.status, 201);
  for (const auto& [n, v] : acct.headers) {
    if (n == "Location") kid_ = v;
  }
  const int64_t id = NewOrder({"*.example.net", "example.net"});
  ASSERT_NE(id, 0);
  rpc::Response http = Post(Url("chall/" + std::to_string(id) + "-0/http-01"), "{}");
  EXPECT_EQ(http.status, 404);
  rpc::Response dns = Post(Url("chall/" + std::to_string(id) + "-0/dns-01"), "{}");
  ASSERT_EQ(dns.status, 200) << dns.body;
  EXPECT_EQ(checker_.last_method, cas::CheckMethod::kAcmeDns01);
  EXPECT_EQ(checker_.last_domain, "example.net");
  EXPECT_EQ(checker_.last_token.size(), 43u);
}

TEST_F(AcmeServerTest, ExpiredUnfinalizedOrderIsCancelledByTheWorkerWithItsUnitBack) {
  Register();
  const int64_t id = NewOrder({"late.example.com"});
  ASSERT_NE(id, 0);
  EXPECT_EQ(State().used, 1);
  clock_.Advance(3600);
  EXPECT_EQ(*orders_->AdvanceDue(checker_, 10), 1);
  EXPECT_EQ(orders_->Describe(kAccount, id)->status, cas::OrderStatus::kCancelled);
  EXPECT_EQ(State().used, 0);
  // A new order for the same names is a new order (the old one is no longer pending).
  EXPECT_NE(NewOrder({"late.example.com"}), id);
}

TEST_F(AcmeServerTest, ExhaustedPlanIsRefusedNamingItsCountsAndTakesNothing) {
  Register();
  ASSERT_NE(NewOrder({"one.example.com"}), 0);
  ASSERT_NE(NewOrder({"two.example.com"}), 0);
  rpc::Response r;
  EXPECT_EQ(NewOrder({"three.example.com"}, &r), 0);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(ProblemOf(r), "urn:ietf:params:acme:error:unauthorized");
  const std::string detail = Json::parse(r.body)["detail"];
  EXPECT_NE(detail.find(kProduct), std::string::npos);
  EXPECT_NE(detail.find("TotalCount=2, UsedCount=2, IssuedCount=0"), std::string::npos) << detail;
  EXPECT_EQ(State().used, 2);
  // The same names as a pending order: answered again, not charged (and not refused).
  EXPECT_NE(NewOrder({"ONE.example.com"}), 0);
  EXPECT_EQ(State().used, 2);
}

TEST_F(AcmeServerTest, Issue13_LegoCnOver64CharactersGoesToTheSanOnly) {
  Register();
  const std::string name = std::string(60, 'a') + ".long.example.com";
  const int64_t id = NewOrder({name});
  ASSERT_NE(id, 0);
  ASSERT_EQ(Post(Url("chall/" + std::to_string(id) + "-0/http-01"), "{}").status, 200);
  rpc::Response f = Post(Url("order/" + std::to_string(id) + "/finalize"),
                         Json{{"csr", CsrFor({name}, name)}}.dump());
  ASSERT_EQ(f.status, 200) << f.body;
  Result<cas::Order> order = orders_->Describe(kAccount, id);
  ASSERT_TRUE(order);
  Result<pki::ReadChainResult> read = pki::ReadChain(order->certificate_pem);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->facts.common_name, "");
  EXPECT_EQ(read->facts.sans, std::vector<std::string>{name});
}

TEST_F(AcmeServerTest, FinalizeRefusals) {
  Register();
  const int64_t id = NewOrder({"f.example.com"});
  const std::string finalize = Url("order/" + std::to_string(id) + "/finalize");
  rpc::Response early = Post(finalize, Json{{"csr", CsrFor({"f.example.com"})}}.dump());
  EXPECT_EQ(ProblemOf(early), "urn:ietf:params:acme:error:orderNotReady");
  ASSERT_EQ(Post(Url("chall/" + std::to_string(id) + "-0/http-01"), "{}").status, 200);
  rpc::Response other = Post(finalize, Json{{"csr", CsrFor({"g.example.com"})}}.dump());
  EXPECT_EQ(ProblemOf(other), "urn:ietf:params:acme:error:badCSR");
  rpc::Response more =
      Post(finalize, Json{{"csr", CsrFor({"f.example.com", "g.example.com"})}}.dump());
  EXPECT_EQ(ProblemOf(more), "urn:ietf:params:acme:error:badCSR");
  rpc::Response junk = Post(finalize, Json{{"csr", Base64UrlEncode("junk")}}.dump());
  EXPECT_EQ(ProblemOf(junk), "urn:ietf:params:acme:error:badCSR");
  EXPECT_EQ(orders_->Describe(kAccount, id)->status, cas::OrderStatus::kProcess);
  EXPECT_EQ(State().issued, 0);
}

TEST_F(AcmeServerTest, EveryAnswerCarriesAFreshNonce) {
  rpc::Request r;
  r.method = "GET";
  r.path = "/acme/nothing";
  r.headers = {{"host", "acme.test:8443"}};
  r.secure = true;
  rpc::Response a = server_->Handle(r);
  EXPECT_EQ(a.status, 405);
  bool nonce = false;
  for (const auto& [n, v] : a.headers) nonce = nonce || (n == "Replay-Nonce" && !v.empty());
  EXPECT_TRUE(nonce);
}

}  // namespace
}  // namespace certplan::acme
