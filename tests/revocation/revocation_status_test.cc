// revocation::RevocationStatus over a real built-in CA, a fake clock and an in-memory
// cas::RevocationStore (the port; the backends have their contract suite): when the CRL is
// signed again, what it holds, and what the OCSP responder answers from the records.
#include "revocation/revocation_status.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "pki/ocsp_responder_certificate.h"
#include "pki/openssl_handles.h"
#include "testing/temp_dir.h"

namespace certplan::revocation {
namespace {

constexpr int64_t kNow = 1'800'000'000;
constexpr int64_t kDay = 86'400;

// The records in memory, read as the backends read them.
class MemoryRevocationStore final : public cas::RevocationStore {
 public:
  Result<std::vector<cas::Revocation>> ListRevocations(std::string_view issuer,
                                                       int64_t now) override {
    ++lists;
    if (failing) return Error(ErrorCode::kServiceUnavailable, "The store is not available.");
    std::vector<cas::Revocation> out;
    for (const cas::Revocation& r : records) {
      if ((r.issuer_key_id == issuer || r.issuer_key_id.empty()) && r.not_after > now) {
        out.push_back(r);
      }
    }
    return out;
  }
  Result<cas::RevocationsVersion> VersionOfRevocations(std::string_view issuer) override {
    ++version_reads;
    if (failing) return Error(ErrorCode::kServiceUnavailable, "The store is not available.");
    cas::RevocationsVersion v;
    for (const cas::Revocation& r : records) {
      if (r.issuer_key_id == issuer || r.issuer_key_id.empty()) {
        ++v.count;
        v.latest = std::max(v.latest, r.revoked_at);
      }
    }
    return v;
  }
  Result<std::optional<cas::IssuedSerial>> FindIssuedSerial(std::string_view serial) override {
    if (failing) return Error(ErrorCode::kServiceUnavailable, "The store is not available.");
    auto it = issued.find(std::string(serial));
    if (it == issued.end()) return std::optional<cas::IssuedSerial>();
    cas::IssuedSerial found = it->second;
    for (const cas::Revocation& r : records) {
      if (r.order_id == found.order_id) found.revocation = r;
    }
    return std::optional<cas::IssuedSerial>(found);
  }

  std::vector<cas::Revocation> records;
  std::map<std::string, cas::IssuedSerial> issued;
  bool failing = false;
  int lists = 0;
  int version_reads = 0;
};

pki::X509CrlPtr ParseCrl(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  return pki::X509CrlPtr(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
}

class RevocationStatusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<pki::BuiltinCa>> ca =
        pki::BuiltinCa::Open(pki::CaFiles{dir_.File("ca")}, kNow);
    ASSERT_TRUE(ca) << ca.error().detail;
    ca_ = std::move(*ca);
    Result<std::unique_ptr<pki::BuiltinCa>> other =
        pki::BuiltinCa::Open(pki::CaFiles{dir_.File("other")}, kNow);
    ASSERT_TRUE(other);
    other_ = std::move(*other);
    Result<std::unique_ptr<pki::SecretBox>> box = pki::SecretBox::Create(std::string(32, 'k'));
    ASSERT_TRUE(box);
    box_ = std::move(*box);
    settings_.crl_validity_seconds = 24 * 3600;
    settings_.store_check_seconds = 60;
    settings_.responder_dir = dir_.File("ocsp");
    Open();
  }

  void Open() {
    Result<std::unique_ptr<RevocationStatus>> status =
        RevocationStatus::Open(*ca_, *box_, store_, clock_, settings_);
    ASSERT_TRUE(status) << status.error().detail;
    status_ = std::move(*status);
  }

  cas::Revocation Record(int64_t order_id, std::string serial, int64_t revoked_at,
                         std::string issuer = "") {
    if (issuer.empty()) issuer = ca_->issuer_key_id();
    return cas::Revocation{order_id,
                           std::move(issuer),
                           std::move(serial),
                           revoked_at,
                           cas::RevocationReason::kUnspecified,
                           kNow + 90 * kDay};
  }

  // The serials on the CRL in force, which must verify under the issuing CA.
  std::vector<std::string> CrlSerials() {
    pki::X509CrlPtr crl = ParseCrl(status_->crl()->der);
    EXPECT_TRUE(crl);
    Result<pki::X509Ptr> issuing = pki::ParseCertificatePem(ca_->issuing_pem());
    EXPECT_EQ(X509_CRL_verify(crl.get(), X509_get0_pubkey(issuing->get())), 1);
    std::vector<std::string> out;
    STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl.get());
    for (int i = 0; i < sk_X509_REVOKED_num(revoked); ++i) {
      pki::BignumPtr bn(ASN1_INTEGER_to_BN(
          X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revoked, i)), nullptr));
      char* hex = BN_bn2hex(bn.get());
      out.emplace_back(hex);
      OPENSSL_free(hex);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  testing::TempDir dir_;
  FakeClock clock_{kNow};
  MemoryRevocationStore store_;
  std::unique_ptr<pki::BuiltinCa> ca_, other_;
  std::unique_ptr<pki::SecretBox> box_;
  Settings settings_;
  std::unique_ptr<RevocationStatus> status_;
};

