#include "pki/certificate_chain.h"

#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "pki/openssl_handles.h"

namespace certplan::pki {
namespace {

constexpr int64_t kNow = 1'800'000'000;
constexpr int64_t kDay = 86'400;

PkeyPtr EcKey(const char* curve = "P-256") { return PkeyPtr(EVP_EC_gen(curve)); }
PkeyPtr RsaKey(unsigned bits) { return PkeyPtr(EVP_RSA_gen(bits)); }

struct CertSpec {
  std::string cn;
  std::vector<std::string> sans;
  std::string org;
  int64_t not_before = kNow - kDay;
  int64_t not_after = kNow + 90 * kDay;
  bool ca = false;
  long serial = 0x1234;
};

// A certificate for `key` described by `spec`, issued by (issuer, issuer_key), or self-signed.
X509Ptr MakeCert(EVP_PKEY* key, const CertSpec& spec, X509* issuer = nullptr,
                 EVP_PKEY* issuer_key = nullptr) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), spec.serial);
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (!spec.org.empty()) {
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(spec.org.c_str()), -1, -1, 0);
  }
  if (!spec.cn.empty()) {
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1, -1, 0);
  }
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(spec.not_before));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(spec.not_after));
  X509_set_pubkey(cert.get(), key);
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  auto add = [&](int nid, const std::string& value) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  };
  add(NID_basic_constraints, spec.ca ? "critical,CA:TRUE" : "CA:FALSE");
  if (!spec.sans.empty()) {
    std::string text;
    for (const std::string& s : spec.sans) text += (text.empty() ? "DNS:" : ",DNS:") + s;
    add(NID_subject_alt_name, text);
  }
  X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256());
  return cert;
}

std::string KeyPem(EVP_PKEY* key) { return PrivateKeyPem(key); }

// A root, an intermediate and a leaf for www.example.com, all P-256.
class ChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_key_ = EcKey();
    inter_key_ = EcKey();
    leaf_key_ = EcKey();
    root_ = MakeCert(root_key_.get(), CertSpec{.cn = "Test Root", .org = "Test Org", .ca = true});
    inter_ = MakeCert(inter_key_.get(),
                      CertSpec{.cn = "Test Issuing CA", .org = "Test Issuer Org", .ca = true},
                      root_.get(), root_key_.get());
    leaf_ = MakeCert(
        leaf_key_.get(),
        CertSpec{
            .cn = "www.example.com", .sans = {"www.example.com", "example.com"}, .serial = 0x80ff},
        inter_.get(), inter_key_.get());
  }
  std::string Chain() {
    return CertificatePem(leaf_.get()) + CertificatePem(inter_.get()) + CertificatePem(root_.get());
  }
  PkeyPtr root_key_, inter_key_, leaf_key_;
  X509Ptr root_, inter_, leaf_;
};

TEST_F(ChainTest, ReadsFactsFromTheCertificate) {
  Result<CheckedUpload> up = CheckUpload(Chain(), KeyPem(leaf_key_.get()), kNow);
  ASSERT_TRUE(up) << up.error().message;
  const CertificateFacts& f = up->facts;
  EXPECT_EQ(f.common_name, "www.example.com");
  EXPECT_EQ(f.sans, (std::vector<std::string>{"www.example.com", "example.com"}));
  EXPECT_EQ(f.issuer, "Test Issuer Org");  // issuer O before CN
  EXPECT_EQ(f.not_before, kNow - kDay);
  EXPECT_EQ(f.not_after, kNow + 90 * kDay);
  EXPECT_EQ(f.algorithm, KeyAlgorithm::kEcc);
  EXPECT_EQ(f.key_bits, 256);
  EXPECT_EQ(f.serial, "0080ff");  // the DER INTEGER's leading 00 kept
  ASSERT_EQ(f.fingerprint.size(), 40u);
  ASSERT_EQ(f.sha256.size(), 64u);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest(leaf_.get(), EVP_sha256(), md, &n);
  char hex[3];
  std::snprintf(hex, sizeof hex, "%02X", md[0]);
  EXPECT_EQ(f.sha256.substr(0, 2), hex);
  ASSERT_EQ(f.chain.size(), 3u);
  EXPECT_EQ(f.chain[0].common_name, "www.example.com");
  EXPECT_EQ(f.chain[0].issuer_common_name, "Test Issuing CA");
  EXPECT_EQ(f.chain[2].issuer_common_name, "Test Root");
  EXPECT_EQ(up->chain_pem, Chain());
  EXPECT_NE(up->key_pem.find("BEGIN PRIVATE KEY"), std::string::npos);
}

