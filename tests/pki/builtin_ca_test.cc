#include "pki/builtin_ca.h"

#include <sys/stat.h>

#include <cstdio>

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
  // A UTF8String as it is: the MBSTRING_* forms would refuse a CN over X.509's 64 characters,
  // which clients do send.
  X509_NAME_add_entry_by_NID(name, cn.empty() ? NID_organizationName : NID_commonName,
                             V_ASN1_UTF8STRING,
                             reinterpret_cast<const unsigned char*>(subject.data()),
                             static_cast<int>(subject.size()), -1, 0);
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

// 0x01, notBefore in seconds (40 bits), 80 random bits: 32 hex digits, later certificates sort
// after earlier ones, and two of the same second still differ.
TEST_F(BuiltinCaTest, SerialsSortByNotBeforeAndKeepEightyRandomBits) {
  PkeyPtr key(EVP_EC_gen("P-256"));
  const std::string csr = MakeCsr(key.get(), "a.example.com");
  IssueRequest early{csr, "", {"a.example.com"}, "", kNow, kNow + 86400};
  IssueRequest later{csr, "", {"a.example.com"}, "", kNow + 1, kNow + 86401};
  const std::string a = ca_->Issue(early)->serial_hex, b = ca_->Issue(early)->serial_hex;
  const std::string c = ca_->Issue(later)->serial_hex;
  ASSERT_EQ(a.size(), 32u);
  ASSERT_EQ(c.size(), 32u);
  char prefix[16];
  std::snprintf(prefix, sizeof prefix, "01%010llX", static_cast<unsigned long long>(kNow));
  EXPECT_EQ(a.substr(0, 12), prefix);
  EXPECT_EQ(b.substr(0, 12), prefix);
  EXPECT_NE(a.substr(12), b.substr(12));
  EXPECT_LT(a, c);
  EXPECT_LT(b, c);
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

// The facts Issue hands back (read off the certificate it built, the key's kind from its
// SubjectPublicKeyInfo) are exactly what ReadChain reads off the PEM it returns, and that PEM is
// already canonical.
TEST_F(BuiltinCaTest, IssuedFactsAreWhatReadChainReadsOffThePem) {
  auto expect_same = [](const IssuedCertificate& issued) {
    ASSERT_TRUE(issued.facts);
    const std::string pem = issued.certificate_pem + issued.chain_pem;
    Result<ReadChainResult> read = ReadChain(pem);
    ASSERT_TRUE(read) << read.error().message;
    EXPECT_EQ(read->chain_pem, pem);
    const CertificateFacts& a = *issued.facts;
    const CertificateFacts& b = read->facts;
    EXPECT_EQ(a.common_name, b.common_name);
    EXPECT_EQ(a.sans, b.sans);
    EXPECT_EQ(a.issuer, b.issuer);
    EXPECT_EQ(a.org_name, b.org_name);
    EXPECT_EQ(a.province, b.province);
    EXPECT_EQ(a.city, b.city);
    EXPECT_EQ(a.country, b.country);
    EXPECT_EQ(a.not_before, b.not_before);
    EXPECT_EQ(a.not_after, b.not_after);
    EXPECT_EQ(a.fingerprint, b.fingerprint);
    EXPECT_EQ(a.sha256, b.sha256);
    EXPECT_EQ(a.serial, b.serial);
    EXPECT_EQ(a.algorithm, b.algorithm);
    EXPECT_EQ(a.key_bits, b.key_bits);
    ASSERT_EQ(a.chain.size(), b.chain.size());
    ASSERT_EQ(a.chain.size(), 2u);
    for (size_t i = 0; i < a.chain.size(); ++i) {
      EXPECT_EQ(a.chain[i].common_name, b.chain[i].common_name);
      EXPECT_EQ(a.chain[i].issuer_common_name, b.chain[i].issuer_common_name);
      EXPECT_EQ(a.chain[i].not_before, b.chain[i].not_before);
      EXPECT_EQ(a.chain[i].not_after, b.chain[i].not_after);
    }
  };
  for (const char* curve : {"P-256", "P-384"}) {
    PkeyPtr key(EVP_EC_gen(curve));
    IssueRequest req{MakeCsr(key.get(), "www.example.com"),
                     "",
                     {"www.example.com", "example.com"},
                     "Example Ltd",
                     kNow,
                     kNow + 90 * 86400};
    Result<IssuedCertificate> issued = ca_->Issue(req);
    ASSERT_TRUE(issued) << issued.error().detail;
    expect_same(*issued);
    EXPECT_EQ(issued->facts->key_bits, std::string_view(curve) == "P-256" ? 256 : 384);
  }
  Result<GeneratedKey> rsa = ca_->GenerateKey();
  ASSERT_TRUE(rsa);
  Result<IssuedCertificate> issued = ca_->Issue(
      IssueRequest{"", rsa->public_key_pem, {"gen.example.com"}, "", kNow, kNow + 86400});
  ASSERT_TRUE(issued);
  expect_same(*issued);
  EXPECT_EQ(issued->facts->algorithm, KeyAlgorithm::kRsa);
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

// Issue #12, fault 6: X.509 caps CN and O at 64 characters, and the CA refused valid longer
// names after the order was accepted. A name over 64 goes in the SAN only; the CN is the first
// name that fits, or absent (then the SAN is critical); O is the CompanyName's first 64
// characters, cut at a UTF-8 boundary.
std::string Label(char c, size_t n) { return std::string(n, c); }

std::string LongName(size_t length) {  // a valid host name of exactly `length` characters
  std::string name;
  while (length - name.size() > 67) name += Label('a', 63) + ".";
  name += Label('b', length - name.size() - 4) + ".com";
  return name;
}

std::string SubjectEntry(X509* cert, int nid) {
  X509_NAME* name = X509_get_subject_name(cert);
  const int i = X509_NAME_get_index_by_NID(name, nid, -1);
  if (i < 0) return "<absent>";
  unsigned char* utf8 = nullptr;
  const int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

bool SanIsCritical(X509* cert) {
  const int i = X509_get_ext_by_NID(cert, NID_subject_alt_name, -1);
  return i >= 0 && X509_EXTENSION_get_critical(X509_get_ext(cert, i)) == 1;
}

TEST(SubjectNames, CommonNameIsTheFirstNameThatFits) {
  const std::string n249 = LongName(249), n64 = LongName(64), n65 = LongName(65);
  ASSERT_EQ(n249.size(), 249u);
  EXPECT_EQ(CommonNameFor({n249, "short.example.com"}), "short.example.com");
  EXPECT_EQ(CommonNameFor({n64}), n64);
  EXPECT_EQ(CommonNameFor({n65}), "");
  EXPECT_EQ(CommonNameFor({n249, n65}), "");
}

TEST(SubjectNames, OrganizationIsCutAt64CharactersOnAUtf8Boundary) {
  EXPECT_EQ(OrganizationFor("Example Ltd"), "Example Ltd");
  EXPECT_EQ(OrganizationFor(std::string(300, 'C')), std::string(64, 'C'));
  std::string umlauts;  // "ä" is two bytes: 70 characters, 140 bytes
  for (int i = 0; i < 70; ++i) umlauts += "\xc3\xa4";
  EXPECT_EQ(OrganizationFor(umlauts), umlauts.substr(0, 128));
  EXPECT_EQ(OrganizationFor("x" + umlauts).size(), 1u + 63 * 2);
}

TEST_F(BuiltinCaTest, A249CharacterNameIsIssuedInTheSanOnly) {
  Result<GeneratedKey> key = ca_->GenerateKey();
  ASSERT_TRUE(key);
  const std::string name = LongName(249);
  IssueRequest req{"", key->public_key_pem, {name}, "", kNow, kNow + 86400};
  Result<IssuedCertificate> issued = ca_->Issue(req);
  ASSERT_TRUE(issued) << issued.error().message << " " << issued.error().detail;
  Result<X509Ptr> leaf = ParseCertificatePem(issued->certificate_pem);
  ASSERT_TRUE(leaf);
  EXPECT_EQ(SubjectEntry(leaf->get(), NID_commonName), "<absent>");
  EXPECT_TRUE(SanIsCritical(leaf->get()));  // the subject is empty
  EXPECT_EQ(X509_check_host(leaf->get(), name.data(), name.size(), 0, nullptr), 1);
  // With a second, short name, that one is the CN and the SAN is not critical.
  req.domains = {name, "short.example.com"};
  issued = ca_->Issue(req);
  ASSERT_TRUE(issued);
  leaf = ParseCertificatePem(issued->certificate_pem);
  EXPECT_EQ(SubjectEntry(leaf->get(), NID_commonName), "short.example.com");
  EXPECT_FALSE(SanIsCritical(leaf->get()));
  EXPECT_EQ(X509_check_host(leaf->get(), name.data(), name.size(), 0, nullptr), 1);
}

TEST_F(BuiltinCaTest, ACsrWithA75CharacterCnIsIssued) {
  PkeyPtr key(EVP_EC_gen("P-256"));
  const std::string cn = LongName(75);
  const std::string csr = MakeCsr(key.get(), cn);
  Result<CsrFacts> facts = ca_->InspectCsr(csr);
  ASSERT_TRUE(facts);
  EXPECT_EQ(facts->common_name, cn);
  Result<IssuedCertificate> issued =
      ca_->Issue(IssueRequest{csr, "", {cn}, "", kNow, kNow + 86400});
  ASSERT_TRUE(issued) << issued.error().message << " " << issued.error().detail;
  Result<X509Ptr> leaf = ParseCertificatePem(issued->certificate_pem);
  EXPECT_EQ(SubjectEntry(leaf->get(), NID_commonName), "<absent>");
  EXPECT_EQ(X509_check_host(leaf->get(), cn.data(), cn.size(), 0, nullptr), 1);
}

TEST_F(BuiltinCaTest, A300CharacterCompanyNameIsTruncatedTo64) {
  Result<GeneratedKey> key = ca_->GenerateKey();
  ASSERT_TRUE(key);
  const std::string company = std::string(290, 'C') + " Ltd.12345";
  ASSERT_EQ(company.size(), 300u);
  Result<IssuedCertificate> issued = ca_->Issue(
      IssueRequest{"", key->public_key_pem, {"ov.example.com"}, company, kNow, kNow + 86400});
  ASSERT_TRUE(issued) << issued.error().message << " " << issued.error().detail;
  Result<X509Ptr> leaf = ParseCertificatePem(issued->certificate_pem);
  EXPECT_EQ(SubjectEntry(leaf->get(), NID_organizationName), std::string(64, 'C'));
  EXPECT_EQ(SubjectEntry(leaf->get(), NID_commonName), "ov.example.com");
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