TEST_F(RevocationStatusTest, OpeningSignsTheFirstCrl) {
  std::shared_ptr<const PublishedCrl> crl = status_->crl();
  ASSERT_TRUE(crl);
  EXPECT_EQ(crl->this_update, kNow);
  EXPECT_EQ(crl->next_update, kNow + 24 * 3600);
  EXPECT_EQ(crl->number, static_cast<uint64_t>(kNow) * 1000);
  EXPECT_EQ(crl->entries, 0u);
  EXPECT_TRUE(CrlSerials().empty());
}

TEST_F(RevocationStatusTest, NothingDueMeansNoNewSignatureAndTheSameBytes) {
  const std::shared_ptr<const PublishedCrl> first = status_->crl();
  clock_.Advance(30);  // before the store check, long before halfway
  Result<Refreshed> done = status_->RefreshIfDue();
  ASSERT_TRUE(done);
  EXPECT_FALSE(done->crl);
  EXPECT_FALSE(done->responder);
  EXPECT_EQ(status_->crl(), first);
}

TEST_F(RevocationStatusTest, AReportedRevocationIsOnTheNextCrl) {
  store_.records.push_back(Record(1, "0A01", kNow + 5));
  clock_.Advance(5);
  ASSERT_FALSE(status_->RefreshIfDue()->crl) << "not reported, not yet checked";
  status_->NotifyRevoked();
  Result<Refreshed> done = status_->RefreshIfDue();
  ASSERT_TRUE(done);
  EXPECT_TRUE(done->crl);
  EXPECT_EQ(CrlSerials(), std::vector<std::string>{"0A01"});
  EXPECT_EQ(status_->crl()->this_update, kNow + 5);
  EXPECT_EQ(status_->crl()->number, static_cast<uint64_t>(kNow + 5) * 1000);
  EXPECT_FALSE(status_->RefreshIfDue()->crl) << "reported once, signed once";
}

TEST_F(RevocationStatusTest, ARevocationRecordedByAnotherNodeIsFoundAtTheStoreCheck) {
  store_.records.push_back(Record(1, "0A01", kNow + 10));
  clock_.Advance(settings_.store_check_seconds - 1);
  ASSERT_FALSE(status_->RefreshIfDue()->crl);
  clock_.Advance(1);
  EXPECT_TRUE(status_->RefreshIfDue()->crl);
  EXPECT_EQ(CrlSerials(), std::vector<std::string>{"0A01"});
  // Checked again only after another interval, and unchanged records sign nothing.
  const int reads = store_.version_reads;
  clock_.Advance(1);
  EXPECT_FALSE(status_->RefreshIfDue()->crl);
  EXPECT_EQ(store_.version_reads, reads);
  clock_.Advance(settings_.store_check_seconds);
  EXPECT_FALSE(status_->RefreshIfDue()->crl);
  EXPECT_EQ(store_.version_reads, reads + 1);
}

TEST_F(RevocationStatusTest, TheCrlIsSignedAgainHalfwayToNextUpdate) {
  const uint64_t first = status_->crl()->number;
  clock_.Set(kNow + 12 * 3600 - 1);
  EXPECT_FALSE(status_->RefreshIfDue()->crl);
  clock_.Set(kNow + 12 * 3600);
  EXPECT_TRUE(status_->RefreshIfDue()->crl);
  EXPECT_EQ(status_->crl()->next_update, kNow + 36 * 3600);
  EXPECT_GT(status_->crl()->number, first);
}

TEST_F(RevocationStatusTest, CrlNumbersIncreaseWithinOneSecondAndAcrossRestarts) {
  status_->NotifyRevoked();
  ASSERT_TRUE(status_->RefreshIfDue()->crl);
  status_->NotifyRevoked();
  ASSERT_TRUE(status_->RefreshIfDue()->crl);
  EXPECT_EQ(status_->crl()->number, static_cast<uint64_t>(kNow) * 1000 + 2);
  clock_.Advance(1);
  Open();  // a restart a second later
  EXPECT_EQ(status_->crl()->number, static_cast<uint64_t>(kNow + 1) * 1000);
}

