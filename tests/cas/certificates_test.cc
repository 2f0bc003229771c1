// cas::Certificates' cap on uploads per account, over a real SQLite store and real OpenSSL
// certificates: past the cap an upload is refused with kCertificateOverQuota (wire
// Certificate.OverQuota, 403) and nothing is stored; a deletion frees a slot; the upload's own
// checks come first.
#include "cas/certificates.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "pki/openssl_handles.h"
#include "rpc/errors.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/audit_for_test.h"
#include "testing/temp_dir.h"

namespace certplan::cas {
namespace {

constexpr int64_t kNow = 1'800'000'000;
constexpr int64_t kAccount = 7;
constexpr int64_t kCap = 2;

// A self-signed P-256 leaf for `name` and its key, valid around kNow.
cas::Upload SelfSigned(const std::string& name) {
  pki::PkeyPtr key(EVP_EC_gen("P-256"));
  pki::X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 7);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("www.example.com"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(kNow - 86'400));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(kNow + 90 * 86'400));
  X509_set_pubkey(cert.get(), key.get());
  X509_EXTENSION* ext =
      X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, "DNS:www.example.com");
  X509_add_ext(cert.get(), ext, -1);
  X509_EXTENSION_free(ext);
  X509_sign(cert.get(), key.get(), EVP_sha256());
  cas::Upload upload;
  upload.name = name;
  upload.cert_pem = pki::CertificatePem(cert.get());
  upload.key_pem = pki::PrivateKeyPem(key.get());
  return upload;
}

class CertificatesCapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(*store::sqlite::SqliteStore::Open(dir_.File("db")));
    ASSERT_TRUE(store_->CreateAccount(kAccount, "acct", 0, testing::TestRecord()));
    box_ = std::move(*pki::SecretBox::Create(std::string(32, 'k')));
    certificates_ = std::make_unique<Certificates>(*store_, *store_, *box_, clock_, kCap);
  }
  int64_t Held() {
    CertificateQuery all;
    Result<CertificatePage> page = certificates_->List(kAccount, all);
    EXPECT_TRUE(page);
    return page ? page->total : -1;
  }

  testing::TempDir dir_;
  FakeClock clock_{kNow};
  std::unique_ptr<store::sqlite::SqliteStore> store_;
  std::unique_ptr<pki::SecretBox> box_;
  std::unique_ptr<Certificates> certificates_;
};

TEST_F(CertificatesCapTest, AnUploadPastTheCapIsRefusedWithCertificateOverQuota) {
  Result<Certificate> first =
      certificates_->Upload(kAccount, SelfSigned("a"), testing::TestActor());
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_TRUE(certificates_->Upload(kAccount, SelfSigned("b"), testing::TestActor()));
  Result<Certificate> over = certificates_->Upload(kAccount, SelfSigned("c"), testing::TestActor());
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, ErrorCode::kCertificateOverQuota);
  EXPECT_NE(over.error().message.find("quota of 2"), std::string::npos) << over.error().message;
  const rpc::WireError wire = rpc::ToWire(over.error().code);
  EXPECT_EQ(wire.status, 403);
  EXPECT_EQ(wire.code, "Certificate.OverQuota");
  EXPECT_EQ(Held(), kCap);  // nothing stored

  // The upload's own checks come first: a bad name or certificate keeps its code at the cap.
  cas::Upload bad = SelfSigned("d");
  bad.cert_pem = "not a certificate";
  Result<Certificate> refused = certificates_->Upload(kAccount, bad, testing::TestActor());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kCertificateFormatError);
  refused = certificates_->Upload(kAccount, SelfSigned(""), testing::TestActor());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kMissingParameter);

  // Deleting an upload frees its slot, for one upload.
  ASSERT_TRUE(certificates_->Delete(kAccount, first->id, testing::TestActor()));
  EXPECT_TRUE(certificates_->Upload(kAccount, SelfSigned("c"), testing::TestActor()));
  over = certificates_->Upload(kAccount, SelfSigned("e"), testing::TestActor());
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, ErrorCode::kCertificateOverQuota);
  EXPECT_EQ(Held(), kCap);
}

}  // namespace
}  // namespace certplan::cas
