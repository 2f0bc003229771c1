// Google Benchmark microbenchmarks of the hot paths, each beside the floor it cannot beat:
//   signature V3 verification  vs  the HMAC-SHA256 + SHA-256 it must compute;
//   parameter decoding         vs  copying the query string;
//   policy evaluation          vs  one wildcard match;
//   CSR check + leaf signing   vs  one ECDSA P-256 verification plus one signature.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "auth/canonical_request.h"
#include "auth/crypto.h"
#include "auth/signed_request.h"
#include "iam/policy.h"
#include "iam/system_policies.h"
#include "pki/builtin_ca.h"
#include "pki/openssl_handles.h"
#include "rpc/params.h"

namespace certplan {
namespace {

constexpr const char* kEmpty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

rpc::Request V3Request() {
  rpc::Request r;
  r.method = "POST";
  r.path = "/";
  r.query = "ProductCode=digicert-free-1-free";
  r.headers = {{"host", "cas.aliyuncs.com"},
               {"x-acs-action", "DescribePackageState"},
               {"x-acs-content-sha256", kEmpty},
               {"x-acs-credentials-provider", "static_ak"},
               {"x-acs-date", "2026-01-15T08:30:00Z"},
               {"x-acs-signature-nonce", "5c2a8f0e6b3d4a1f9e7c0b8d2a6f4e13"},
               {"x-acs-version", "2020-04-07"},
               {"authorization",
                "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=host;x-acs-action;x-acs-content-"
                "sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,"
                "Signature=b4da7c9a44ff09409129003533f1a5cf9c9613a9b76ca52e0b4a135e2ceb4f61"}};
  return r;
}

void BM_SignatureV3Verify(benchmark::State& state) {
  const rpc::Request req = V3Request();
  for (auto _ : state) {
    Result<rpc::Params> params = rpc::Params::Decode(req.query, "");
    Result<auth::SignedRequest> claim = auth::ParseSignedRequest(req, *params);
    Status ok = auth::VerifySignature(*claim, req, *params, "testsecret");
    if (!ok) state.SkipWithError("signature did not verify");
  }
}
BENCHMARK(BM_SignatureV3Verify);

void BM_Floor_Sha256AndHmac(benchmark::State& state) {
  const std::string canonical(480, 'x');
  for (auto _ : state) {
    std::string sts = "ACS3-HMAC-SHA256\n" + auth::HexDigest(auth::Digest::kSha256, canonical);
    benchmark::DoNotOptimize(auth::HexHmac(auth::Digest::kSha256, "testsecret", sts));
    benchmark::DoNotOptimize(auth::HexDigest(auth::Digest::kSha256, ""));
  }
}
BENCHMARK(BM_Floor_Sha256AndHmac);

void BM_SignatureV1Verify(benchmark::State& state) {
  rpc::Request req;
  req.method = "GET";
  req.path = "/";
  req.query =
      "AccessKeyId=testid&Action=DescribeCertificateState&Format=JSON&OrderId=123451222&"
      "SecurityToken=STS.TestToken%2Fabc%2B%3D&SignatureMethod=HMAC-SHA1&SignatureNonce="
      "5c2a8f0e6b3d4a1f9e7c0b8d2a6f4e13&SignatureVersion=1.0&Timestamp=2026-01-15T08%3A30%3A00Z&"
      "Version=2020-04-07&Signature=%2BkmULI75Idt6SgVMxUEaKf%2B7adE%3D";
  for (auto _ : state) {
    Result<rpc::Params> params = rpc::Params::Decode(req.query, "");
    Result<auth::SignedRequest> claim = auth::ParseSignedRequest(req, *params);
    if (!auth::VerifySignature(*claim, req, *params, "testsecret"))
      state.SkipWithError("V1 failed");
  }
}
BENCHMARK(BM_SignatureV1Verify);

const char* kCreateQuery =
    "Domain=%2A.example.com&ProductCode=geotrust-dv-w-starter&Tags.1.Key=k%201&Tags.1.Value=v%2A~"
    "%2B%2F%C3%A9%21%27%28%29&Username=%E5%BC%A0%E4%B8%89&ValidateType=DNS&Email=a%40b.c&Phone=1";

void BM_ParamDecode(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(rpc::Params::Decode(kCreateQuery, ""));
}
BENCHMARK(BM_ParamDecode);

void BM_Floor_CopyQuery(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(std::string(kCreateQuery));
}
BENCHMARK(BM_Floor_CopyQuery);

void BM_PolicyEvaluate(benchmark::State& state) {
  iam::Policy full = *iam::Policy::Parse(iam::SystemPolicyDocument(iam::kFullAccessPolicyName));
  iam::Policy cond = *iam::Policy::Parse(
      R"({"Version":"1","Statement":[{"Effect":"Deny","Action":"yundun-cert:Delete*","Resource":"*"},
      {"Effect":"Allow","Action":["yundun-cert:Describe*","yundun-cert:Create*"],"Resource":"*",
       "Condition":{"IpAddress":{"acs:SourceIp":["10.0.0.0/8","127.0.0.1/32"]},
                    "DateLessThan":{"acs:CurrentTime":"2030-01-01T00:00:00Z"}}}]})");
  const iam::RequestFacts facts{"yundun-cert:CreateCertificateRequest", "acs:yundun-cert:*:42:*",
                                "127.0.0.1", false, 1'800'000'000};
  for (auto _ : state) benchmark::DoNotOptimize(iam::Evaluate({&cond, &full}, facts));
}
BENCHMARK(BM_PolicyEvaluate);

void BM_Floor_WildcardMatch(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        iam::WildcardMatch("yundun-cert:Create*", "yundun-cert:CreateCertificateRequest", true));
  }
}
BENCHMARK(BM_Floor_WildcardMatch);

