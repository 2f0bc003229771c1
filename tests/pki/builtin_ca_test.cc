#include "pki/builtin_ca.h"

#include <sys/stat.h>

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "pki/openssl_handles.h"
#include "testing/temp_dir.h"

namespace certplan::pki {
namespace {

constexpr int64_t kNow = 1'800'000'000;

// A PEM CSR for `cn` (empty: none) with `key`.
std::string MakeCsr(EVP_PKEY* key, const std::string& cn,
                    const std::vector<std::string>& sans = {}) {
  X509ReqPtr req(X509_REQ_new());
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  const std::string subject = cn.empty() ? "No CN Ltd" : cn;
  X509_NAME_add_entry_by_txt(name, cn.empty() ? "O" : "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(subject.data()), -1, -1, 0);
  if (!sans.empty()) {
    std::string text;
    for (const std::string& s : sans) text += (text.empty() ? "DNS:" : ",DNS:") + s;
    ExtensionsPtr exts(sk_X509_EXTENSION_new_null());
    sk_X509_EXTENSION_push(
        exts.get(), X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, text.c_str()));
    X509_REQ_add_extensions(req.get(), exts.get());
  }
  X509_REQ_set_pubkey(req.get(), key);
  X509_REQ_sign(req.get(), key, EVP_sha256());
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(bio.get(), req.get());
  return BioText(bio.get());
}

class BuiltinCaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<BuiltinCa>> ca = BuiltinCa::Open(CaFiles{dir_.File("ca")}, kNow);
    ASSERT_TRUE(ca) << ca.error().detail;
    ca_ = std::move(*ca);
  }
  testing::TempDir dir_;
  std::unique_ptr<BuiltinCa> ca_;
};

TEST_F(BuiltinCaTest, KeysAreWrittenOwnerOnlyAndReloaded) {
  for (const char* f : {"/ca/root.key", "/ca/issuing.key"}) {
    struct stat st {};
    ASSERT_EQ(::stat((dir_.path() + f).c_str(), &st), 0) << f;
    EXPECT_EQ(st.st_mode & 0777, 0600) << f;
  }
  Result<std::unique_ptr<BuiltinCa>> again = BuiltinCa::Open(CaFiles{dir_.File("ca")}, kNow);
  ASSERT_TRUE(again);
  EXPECT_EQ((*again)->root_pem(), ca_->root_pem());
}

TEST_F(BuiltinCaTest, IssuesALeafThatVerifiesWithTheRightExtensions) {
  PkeyPtr key(EVP_EC_gen("P-256"));
  IssueRequest req;
  req.csr_pem = MakeCsr(key.get(), "www.example.com");
  req.domains = {"www.example.com", "example.com"};
  req.not_before = kNow;
  req.not_after = kNow + 90 * 86400;
  Result<IssuedCertificate> issued = ca_->Issue(req);
  ASSERT_TRUE(issued) << issued.error().detail;
  Result<X509Ptr> leaf = ParseCertificatePem(issued->certificate_pem);
  Result<X509Ptr> issuing = ParseCertificatePem(issued->chain_pem);
  Result<X509Ptr> root = ParseCertificatePem(ca_->root_pem());
  ASSERT_TRUE(leaf && issuing && root);
  EXPECT_EQ(X509_verify(leaf->get(), X509_get0_pubkey(issuing->get())), 1);
  EXPECT_EQ(X509_verify(issuing->get(), X509_get0_pubkey(root->get())), 1);
  EXPECT_EQ(X509_check_host(leaf->get(), "example.com", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(leaf->get(), "other.example.com", 0, 0, nullptr), 0);
  EXPECT_EQ(X509_get_extended_key_usage(leaf->get()), static_cast<uint32_t>(XKU_SSL_SERVER));
  EXPECT_EQ(X509_get_key_usage(leaf->get()), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));  // EC
  EXPECT_NE(X509_get0_subject_key_id(leaf->get()), nullptr);
  EXPECT_NE(X509_get0_authority_key_id(leaf->get()), nullptr);
  EXPECT_EQ(ASN1_STRING_cmp(X509_get0_authority_key_id(leaf->get()),
                            X509_get0_subject_key_id(issuing->get())),
            0);
  EXPECT_EQ(X509_check_ca(leaf->get()), 0);
  EXPECT_GE(issued->serial_hex.size(), 31u);
  EXPECT_EQ(X509_cmp_time(X509_get0_notAfter(leaf->get()), nullptr) > 0, true);
}

