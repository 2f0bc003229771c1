// pki::OcspResponder and its certificate (RFC 6960) with real OpenSSL objects: requests built
// with OpenSSL's OCSP API, answers parsed and verified with it, every refusal by its status.
#include "pki/ocsp_responder.h"

#include <sys/stat.h>

#include <fstream>
#include <map>

#include <gtest/gtest.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "pki/builtin_ca.h"
#include "pki/certificate_builder.h"
#include "pki/ocsp_responder_certificate.h"
#include "pki/openssl_handles.h"
#include "pki/secret_box.h"
#include "testing/temp_dir.h"

namespace certplan::pki {
namespace {

constexpr int64_t kNow = 1'800'000'000;
constexpr int64_t kDay = 86'400;

using CertIdPtr = std::unique_ptr<OCSP_CERTID, FreeWith<&OCSP_CERTID_free>>;
using StorePtr = std::unique_ptr<X509_STORE, FreeWith<&X509_STORE_free>>;

X509Ptr Parse(const std::string& pem) {
  Result<X509Ptr> cert = ParseCertificatePem(pem);
  EXPECT_TRUE(cert);
  return cert ? std::move(*cert) : nullptr;
}

std::string ToDer(OCSP_REQUEST* request) {
  unsigned char* der = nullptr;
  const int n = i2d_OCSP_REQUEST(request, &der);
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

// A CertID for `serial_hex` under `issuer`, hashed with `md`.
CertIdPtr IdFor(X509* issuer, const std::string& serial_hex, const EVP_MD* md = EVP_sha1()) {
  BIGNUM* bn = nullptr;
  BN_hex2bn(&bn, serial_hex.c_str());
  BignumPtr owned(bn);
  Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(bn, nullptr));
  return CertIdPtr(OCSP_cert_id_new(md, X509_get_subject_name(issuer),
                                    X509_get0_pubkey_bitstr(issuer), serial.get()));
}

class OcspResponderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<BuiltinCa>> ca = BuiltinCa::Open(CaFiles{dir_.File("ca")}, kNow);
    ASSERT_TRUE(ca) << ca.error().detail;
    ca_ = std::move(*ca);
    Result<std::unique_ptr<BuiltinCa>> other = BuiltinCa::Open(CaFiles{dir_.File("other")}, kNow);
    ASSERT_TRUE(other);
    other_ = std::move(*other);
    Result<std::unique_ptr<SecretBox>> box = SecretBox::Create(std::string(32, 'k'));
    ASSERT_TRUE(box);
    box_ = std::move(*box);
    Result<OcspResponderCredentials> creds =
        EnsureOcspResponderCertificate(*ca_, *box_, dir_.File("ocsp"), kNow);
    ASSERT_TRUE(creds) << creds.error().detail;
    creds_ = *creds;
    limits_.max_certificate_ids = 3;
    Result<std::unique_ptr<OcspResponder>> responder =
        OcspResponder::Create(ca_->issuing_pem(), creds_.cert_pem, creds_.key_pem, limits_);
    ASSERT_TRUE(responder) << responder.error().message;
    responder_ = std::move(*responder);
    issuing_ = Parse(ca_->issuing_pem());
    statuses_["0A01"] = {OcspCertState::kGood, 0, 0};
    statuses_["0A02"] = {OcspCertState::kRevoked, kNow - kDay, 1};  // keyCompromise
    statuses_["0A03"] = {OcspCertState::kRevoked, kNow - 2 * kDay, 0};
  }

  OcspAnswer Ask(const std::string& der) {
    return responder_->Answer(der, kNow, 3600, [this](const std::string& serial) {
      asked_.push_back(serial);
      auto it = statuses_.find(serial);
      return Result<OcspCertStatus>(it == statuses_.end() ? OcspCertStatus{} : it->second);
    });
  }