TEST_F(ChainTest, AcceptsALeafAloneAndEveryUnencryptedKeyForm) {
  const std::string leaf = CertificatePem(leaf_.get());
  EXPECT_TRUE(CheckUpload(leaf, KeyPem(leaf_key_.get()), kNow));
  // SEC1 ("EC PRIVATE KEY"), with the EC PARAMETERS block `openssl ecparam -genkey` writes.
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey_traditional(bio.get(), leaf_key_.get(), nullptr, nullptr, 0, nullptr,
                                       nullptr);
  const std::string sec1 = BioText(bio.get());
  ASSERT_NE(sec1.find("EC PRIVATE KEY"), std::string::npos);
  EXPECT_TRUE(CheckUpload(leaf, sec1, kNow));
  EXPECT_TRUE(CheckUpload(
      leaf, "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n" + sec1,
      kNow));
  // PKCS#1 ("RSA PRIVATE KEY").
  PkeyPtr rsa = RsaKey(2048);
  X509Ptr rsa_leaf = MakeCert(rsa.get(), CertSpec{.cn = "rsa.example.com"});
  BioPtr rbio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey_traditional(rbio.get(), rsa.get(), nullptr, nullptr, 0, nullptr,
                                       nullptr);
  Result<CheckedUpload> up = CheckUpload(CertificatePem(rsa_leaf.get()), BioText(rbio.get()), kNow);
  ASSERT_TRUE(up) << up.error().message;
  EXPECT_EQ(up->facts.algorithm, KeyAlgorithm::kRsa);
  EXPECT_EQ(up->facts.key_bits, 2048);
  EXPECT_EQ(up->facts.issuer, "rsa.example.com");  // self-signed: issuer CN when no O
}

TEST_F(ChainTest, GarbageIsAFormatError) {
  for (const std::string& bad : std::vector<std::string>{
           "", "hello", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
           CertificatePem(leaf_.get()) + "trailing text", "junk" + CertificatePem(leaf_.get()),
           KeyPem(leaf_key_.get())}) {
    Result<CheckedUpload> up = CheckUpload(bad, KeyPem(leaf_key_.get()), kNow);
    ASSERT_FALSE(up) << bad;
    EXPECT_EQ(up.error().code, ErrorCode::kCertificateFormatError) << bad;
  }
}

TEST_F(ChainTest, UnreadableOrEncryptedKeyIsAKeyFormatError) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PKCS8PrivateKey(bio.get(), leaf_key_.get(), EVP_aes_256_cbc(), nullptr, 0, nullptr,
                                const_cast<char*>("secret"));
  const std::string encrypted = BioText(bio.get());
  BioPtr lbio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey_traditional(lbio.get(), leaf_key_.get(), EVP_aes_256_cbc(), nullptr, 0,
                                       nullptr, const_cast<char*>("secret"));
  const std::string legacy_encrypted = BioText(lbio.get());
  ASSERT_NE(legacy_encrypted.find("Proc-Type"), std::string::npos);
  for (const std::string& bad : std::vector<std::string>{
           "", "not a key", encrypted, legacy_encrypted, CertificatePem(leaf_.get()),
           std::string("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE "
                       "KEY-----\n")}) {
    Result<CheckedUpload> up = CheckUpload(Chain(), bad, kNow);
    ASSERT_FALSE(up) << bad;
    EXPECT_EQ(up.error().code, ErrorCode::kPrivateKeyFormatError) << bad;
  }
}

TEST_F(ChainTest, KeyOfAnotherCertificateIsAMismatch) {
  Result<CheckedUpload> up = CheckUpload(Chain(), KeyPem(inter_key_.get()), kNow);
  ASSERT_FALSE(up);
  EXPECT_EQ(up.error().code, ErrorCode::kCertificateKeyMismatch);
}

TEST_F(ChainTest, ChainOutOfOrderDoesNotMatch) {
  const std::string swapped =
      CertificatePem(leaf_.get()) + CertificatePem(root_.get()) + CertificatePem(inter_.get());
  Result<CheckedUpload> up = CheckUpload(swapped, KeyPem(leaf_key_.get()), kNow);
  ASSERT_FALSE(up);
  EXPECT_EQ(up.error().code, ErrorCode::kCertificateChainNotMatch);
  // Same subject names, another key: the names link, the signature does not.
  PkeyPtr other = EcKey();
  X509Ptr fake_inter = MakeCert(other.get(), CertSpec{.cn = "Test Issuing CA", .ca = true},
                                root_.get(), root_key_.get());
  up = CheckUpload(CertificatePem(leaf_.get()) + CertificatePem(fake_inter.get()),
                   KeyPem(leaf_key_.get()), kNow);
  ASSERT_FALSE(up);
  EXPECT_EQ(up.error().code, ErrorCode::kCertificateChainNotMatch);
}

