// The /pki/ endpoints: what each path answers, with which media type, and every refusal.
#include "revocation/http_endpoints.h"

#include <gtest/gtest.h>
#include <openssl/ocsp.h>

#include "pki/openssl_handles.h"
#include "rpc/percent.h"
#include "testing/temp_dir.h"

namespace certplan::revocation {
namespace {

constexpr int64_t kNow = 1'800'000'000;

class NoRecords final : public cas::RevocationStore {
 public:
  Result<std::vector<cas::Revocation>> ListRevocations(std::string_view, int64_t) override {
    return std::vector<cas::Revocation>{};
  }
  Result<cas::RevocationsVersion> VersionOfRevocations(std::string_view) override {
    if (down) return Error(ErrorCode::kServiceUnavailable, "The store is not available.");
    return cas::RevocationsVersion{};
  }
  bool down = false;
  Result<std::optional<cas::IssuedSerial>> FindIssuedSerial(std::string_view) override {
    return std::optional<cas::IssuedSerial>();
  }
};

std::string Base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

class HttpEndpointsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<pki::BuiltinCa>> ca =
        pki::BuiltinCa::Open(pki::CaFiles{dir_.File("ca")}, kNow);
    ASSERT_TRUE(ca);
    ca_ = std::move(*ca);
    Result<std::unique_ptr<pki::SecretBox>> box = pki::SecretBox::Create(std::string(32, 'k'));
    ASSERT_TRUE(box);
    box_ = std::move(*box);
    Settings settings;
    settings.responder_dir = dir_.File("ocsp");
    settings.ocsp_limits.max_request_bytes = 512;
    Result<std::unique_ptr<RevocationStatus>> status =
        RevocationStatus::Open(*ca_, *box_, store_, clock_, settings);
    ASSERT_TRUE(status) << status.error().detail;
    status_ = std::move(*status);
  }

  rpc::Response Send(std::string method, std::string path, std::string body = {},
                     std::string content_type = {}) {
    rpc::Request request;
    request.method = std::move(method);
    request.path = std::move(path);
    request.body = std::move(body);
    if (!content_type.empty()) request.headers.emplace_back("content-type", content_type);
    return HandleRevocationRequest(*status_, request);
  }

  // A DER OCSPRequest for serial 10 under the issuing CA.
  std::string OcspRequest() {
    Result<pki::X509Ptr> issuer = pki::ParseCertificatePem(ca_->issuing_pem());
    pki::OcspRequestPtr request(OCSP_REQUEST_new());
    pki::Asn1IntegerPtr serial(ASN1_INTEGER_new());
    ASN1_INTEGER_set(serial.get(), 10);
    OCSP_request_add0_id(request.get(),
                         OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer->get()),
                                          X509_get0_pubkey_bitstr(issuer->get()), serial.get()));
    OCSP_request_add1_nonce(request.get(), nullptr, 16);
    unsigned char* der = nullptr;
    const int n = i2d_OCSP_REQUEST(request.get(), &der);
    std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
    OPENSSL_free(der);
    return out;
  }

  static int OcspStatus(const rpc::Response& r) {
    const auto* p = reinterpret_cast<const unsigned char*>(r.body.data());
    pki::OcspResponsePtr response(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(r.body.size())));
    return response ? OCSP_response_status(response.get()) : -1;
  }

  testing::TempDir dir_;
  FakeClock clock_{kNow};
  NoRecords store_;
  std::unique_ptr<pki::BuiltinCa> ca_;
  std::unique_ptr<pki::SecretBox> box_;
  std::unique_ptr<RevocationStatus> status_;
};

TEST(RevocationPaths, EverythingUnderPkiAndNothingElse) {
  EXPECT_TRUE(IsRevocationPath("/pki/crl"));
  EXPECT_TRUE(IsRevocationPath("/pki/ocsp/MEIwQDA%2BMDwwOjAJBgUrDgMCGgUABBQ"));
  EXPECT_TRUE(IsRevocationPath("/pki/"));
  EXPECT_FALSE(IsRevocationPath("/"));
  EXPECT_FALSE(IsRevocationPath("/pki"));
  EXPECT_FALSE(IsRevocationPath("/acme/directory"));
}

TEST_F(HttpEndpointsTest, TheCrlIsServedAsDerFromMemory) {
  const rpc::Response a = Send("GET", "/pki/crl");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.content_type, "application/pkix-crl");
  EXPECT_EQ(a.body, status_->crl()->der);
  const auto* p = reinterpret_cast<const unsigned char*>(a.body.data());
  pki::X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(a.body.size())));
  EXPECT_TRUE(crl);
  clock_.Advance(10);
  EXPECT_EQ(Send("GET", "/pki/crl").body, a.body) << "the same CRL, not signed per request";
}