  // A request for the serials (under our issuer), with a nonce when given.
  OcspRequestPtr Request(const std::vector<std::string>& serials, const std::string& nonce = {}) {
    OcspRequestPtr request(OCSP_REQUEST_new());
    for (const std::string& s : serials) {
      OCSP_request_add0_id(request.get(), IdFor(issuing_.get(), s).release());
    }
    if (!nonce.empty()) {
      OCSP_request_add1_nonce(request.get(),
                              reinterpret_cast<unsigned char*>(const_cast<char*>(nonce.data())),
                              static_cast<int>(nonce.size()));
    }
    return request;
  }

  // The answer's responseStatus.
  static int StatusOf(const OcspAnswer& answer) {
    const auto* p = reinterpret_cast<const unsigned char*>(answer.der.data());
    OcspResponsePtr response(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(answer.der.size())));
    EXPECT_TRUE(response);
    return response ? OCSP_response_status(response.get()) : -1;
  }

  // The basic response, verified against the root (the delegation included).
  OcspBasicResponsePtr VerifiedBasic(const OcspAnswer& answer) {
    const auto* p = reinterpret_cast<const unsigned char*>(answer.der.data());
    OcspResponsePtr response(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(answer.der.size())));
    if (!response) return nullptr;
    OcspBasicResponsePtr basic(OCSP_response_get1_basic(response.get()));
    StorePtr store(X509_STORE_new());
    X509Ptr root = Parse(ca_->root_pem());
    X509_STORE_add_cert(store.get(), root.get());
    // The chain is judged at kNow, when the test's certificates are valid.
    X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store.get()), static_cast<time_t>(kNow));
    STACK_OF(X509)* untrusted = sk_X509_new_null();
    sk_X509_push(untrusted, issuing_.get());
    const int verified = OCSP_basic_verify(basic.get(), untrusted, store.get(), 0);
    sk_X509_free(untrusted);
    EXPECT_EQ(verified, 1);
    return basic;
  }

  testing::TempDir dir_;
  std::unique_ptr<BuiltinCa> ca_, other_;
  std::unique_ptr<SecretBox> box_;
  OcspResponderCredentials creds_;
  OcspLimits limits_;
  std::unique_ptr<OcspResponder> responder_;
  X509Ptr issuing_;
  std::map<std::string, OcspCertStatus> statuses_;
  std::vector<std::string> asked_;
};

TEST_F(OcspResponderTest, AnswersGoodRevokedAndUnknownSignedByTheDelegatedResponder) {
  OcspRequestPtr request = Request({"0A01", "0A02", "0FFF"}, std::string(16, 'n'));
  const OcspAnswer answer = Ask(ToDer(request.get()));
  ASSERT_EQ(answer.outcome, OcspOutcome::kSuccessful) << answer.detail;
  EXPECT_EQ(StatusOf(answer), OCSP_RESPONSE_STATUS_SUCCESSFUL);
  OcspBasicResponsePtr basic = VerifiedBasic(answer);
  ASSERT_TRUE(basic);
  EXPECT_EQ(OCSP_check_nonce(request.get(), basic.get()), 1);  // echoed
  EXPECT_EQ(asked_, (std::vector<std::string>{"0A01", "0A02", "0FFF"}));
  struct Want {
    std::string serial;
    int status;
    int reason;
  };
  for (const Want& w : {Want{"0A01", V_OCSP_CERTSTATUS_GOOD, -1},
                        Want{"0A02", V_OCSP_CERTSTATUS_REVOKED, OCSP_REVOKED_STATUS_KEYCOMPROMISE},
                        Want{"0FFF", V_OCSP_CERTSTATUS_UNKNOWN, -1}}) {
    CertIdPtr id = IdFor(issuing_.get(), w.serial);
    int status = -1, reason = -1;
    ASN1_GENERALIZEDTIME *revoked = nullptr, *this_update = nullptr, *next_update = nullptr;
    ASSERT_EQ(OCSP_resp_find_status(basic.get(), id.get(), &status, &reason, &revoked, &this_update,
                                    &next_update),
              1)
        << w.serial;
    EXPECT_EQ(status, w.status) << w.serial;
    EXPECT_EQ(reason, w.reason) << w.serial;
    Asn1TimePtr now(ASN1_TIME_set(nullptr, kNow)), later(ASN1_TIME_set(nullptr, kNow + 3600));
    EXPECT_EQ(ASN1_TIME_compare(this_update, now.get()), 0);
    EXPECT_EQ(ASN1_TIME_compare(next_update, later.get()), 0);
    if (w.status == V_OCSP_CERTSTATUS_REVOKED) {
      Asn1TimePtr when(ASN1_TIME_set(nullptr, kNow - kDay));
      EXPECT_EQ(ASN1_TIME_compare(revoked, when.get()), 0);
    }
  }
}