TEST_F(ChainTest, ExpiredLeafIsRefused) {
  PkeyPtr key = EcKey();
  X509Ptr old = MakeCert(
      key.get(),
      CertSpec{.cn = "old.example.com", .not_before = kNow - 100 * kDay, .not_after = kNow - kDay});
  Result<CheckedUpload> up = CheckUpload(CertificatePem(old.get()), KeyPem(key.get()), kNow);
  ASSERT_FALSE(up);
  EXPECT_EQ(up.error().code, ErrorCode::kCertificateExpired);
}

TEST_F(ChainTest, WeakOrUnsupportedKeysAreRefused) {
  PkeyPtr small = RsaKey(1024);
  X509Ptr small_cert = MakeCert(small.get(), CertSpec{.cn = "small.example.com"});
  Result<CheckedUpload> up =
      CheckUpload(CertificatePem(small_cert.get()), KeyPem(small.get()), kNow);
  ASSERT_FALSE(up);
  EXPECT_EQ(up.error().code, ErrorCode::kCertificateAlgorithmNotSupported);

  PkeyPtr k1 = EcKey("secp256k1");
  X509Ptr k1_cert = MakeCert(k1.get(), CertSpec{.cn = "k1.example.com"});
  up = CheckUpload(CertificatePem(k1_cert.get()), KeyPem(k1.get()), kNow);
  ASSERT_FALSE(up);
  EXPECT_EQ(up.error().code, ErrorCode::kCertificateAlgorithmNotSupported);

  PkeyPtr ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  X509Ptr ed_cert(X509_new());
  X509_set_version(ed_cert.get(), 2);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(ed_cert.get()), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("ed.example.com"), -1, -1, 0);
  X509_set_issuer_name(ed_cert.get(), X509_get_subject_name(ed_cert.get()));
  ASN1_TIME_set(X509_getm_notBefore(ed_cert.get()), kNow - kDay);
  ASN1_TIME_set(X509_getm_notAfter(ed_cert.get()), kNow + kDay);
  X509_set_pubkey(ed_cert.get(), ed.get());
  X509_sign(ed_cert.get(), ed.get(), nullptr);
  up = CheckUpload(CertificatePem(ed_cert.get()), KeyPem(ed.get()), kNow);
  ASSERT_FALSE(up);
  EXPECT_EQ(up.error().code, ErrorCode::kCertificateAlgorithmNotSupported);
}

TEST_F(ChainTest, P384IsEccAndSubjectFieldsAreRead) {
  PkeyPtr key = EcKey("P-384");
  X509Ptr cert = MakeCert(key.get(), CertSpec{.cn = "p384.example.com", .org = "Example Ltd"});
  Result<ReadChainResult> read = ReadChain(CertificatePem(cert.get()));
  ASSERT_TRUE(read);
  EXPECT_EQ(read->facts.algorithm, KeyAlgorithm::kEcc);
  EXPECT_EQ(read->facts.key_bits, 384);
  EXPECT_EQ(read->facts.org_name, "Example Ltd");
  EXPECT_TRUE(read->facts.sans.empty());
}

}  // namespace
}  // namespace certplan::pki

namespace certplan::pki {
namespace {

TEST(ChainLimits, MoreThanTenCertificatesIsAFormatError) {
  PkeyPtr key = EcKey();
  const std::string one =
      CertificatePem(MakeCert(key.get(), CertSpec{.cn = "a.example.com"}).get());
  std::string eleven;
  for (int i = 0; i < 11; ++i) eleven += one;
  Result<ReadChainResult> read = ReadChain(eleven);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, ErrorCode::kCertificateFormatError);
  std::string ten;
  for (int i = 0; i < 10; ++i) ten += one;
  EXPECT_TRUE(ReadChain(ten));
}

TEST(ChainLimits, ADnsNameThatIsNotAHostNameIsAFormatError) {
  for (const std::string& bad : {std::string("c,d.example"), std::string("a\0b.example", 11),
                                 std::string("sp ace.example")}) {
    PkeyPtr key = EcKey();
    X509Ptr cert = MakeCert(key.get(), CertSpec{.cn = "x.example.com"});
    GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
    GENERAL_NAME* gn = GENERAL_NAME_new();
    ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
    ASN1_STRING_set(ia5, bad.data(), static_cast<int>(bad.size()));
    GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
    sk_GENERAL_NAME_push(names.get(), gn);
    X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT);
    X509_sign(cert.get(), key.get(), EVP_sha256());
    Result<ReadChainResult> read = ReadChain(CertificatePem(cert.get()));
    ASSERT_FALSE(read) << bad;
    EXPECT_EQ(read.error().code, ErrorCode::kCertificateFormatError);
  }
}

}  // namespace
}  // namespace certplan::pki