TEST_F(HttpEndpointsTest, TheCrlIs503UntilTheFirstIsSigned) {
  store_.down = true;
  Settings settings;
  settings.responder_dir = dir_.File("ocsp-2");
  Result<std::unique_ptr<RevocationStatus>> status =
      RevocationStatus::Open(*ca_, *box_, store_, clock_, settings);
  ASSERT_TRUE(status) << "a store down at start does not stop the service";
  status_ = std::move(*status);
  const rpc::Response r = Send("GET", "/pki/crl");
  EXPECT_EQ(r.status, 503);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Retry-After");
  store_.down = false;
  ASSERT_TRUE(status_->RefreshIfDue());
  EXPECT_EQ(Send("GET", "/pki/crl").status, 200);
}

TEST_F(HttpEndpointsTest, TheIssuingCertificateIsServedAsDer) {
  const rpc::Response r = Send("GET", "/pki/issuer.crt");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/pkix-cert");
  const auto* p = reinterpret_cast<const unsigned char*>(r.body.data());
  pki::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(r.body.size())));
  ASSERT_TRUE(cert);
  EXPECT_EQ(pki::CertificatePem(cert.get()), ca_->issuing_pem());
}

TEST_F(HttpEndpointsTest, OcspByPostAndByGet) {
  const std::string der = OcspRequest();
  const rpc::Response post =
      Send("POST", "/pki/ocsp", der, "Application/OCSP-Request; charset=binary");
  EXPECT_EQ(post.status, 200);
  EXPECT_EQ(post.content_type, "application/ocsp-response");
  EXPECT_EQ(OcspStatus(post), OCSP_RESPONSE_STATUS_SUCCESSFUL);
  // GET: base64, percent-encoded ('+', '/' and '=' escaped), as RFC 6960 A.1 has it …
  const rpc::Response get = Send("GET", "/pki/ocsp/" + rpc::PercentEncode(Base64(der)));
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.content_type, "application/ocsp-response");
  EXPECT_EQ(OcspStatus(get), OCSP_RESPONSE_STATUS_SUCCESSFUL);
  // … or with '/' left as it is.
  const rpc::Response raw = Send("GET", "/pki/ocsp/" + Base64(der));
  EXPECT_EQ(OcspStatus(raw), OCSP_RESPONSE_STATUS_SUCCESSFUL);
}

TEST_F(HttpEndpointsTest, AnOcspGetThatIsNotBase64IsMalformed) {
  for (const char* path :
       {"/pki/ocsp/", "/pki/ocsp/not*base64", "/pki/ocsp/%ZZ", "/pki/ocsp/QUJD"}) {
    const rpc::Response r = Send("GET", path);
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.content_type, "application/ocsp-response") << path;
    EXPECT_EQ(OcspStatus(r), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST) << path;
  }
}

TEST_F(HttpEndpointsTest, AnOcspPostOverTheBodyCapIsMalformed) {
  const rpc::Response r =
      Send("POST", "/pki/ocsp", OcspRequest() + std::string(600, '\0'), "application/ocsp-request");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(OcspStatus(r), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
}

TEST_F(HttpEndpointsTest, AnOcspPostOfAnotherMediaTypeIs415) {
  for (const char* type : {"", "application/x-www-form-urlencoded", "application/ocsp-response"}) {
    const rpc::Response r = Send("POST", "/pki/ocsp", OcspRequest(), type);
    EXPECT_EQ(r.status, 415) << type;
    EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
  }
}

TEST_F(HttpEndpointsTest, OtherMethodsAre405WithAllow) {
  struct Case {
    const char* method;
    const char* path;
    const char* allow;
  };
  for (const Case& c : {Case{"POST", "/pki/crl", "GET"}, Case{"PUT", "/pki/issuer.crt", "GET"},
                        Case{"GET", "/pki/ocsp", "POST"}, Case{"POST", "/pki/ocsp/QUJD", "GET"}}) {
    const rpc::Response r = Send(c.method, c.path, {}, "application/ocsp-request");
    EXPECT_EQ(r.status, 405) << c.method << " " << c.path;
    ASSERT_EQ(r.headers.size(), 1u);
    EXPECT_EQ(r.headers[0].first, "Allow");
    EXPECT_EQ(r.headers[0].second, c.allow);
  }
}

TEST_F(HttpEndpointsTest, AnotherPathUnderPkiIs404) {
  for (const char* path : {"/pki/", "/pki/crl.pem", "/pki/crl/", "/pki/ocspx"}) {
    const rpc::Response r = Send("GET", path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
  }
}

}  // namespace
}  // namespace certplan::revocation