TEST_F(RevocationStatusTest, OnlyThisIssuersUnexpiredRecordsAreListed) {
  store_.records.push_back(Record(1, "0A01", kNow));
  store_.records.push_back(Record(2, "0A02", kNow, other_->issuer_key_id()));
  cas::Revocation legacy = Record(3, "0A03", kNow);
  legacy.issuer_key_id.clear();  // recorded before issuers were: the data directory's own CA
  store_.records.push_back(legacy);
  cas::Revocation expired = Record(4, "0A04", kNow);
  expired.not_after = kNow;
  store_.records.push_back(expired);
  status_->NotifyRevoked();
  ASSERT_TRUE(status_->RefreshIfDue()->crl);
  EXPECT_EQ(CrlSerials(), (std::vector<std::string>{"0A01", "0A03"}));
}

TEST_F(RevocationStatusTest, AStoreFailureKeepsTheCrlAndIsRetried) {
  const std::shared_ptr<const PublishedCrl> before = status_->crl();
  store_.records.push_back(Record(1, "0A01", kNow));
  store_.failing = true;
  status_->NotifyRevoked();
  Result<Refreshed> failed = status_->RefreshIfDue();
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kServiceUnavailable);
  EXPECT_EQ(status_->crl(), before);
  store_.failing = false;
  Result<Refreshed> retried = status_->RefreshIfDue();  // no new report needed
  ASSERT_TRUE(retried);
  EXPECT_TRUE(retried->crl);
  EXPECT_EQ(CrlSerials(), std::vector<std::string>{"0A01"});
}

TEST_F(RevocationStatusTest, AStoreDownAtStartDoesNotStopTheServiceAndTheCrlFollows) {
  store_.failing = true;
  status_.reset();
  settings_.responder_dir = dir_.File("ocsp-2");
  Open();  // succeeds: the responder needs no store
  EXPECT_EQ(status_->crl(), nullptr);
  Result<Refreshed> still = status_->RefreshIfDue();
  ASSERT_FALSE(still);
  EXPECT_EQ(status_->crl(), nullptr);
  store_.failing = false;
  Result<Refreshed> done = status_->RefreshIfDue();
  ASSERT_TRUE(done) << done.error().detail;
  EXPECT_TRUE(done->crl);
  ASSERT_NE(status_->crl(), nullptr);
  EXPECT_TRUE(CrlSerials().empty());
}

TEST_F(RevocationStatusTest, TheResponderCertificateIsRenewedTenDaysBeforeItEnds) {
  clock_.Set(kNow + pki::kOcspResponderValidity - pki::kOcspResponderRenewBefore - 1);
  Result<Refreshed> early = status_->RefreshIfDue();
  ASSERT_TRUE(early);
  EXPECT_FALSE(early->responder);
  clock_.Advance(1);
  Result<Refreshed> due = status_->RefreshIfDue();
  ASSERT_TRUE(due);
  EXPECT_TRUE(due->responder);
  EXPECT_FALSE(status_->RefreshIfDue()->responder) << "renewed once";
}

TEST_F(RevocationStatusTest, AResponderThatCannotBeRenewedDoesNotHoldUpTheCrl) {
  // The responder's directory turned into a file: the renewal cannot write.
  std::filesystem::remove_all(settings_.responder_dir);
  std::ofstream(settings_.responder_dir) << "in the way";
  clock_.Set(kNow + pki::kOcspResponderValidity - pki::kOcspResponderRenewBefore);
  store_.records.push_back(Record(1, "0A01", kNow));
  status_->NotifyRevoked();
  Result<Refreshed> done = status_->RefreshIfDue();
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().code, ErrorCode::kInternal);
  EXPECT_EQ(CrlSerials(), std::vector<std::string>{"0A01"}) << "the CRL was signed all the same";
  EXPECT_EQ(status_->crl()->this_update,
            kNow + pki::kOcspResponderValidity - pki::kOcspResponderRenewBefore);
  // Once it can write again, the renewal goes through.
  std::filesystem::remove(settings_.responder_dir);
  Result<Refreshed> again = status_->RefreshIfDue();
  ASSERT_TRUE(again) << again.error().detail;
  EXPECT_TRUE(again->responder);
}