TEST_F(OcspResponderTest, AnUnspecifiedReasonIsLeftOutAndNoNonceIsAnsweredWithout) {
  OcspRequestPtr request = Request({"0A03"});
  const OcspAnswer answer = Ask(ToDer(request.get()));
  ASSERT_EQ(answer.outcome, OcspOutcome::kSuccessful);
  OcspBasicResponsePtr basic = VerifiedBasic(answer);
  ASSERT_TRUE(basic);
  EXPECT_EQ(OCSP_check_nonce(request.get(), basic.get()), 2);  // absent in both
  CertIdPtr id = IdFor(issuing_.get(), "0A03");
  int status = -1, reason = 0;
  ASSERT_EQ(
      OCSP_resp_find_status(basic.get(), id.get(), &status, &reason, nullptr, nullptr, nullptr), 1);
  EXPECT_EQ(status, V_OCSP_CERTSTATUS_REVOKED);
  EXPECT_EQ(reason, OCSP_REVOKED_STATUS_NOSTATUS);
}

TEST_F(OcspResponderTest, Sha256CertIdsAreAnsweredToo) {
  OcspRequestPtr request(OCSP_REQUEST_new());
  OCSP_request_add0_id(request.get(), IdFor(issuing_.get(), "0A01", EVP_sha256()).release());
  const OcspAnswer answer = Ask(ToDer(request.get()));
  EXPECT_EQ(answer.outcome, OcspOutcome::kSuccessful) << answer.detail;
}