struct CaFixture {
  std::string dir;
  std::unique_ptr<pki::BuiltinCa> ca;
  std::string csr;
  CaFixture() {
    char tmpl[] = "/tmp/certplan-bench-XXXXXX";
    dir = ::mkdtemp(tmpl);
    ca = std::move(*pki::BuiltinCa::Open(pki::CaFiles{dir + "/ca"}, 1'800'000'000));
    pki::PkeyPtr key(EVP_EC_gen("P-256"));
    pki::X509ReqPtr req(X509_REQ_new());
    X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req.get()), "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>("www.example.com"), -1, -1,
                               0);
    X509_REQ_set_pubkey(req.get(), key.get());
    X509_REQ_sign(req.get(), key.get(), EVP_sha256());
    pki::BioPtr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_X509_REQ(bio.get(), req.get());
    csr = pki::BioText(bio.get());
  }
};

void BM_CsrCheckAndSign(benchmark::State& state) {
  static CaFixture f;
  for (auto _ : state) {
    Result<pki::CsrFacts> facts = f.ca->InspectCsr(f.csr);
    pki::IssueRequest req{
        f.csr, "", {facts->common_name}, "", 1'800'000'000, 1'800'000'000 + 86400};
    if (!f.ca->Issue(req)) state.SkipWithError("issue failed");
  }
}
BENCHMARK(BM_CsrCheckAndSign);

void BM_Floor_EcdsaP256Sign(benchmark::State& state) {
  pki::PkeyPtr key(EVP_EC_gen("P-256"));
  const std::string data(300, 'd');
  for (auto _ : state) {
    std::unique_ptr<EVP_MD_CTX, FreeWith<&EVP_MD_CTX_free>> ctx(EVP_MD_CTX_new());
    unsigned char sig[128];
    size_t len = sizeof sig;
    EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get());
    EVP_DigestSign(ctx.get(), sig, &len, reinterpret_cast<const unsigned char*>(data.data()),
                   data.size());
    benchmark::DoNotOptimize(len);
  }
}
BENCHMARK(BM_Floor_EcdsaP256Sign);

// The two public-key operations a CSR-to-certificate path cannot avoid: verifying the request's
// P-256 signature and signing the certificate, through OpenSSL's EVP interface with the keys
// already decoded.
void BM_Floor_EcdsaP256VerifyAndSign(benchmark::State& state) {
  pki::PkeyPtr subject(EVP_EC_gen("P-256"));
  pki::PkeyPtr issuer(EVP_EC_gen("P-256"));
  const std::string data(300, 'd');
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  unsigned char request_sig[128];
  size_t request_len = sizeof request_sig;
  {
    std::unique_ptr<EVP_MD_CTX, FreeWith<&EVP_MD_CTX_free>> ctx(EVP_MD_CTX_new());
    EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, subject.get());
    EVP_DigestSign(ctx.get(), request_sig, &request_len, bytes, data.size());
  }
  for (auto _ : state) {
    std::unique_ptr<EVP_MD_CTX, FreeWith<&EVP_MD_CTX_free>> verify(EVP_MD_CTX_new());
    EVP_DigestVerifyInit(verify.get(), nullptr, EVP_sha256(), nullptr, subject.get());
    if (EVP_DigestVerify(verify.get(), request_sig, request_len, bytes, data.size()) != 1) {
      state.SkipWithError("verify failed");
    }
    std::unique_ptr<EVP_MD_CTX, FreeWith<&EVP_MD_CTX_free>> sign(EVP_MD_CTX_new());
    unsigned char sig[128];
    size_t len = sizeof sig;
    EVP_DigestSignInit(sign.get(), nullptr, EVP_sha256(), nullptr, issuer.get());
    EVP_DigestSign(sign.get(), sig, &len, bytes, data.size());
    benchmark::DoNotOptimize(len);
  }
}
BENCHMARK(BM_Floor_EcdsaP256VerifyAndSign);

}  // namespace
}  // namespace certplan

BENCHMARK_MAIN();
