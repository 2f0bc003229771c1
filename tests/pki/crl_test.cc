// CRLs of the built-in CA (RFC 5280 §5), parsed and verified with OpenSSL; and the revocation
// pointers its leaves carry.
#include "pki/crl.h"

#include <cstdio>
#include <map>

#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include "pki/builtin_ca.h"
#include "pki/certificate_builder.h"
#include "pki/openssl_handles.h"
#include "testing/temp_dir.h"

namespace certplan::pki {
namespace {

constexpr int64_t kNow = 1'800'000'000;
constexpr int64_t kDay = 86'400;

X509CrlPtr ParseCrl(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  return X509CrlPtr(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
}

const X509_REVOKED* Find(X509_CRL* crl, const std::string& serial_hex) {
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl);
  for (int i = 0; i < sk_X509_REVOKED_num(revoked); ++i) {
    const X509_REVOKED* r = sk_X509_REVOKED_value(revoked, i);
    BignumPtr bn(ASN1_INTEGER_to_BN(X509_REVOKED_get0_serialNumber(r), nullptr));
    char* hex = BN_bn2hex(bn.get());
    const bool match = serial_hex == hex;
    OPENSSL_free(hex);
    if (match) return r;
  }
  return nullptr;
}

class CrlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<BuiltinCa>> ca = BuiltinCa::Open(
        CaFiles{dir_.File("ca")}, kNow,
        RevocationUrls{"http://pki.example.com/pki/crl", "http://pki.example.com/pki/ocsp",
                       "http://pki.example.com/pki/issuer.crt"});
    ASSERT_TRUE(ca) << ca.error().detail;
    ca_ = std::move(*ca);
    Result<X509Ptr> issuing = ParseCertificatePem(ca_->issuing_pem());
    ASSERT_TRUE(issuing);
    issuing_ = std::move(*issuing);
  }

  IssueRequest Leaf() {
    key_.reset(EVP_EC_gen("P-256"));
    IssueRequest r;
    r.public_key_pem = PublicKeyPem(key_.get());
    r.domains = {"www.example.com"};
    r.not_before = kNow;
    r.not_after = kNow + 90 * kDay;
    return r;
  }

  testing::TempDir dir_;
  std::unique_ptr<BuiltinCa> ca_;
  X509Ptr issuing_;
  PkeyPtr key_;
};

TEST_F(CrlTest, ASignedCrlVerifiesAndSaysWhatWasRevokedWhenAndWhy) {
  CrlContent content{kNow,
                     kNow + kDay,
                     1'800'000'000'000ULL,
                     {{"0A0B0C", kNow - 3600, 0}, {"7F00FF", kNow - 60, 1}}};
  Result<std::string> der = ca_->SignCrl(content);
  ASSERT_TRUE(der) << der.error().detail;
  X509CrlPtr crl = ParseCrl(*der);
  ASSERT_TRUE(crl);
  EXPECT_EQ(X509_CRL_verify(crl.get(), X509_get0_pubkey(issuing_.get())), 1);
  EXPECT_EQ(X509_CRL_get_version(crl.get()), X509_CRL_VERSION_2);
  EXPECT_EQ(X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(issuing_.get())),
            0);
  Asn1TimePtr now(ASN1_TIME_set(nullptr, kNow)), next(ASN1_TIME_set(nullptr, kNow + kDay));
  EXPECT_EQ(ASN1_TIME_compare(X509_CRL_get0_lastUpdate(crl.get()), now.get()), 0);
  EXPECT_EQ(ASN1_TIME_compare(X509_CRL_get0_nextUpdate(crl.get()), next.get()), 0);
  // cRLNumber and the authority key identifier (the issuer's SKI).
  auto* number =
      static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl.get(), NID_crl_number, nullptr, nullptr));
  ASSERT_TRUE(number);
  uint64_t value = 0;
  EXPECT_EQ(ASN1_INTEGER_get_uint64(&value, number), 1);
  EXPECT_EQ(value, 1'800'000'000'000ULL);
  ASN1_INTEGER_free(number);
  auto* aki = static_cast<AUTHORITY_KEYID*>(
      X509_CRL_get_ext_d2i(crl.get(), NID_authority_key_identifier, nullptr, nullptr));
  ASSERT_TRUE(aki && aki->keyid);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(aki->keyid, X509_get0_subject_key_id(issuing_.get())), 0);
  AUTHORITY_KEYID_free(aki);
  // OpenSSL checks the CRL against the chain, as a relying party would.
  ASSERT_EQ(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl.get())), 2);
  const X509_REVOKED* plain = Find(crl.get(), "0A0B0C");
  const X509_REVOKED* compromised = Find(crl.get(), "7F00FF");
  ASSERT_TRUE(plain && compromised);
  Asn1TimePtr at(ASN1_TIME_set(nullptr, kNow - 3600));
  EXPECT_EQ(ASN1_TIME_compare(X509_REVOKED_get0_revocationDate(plain), at.get()), 0);
  EXPECT_LT(X509_REVOKED_get_ext_by_NID(plain, NID_crl_reason, -1), 0) << "unspecified: left out";
  auto* reason = static_cast<ASN1_ENUMERATED*>(
      X509_REVOKED_get_ext_d2i(compromised, NID_crl_reason, nullptr, nullptr));
  ASSERT_TRUE(reason);
  EXPECT_EQ(ASN1_ENUMERATED_get(reason), 1);
  ASN1_ENUMERATED_free(reason);
}