TEST_F(OcspResponderTest, BytesThatAreNotOneRequestAreMalformed) {
  for (const std::string& der :
       {std::string(), std::string("not der at all"), ToDer(Request({"0A01"}).get()) + "x"}) {
    const OcspAnswer answer = Ask(der);
    EXPECT_EQ(answer.outcome, OcspOutcome::kMalformedRequest);
    EXPECT_EQ(StatusOf(answer), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
  }
  EXPECT_TRUE(asked_.empty());
}

TEST_F(OcspResponderTest, ARequestOverTheSizeLimitIsMalformed) {
  const std::string der = ToDer(Request({"0A01"}).get());
  limits_.max_request_bytes = der.size() - 1;
  Result<std::unique_ptr<OcspResponder>> small =
      OcspResponder::Create(ca_->issuing_pem(), creds_.cert_pem, creds_.key_pem, limits_);
  ASSERT_TRUE(small);
  const OcspAnswer answer = (*small)->Answer(
      der, kNow, 3600, [](const std::string&) { return Result<OcspCertStatus>(OcspCertStatus{}); });
  EXPECT_EQ(answer.outcome, OcspOutcome::kMalformedRequest);
  EXPECT_EQ(StatusOf(answer), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
}

TEST_F(OcspResponderTest, NoIdsOrTooManyIdsAreMalformed) {
  const OcspAnswer none = Ask(ToDer(Request({}).get()));
  EXPECT_EQ(none.outcome, OcspOutcome::kMalformedRequest);
  const OcspAnswer many = Ask(ToDer(Request({"0A01", "0A02", "0A03", "0A04"}).get()));
  EXPECT_EQ(many.outcome, OcspOutcome::kMalformedRequest);
  EXPECT_EQ(StatusOf(many), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
  EXPECT_NE(many.detail.find("4 certificate IDs"), std::string::npos) << many.detail;
  EXPECT_TRUE(asked_.empty());
  EXPECT_EQ(Ask(ToDer(Request({"0A01", "0A02", "0A03"}).get())).outcome,
            OcspOutcome::kSuccessful);  // at the limit
}

TEST_F(OcspResponderTest, ANonceOver32BytesIsMalformed) {
  const OcspAnswer answer = Ask(ToDer(Request({"0A01"}, std::string(33, 'n')).get()));
  EXPECT_EQ(answer.outcome, OcspOutcome::kMalformedRequest);
  EXPECT_EQ(StatusOf(answer), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
  EXPECT_EQ(Ask(ToDer(Request({"0A01"}, std::string(32, 'n')).get())).outcome,
            OcspOutcome::kSuccessful);
}

TEST_F(OcspResponderTest, AnotherIssuersCertIdIsUnauthorized) {
  X509Ptr foreign = Parse(other_->issuing_pem());
  OcspRequestPtr request = Request({"0A01"});
  OCSP_request_add0_id(request.get(), IdFor(foreign.get(), "0A02").release());
  const OcspAnswer answer = Ask(ToDer(request.get()));
  EXPECT_EQ(answer.outcome, OcspOutcome::kUnauthorized);
  EXPECT_EQ(StatusOf(answer), OCSP_RESPONSE_STATUS_UNAUTHORIZED);
  EXPECT_TRUE(asked_.empty()) << "nothing is looked up for a refused request";
  // The root is another issuer as well.
  X509Ptr root = Parse(ca_->root_pem());
  OcspRequestPtr of_root(OCSP_REQUEST_new());
  OCSP_request_add0_id(of_root.get(), IdFor(root.get(), "0A01").release());
  EXPECT_EQ(Ask(ToDer(of_root.get())).outcome, OcspOutcome::kUnauthorized);
}

TEST_F(OcspResponderTest, AnUnsupportedHashIsUnauthorized) {
  OcspRequestPtr request(OCSP_REQUEST_new());
  OCSP_request_add0_id(request.get(), IdFor(issuing_.get(), "0A01", EVP_md5()).release());
  const OcspAnswer answer = Ask(ToDer(request.get()));
  EXPECT_EQ(answer.outcome, OcspOutcome::kUnauthorized);
  EXPECT_EQ(StatusOf(answer), OCSP_RESPONSE_STATUS_UNAUTHORIZED);
}

TEST_F(OcspResponderTest, AStoreFailureIsTryLaterOrInternalError) {
  const std::string der = ToDer(Request({"0A01"}).get());
  const OcspAnswer later = responder_->Answer(der, kNow, 3600, [](const std::string&) {
    return Result<OcspCertStatus>(Error(ErrorCode::kServiceUnavailable, "down"));
  });
  EXPECT_EQ(later.outcome, OcspOutcome::kTryLater);
  EXPECT_EQ(StatusOf(later), OCSP_RESPONSE_STATUS_TRYLATER);
  const OcspAnswer internal = responder_->Answer(der, kNow, 3600, [](const std::string&) {
    return Result<OcspCertStatus>(InternalError("broken"));
  });
  EXPECT_EQ(internal.outcome, OcspOutcome::kInternalError);
  EXPECT_EQ(StatusOf(internal), OCSP_RESPONSE_STATUS_INTERNALERROR);
}

TEST_F(OcspResponderTest, CreateRefusesWhatIsNotAResponderOfTheIssuer) {
  // The other CA's responder certificate: not issued by ours.
  Result<OcspResponderCredentials> foreign =
      EnsureOcspResponderCertificate(*other_, *box_, dir_.File("other-ocsp"), kNow);
  ASSERT_TRUE(foreign);
  Result<std::unique_ptr<OcspResponder>> r =
      OcspResponder::Create(ca_->issuing_pem(), foreign->cert_pem, foreign->key_pem);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
  // A server leaf of our CA: issued by it, but not for OCSP signing.
  PkeyPtr key(EVP_EC_gen("P-256"));
  IssueRequest leaf;
  leaf.public_key_pem = PublicKeyPem(key.get());
  leaf.domains = {"www.example.com"};
  leaf.not_before = kNow;
  leaf.not_after = kNow + kDay;
  Result<IssuedCertificate> issued = ca_->Issue(leaf);
  ASSERT_TRUE(issued);
  r = OcspResponder::Create(ca_->issuing_pem(), issued->certificate_pem, PrivateKeyPem(key.get()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
  // A key that is not the certificate's.
  r = OcspResponder::Create(ca_->issuing_pem(), creds_.cert_pem, PrivateKeyPem(key.get()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
}

TEST_F(OcspResponderTest, TheResponderCertificateIsForOcspSigningWithNoCheck) {
  X509Ptr cert = Parse(creds_.cert_pem);
  ASSERT_TRUE(cert);
  EXPECT_NE(X509_get_extended_key_usage(cert.get()) & XKU_OCSP_SIGN, 0u);
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()) & XKU_SSL_SERVER, 0u);
  EXPECT_GE(X509_get_ext_by_NID(cert.get(), NID_id_pkix_OCSP_noCheck, -1), 0);
  EXPECT_LT(X509_get_ext_by_NID(cert.get(), NID_subject_alt_name, -1), 0);
  EXPECT_EQ(X509_check_issued(issuing_.get(), cert.get()), X509_V_OK);
  EXPECT_EQ(creds_.not_after, kNow + kOcspResponderValidity);
  EXPECT_EQ(responder_->responder_not_after(), kNow + kOcspResponderValidity);
}

TEST_F(OcspResponderTest, TheResponderKeyIsSealedAtRestAndReusedUntilRenewal) {
  EXPECT_TRUE(creds_.issued);
  struct stat st {};
  ASSERT_EQ(::stat(dir_.File("ocsp/ocsp-responder.key.sealed").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  std::ifstream in(dir_.File("ocsp/ocsp-responder.key.sealed"), std::ios::binary);
  const std::string on_disk((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(on_disk.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(on_disk.find(creds_.key_pem.substr(30, 20)), std::string::npos);
  // Reused while more than ten days are left …
  Result<OcspResponderCredentials> later =
      EnsureOcspResponderCertificate(*ca_, *box_, dir_.File("ocsp"),
                                     kNow + kOcspResponderValidity - kOcspResponderRenewBefore - 1);
  ASSERT_TRUE(later);
  EXPECT_FALSE(later->issued);
  EXPECT_EQ(later->cert_pem, creds_.cert_pem);
  EXPECT_EQ(later->key_pem, creds_.key_pem);
  // … renewed with ten left.
  const int64_t renew_at = kNow + kOcspResponderValidity - kOcspResponderRenewBefore;
  Result<OcspResponderCredentials> renewed =
      EnsureOcspResponderCertificate(*ca_, *box_, dir_.File("ocsp"), renew_at);
  ASSERT_TRUE(renewed);
  EXPECT_TRUE(renewed->issued);
  EXPECT_NE(renewed->cert_pem, creds_.cert_pem);
  EXPECT_EQ(renewed->not_after, renew_at + kOcspResponderValidity);
}

TEST_F(OcspResponderTest, AKeyThatNoLongerOpensIsReplaced) {
  Result<std::unique_ptr<SecretBox>> other_box = SecretBox::Create(std::string(32, 'x'));
  ASSERT_TRUE(other_box);
  Result<OcspResponderCredentials> again =
      EnsureOcspResponderCertificate(*ca_, **other_box, dir_.File("ocsp"), kNow);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->issued);
  EXPECT_NE(again->cert_pem, creds_.cert_pem);
}

}  // namespace
}  // namespace certplan::pki