TEST_F(BuiltinCaTest, SerialsAreRandom) {
  PkeyPtr key(EVP_EC_gen("P-256"));
  IssueRequest req{
      MakeCsr(key.get(), "a.example.com"), "", {"a.example.com"}, "", kNow, kNow + 86400};
  EXPECT_NE(ca_->Issue(req)->serial_hex, ca_->Issue(req)->serial_hex);
}

TEST_F(BuiltinCaTest, GeneratedKeyCanBeCertified) {
  Result<GeneratedKey> key = ca_->GenerateKey();
  ASSERT_TRUE(key);
  EXPECT_NE(key->private_key_pem.find("BEGIN PRIVATE KEY"), std::string::npos);
  IssueRequest req{"", key->public_key_pem, {"gen.example.com"}, "Example Ltd", kNow, kNow + 86400};
  Result<IssuedCertificate> issued = ca_->Issue(req);
  ASSERT_TRUE(issued);
  Result<X509Ptr> leaf = ParseCertificatePem(issued->certificate_pem);
  Result<PkeyPtr> priv = ParsePrivateKeyPem(key->private_key_pem);
  EXPECT_EQ(X509_check_private_key(leaf->get(), priv->get()), 1);
  EXPECT_EQ(X509_get_key_usage(leaf->get()),  // RSA keys may also encipher
            static_cast<uint32_t>(KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT));
}

TEST_F(BuiltinCaTest, CsrChecks) {
  PkeyPtr ec(EVP_EC_gen("P-384"));
  Result<CsrFacts> facts =
      ca_->InspectCsr(MakeCsr(ec.get(), "x.example.com", {"x.example.com", "y.example.com"}));
  ASSERT_TRUE(facts);
  EXPECT_EQ(facts->common_name, "x.example.com");
  EXPECT_EQ(facts->dns_names, (std::vector<std::string>{"x.example.com", "y.example.com"}));

  PkeyPtr weak(EVP_RSA_gen(1024));
  PkeyPtr p521(EVP_EC_gen("P-521"));
  std::string tampered = MakeCsr(ec.get(), "t.example.com");
  tampered[tampered.size() - 40] = tampered[tampered.size() - 40] == 'A' ? 'B' : 'A';
  for (const std::string& bad :
       {MakeCsr(weak.get(), "w.example.com"), MakeCsr(p521.get(), "p.example.com"),
        MakeCsr(ec.get(), ""), tampered, std::string("garbage")}) {
    Result<CsrFacts> r = ca_->InspectCsr(bad);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kCreateCertificateRequestFailed) << r.error().message;
  }
}

TEST(BuiltinCaFiles, OperatorFilesMustMatch) {
  testing::TempDir a, b;
  ASSERT_TRUE(BuiltinCa::Open(CaFiles{a.File("ca")}, kNow));
  ASSERT_TRUE(BuiltinCa::Open(CaFiles{b.File("ca")}, kNow));
  CaFiles mixed{a.File("x"), a.File("ca/root.pem"), a.File("ca/issuing.pem"),
                b.File("ca/issuing.key")};
  Result<std::unique_ptr<BuiltinCa>> r = BuiltinCa::Open(mixed, kNow);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
  CaFiles own{a.File("x"), a.File("ca/root.pem"), a.File("ca/issuing.pem"),
              a.File("ca/issuing.key")};
  EXPECT_TRUE(BuiltinCa::Open(own, kNow));
}

}  // namespace
}  // namespace certplan::pki