TEST_F(CrlTest, AnEmptyCrlHasNoEntries) {
  Result<std::string> der = ca_->SignCrl(CrlContent{kNow, kNow + kDay, 7, {}});
  ASSERT_TRUE(der);
  X509CrlPtr crl = ParseCrl(*der);
  ASSERT_TRUE(crl);
  EXPECT_EQ(X509_CRL_verify(crl.get(), X509_get0_pubkey(issuing_.get())), 1);
  EXPECT_EQ(X509_CRL_get_REVOKED(crl.get()), nullptr) << "the list is absent (RFC 5280 §5.1.2.6)";
}

TEST_F(CrlTest, ASerialThatIsNotHexIsRefused) {
  Result<std::string> der = ca_->SignCrl(CrlContent{kNow, kNow + kDay, 1, {{"XYZ", kNow, 0}}});
  ASSERT_FALSE(der);
  EXPECT_EQ(der.error().code, ErrorCode::kInvalidParameter);
  der = ca_->SignCrl(CrlContent{kNow, kNow + kDay, 1, {{"", kNow, 0}}});
  ASSERT_FALSE(der);
  EXPECT_EQ(der.error().code, ErrorCode::kInvalidParameter);
}

TEST_F(CrlTest, LeavesCarryTheCrlDistributionPointAndAuthorityInformationAccess) {
  Result<IssuedCertificate> issued = ca_->Issue(Leaf());
  ASSERT_TRUE(issued) << issued.error().detail;
  Result<X509Ptr> leaf = ParseCertificatePem(issued->certificate_pem);
  ASSERT_TRUE(leaf);
  auto* points = static_cast<CRL_DIST_POINTS*>(
      X509_get_ext_d2i(leaf->get(), NID_crl_distribution_points, nullptr, nullptr));
  ASSERT_TRUE(points);
  ASSERT_EQ(sk_DIST_POINT_num(points), 1);
  const DIST_POINT* point = sk_DIST_POINT_value(points, 0);
  ASSERT_TRUE(point->distpoint);
  ASSERT_EQ(point->distpoint->type, 0);
  const GENERAL_NAME* uri = sk_GENERAL_NAME_value(point->distpoint->name.fullname, 0);
  ASSERT_EQ(uri->type, GEN_URI);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(
                ASN1_STRING_get0_data(uri->d.uniformResourceIdentifier))),
            "http://pki.example.com/pki/crl");
  CRL_DIST_POINTS_free(points);
  auto* aia = static_cast<AUTHORITY_INFO_ACCESS*>(
      X509_get_ext_d2i(leaf->get(), NID_info_access, nullptr, nullptr));
  ASSERT_TRUE(aia);
  ASSERT_EQ(sk_ACCESS_DESCRIPTION_num(aia), 2);
  std::map<int, std::string> access;
  for (int i = 0; i < 2; ++i) {
    const ACCESS_DESCRIPTION* ad = sk_ACCESS_DESCRIPTION_value(aia, i);
    ASSERT_EQ(ad->location->type, GEN_URI);
    access[OBJ_obj2nid(ad->method)] = reinterpret_cast<const char*>(
        ASN1_STRING_get0_data(ad->location->d.uniformResourceIdentifier));
  }
  AUTHORITY_INFO_ACCESS_free(aia);
  EXPECT_EQ(access[NID_ad_OCSP], "http://pki.example.com/pki/ocsp");
  EXPECT_EQ(access[NID_ad_ca_issuers], "http://pki.example.com/pki/issuer.crt");
}

TEST_F(CrlTest, NoUrlsOrACertificateOutsideTheRecordsCarriesNoPointers) {
  IssueRequest server = Leaf();
  server.revocation_pointers = false;  // the listener's own certificate
  Result<IssuedCertificate> issued = ca_->Issue(server);
  ASSERT_TRUE(issued);
  Result<X509Ptr> leaf = ParseCertificatePem(issued->certificate_pem);
  ASSERT_TRUE(leaf);
  EXPECT_LT(X509_get_ext_by_NID(leaf->get(), NID_crl_distribution_points, -1), 0);
  EXPECT_LT(X509_get_ext_by_NID(leaf->get(), NID_info_access, -1), 0);
  // Without a public URL (the default) no leaf carries them.
  Result<std::unique_ptr<BuiltinCa>> plain = BuiltinCa::Open(CaFiles{dir_.File("ca")}, kNow);
  ASSERT_TRUE(plain);
  issued = (*plain)->Issue(Leaf());
  ASSERT_TRUE(issued);
  leaf = ParseCertificatePem(issued->certificate_pem);
  ASSERT_TRUE(leaf);
  EXPECT_LT(X509_get_ext_by_NID(leaf->get(), NID_crl_distribution_points, -1), 0);
  EXPECT_LT(X509_get_ext_by_NID(leaf->get(), NID_info_access, -1), 0);
}

TEST_F(CrlTest, TheIssuerKeyIdIsTheIssuersSubjectKeyIdentifierInHex) {
  const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(issuing_.get());
  ASSERT_TRUE(ski);
  std::string hex;
  for (int i = 0; i < ASN1_STRING_length(ski); ++i) {
    char byte[3];
    std::snprintf(byte, sizeof byte, "%02x", ASN1_STRING_get0_data(ski)[i]);
    hex += byte;
  }
  EXPECT_EQ(ca_->issuer_key_id(), hex);
  EXPECT_EQ(KeyId(issuing_.get()), hex);
}

}  // namespace
}  // namespace certplan::pki