// An OCSP question about `serial` under the issuing CA; the single answer's status.
int AskAbout(const RevocationStatus& status, const pki::BuiltinCa& ca, const std::string& serial,
             int* reason = nullptr) {
  Result<pki::X509Ptr> issuer = pki::ParseCertificatePem(ca.issuing_pem());
  BIGNUM* bn = nullptr;
  BN_hex2bn(&bn, serial.c_str());
  pki::BignumPtr owned(bn);
  pki::Asn1IntegerPtr number(BN_to_ASN1_INTEGER(bn, nullptr));
  pki::OcspRequestPtr request(OCSP_REQUEST_new());
  OCSP_CERTID* id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer->get()),
                                     X509_get0_pubkey_bitstr(issuer->get()), number.get());
  OCSP_request_add0_id(request.get(), OCSP_CERTID_dup(id));
  unsigned char* der = nullptr;
  const int n = i2d_OCSP_REQUEST(request.get(), &der);
  const pki::OcspAnswer answer =
      status.AnswerOcsp(std::string_view(reinterpret_cast<char*>(der), static_cast<size_t>(n)));
  OPENSSL_free(der);
  int cert_status = -1, why = -1;
  if (answer.outcome == pki::OcspOutcome::kSuccessful) {
    const auto* p = reinterpret_cast<const unsigned char*>(answer.der.data());
    pki::OcspResponsePtr response(
        d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(answer.der.size())));
    pki::OcspBasicResponsePtr basic(OCSP_response_get1_basic(response.get()));
    OCSP_resp_find_status(basic.get(), id, &cert_status, &why, nullptr, nullptr, nullptr);
  }
  OCSP_CERTID_free(id);
  if (reason) *reason = why;
  return cert_status;
}

TEST_F(RevocationStatusTest, OcspAnswersFromTheRecords) {
  store_.issued["0A01"] = cas::IssuedSerial{1, ca_->issuing_pem(), kNow + 90 * kDay, {}};
  store_.issued["0A02"] = cas::IssuedSerial{2, ca_->issuing_pem(), kNow + 90 * kDay, {}};
  // Issued under another CA of the same store: not this responder's to vouch for.
  store_.issued["0A03"] = cas::IssuedSerial{3, other_->issuing_pem(), kNow + 90 * kDay, {}};
  cas::Revocation r = Record(2, "0A02", kNow - 60);
  r.reason = cas::RevocationReason::kKeyCompromise;
  store_.records.push_back(r);
  EXPECT_EQ(AskAbout(*status_, *ca_, "0A01"), V_OCSP_CERTSTATUS_GOOD);
  int reason = -1;
  EXPECT_EQ(AskAbout(*status_, *ca_, "0A02", &reason), V_OCSP_CERTSTATUS_REVOKED);
  EXPECT_EQ(reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
  EXPECT_EQ(AskAbout(*status_, *ca_, "0A03"), V_OCSP_CERTSTATUS_UNKNOWN);
  EXPECT_EQ(AskAbout(*status_, *ca_, "0BAD"), V_OCSP_CERTSTATUS_UNKNOWN) << "never issued";
}

TEST_F(RevocationStatusTest, OcspWhileTheStoreIsDownIsTryLater) {
  store_.failing = true;
  Result<pki::X509Ptr> issuer = pki::ParseCertificatePem(ca_->issuing_pem());
  pki::OcspRequestPtr request(OCSP_REQUEST_new());
  pki::Asn1IntegerPtr serial(ASN1_INTEGER_new());
  ASN1_INTEGER_set(serial.get(), 10);
  OCSP_request_add0_id(request.get(),
                       OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer->get()),
                                        X509_get0_pubkey_bitstr(issuer->get()), serial.get()));
  unsigned char* der = nullptr;
  const int n = i2d_OCSP_REQUEST(request.get(), &der);
  const pki::OcspAnswer answer =
      status_->AnswerOcsp(std::string_view(reinterpret_cast<char*>(der), static_cast<size_t>(n)));
  OPENSSL_free(der);
  EXPECT_EQ(answer.outcome, pki::OcspOutcome::kTryLater);
}

TEST(RevocationUrls, FollowThePublicUrl) {
  const pki::RevocationUrls urls = UrlsFor("http://pki.example.com:8080/");
  EXPECT_EQ(urls.crl, "http://pki.example.com:8080/pki/crl");
  EXPECT_EQ(urls.ocsp, "http://pki.example.com:8080/pki/ocsp");
  EXPECT_EQ(urls.ca_issuers, "http://pki.example.com:8080/pki/issuer.crt");
  EXPECT_EQ(UrlsFor("http://h/base").crl, "http://h/base/pki/crl");
  const pki::RevocationUrls none = UrlsFor("");
  EXPECT_TRUE(none.crl.empty() && none.ocsp.empty() && none.ca_issuers.empty());
}

TEST(RevocationUrls, APublicUrlMustBePlainHttpWithAHost) {
  EXPECT_TRUE(CheckPublicUrl("http://127.0.0.1:8080"));
  EXPECT_TRUE(CheckPublicUrl("http://pki.example.com/certplan/"));
  for (const char* bad : {"https://pki.example.com", "pki.example.com", "http://", "http:///path",
                          "http://pki.example.com/a b", "http://h/?q=1", "http://h/#f",
                          "http://user@h", "http://h/\xc3\xa9"}) {
    Status s = CheckPublicUrl(bad);
    ASSERT_FALSE(s) << bad;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidParameter) << bad;
  }
}

}  // namespace
}  // namespace certplan::revocation
