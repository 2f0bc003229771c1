#include "pki/csr_check.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "pki/der.h"
#include "pki/ecdsa_verify.h"
#include "pki/openssl_handles.h"
#include "pki/public_key.h"

namespace certplan::pki {
namespace {

X509ReqPtr MakeRequest(EVP_PKEY* key, const char* cn, const EVP_MD* md, bool with_sans) {
  X509ReqPtr req(X509_REQ_new());
  X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req.get()), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  if (with_sans) {
    ExtensionsPtr exts(sk_X509_EXTENSION_new_null());
    sk_X509_EXTENSION_push(exts.get(),
                           X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name,
                                               "DNS:a.example.com,IP:10.0.0.1,DNS:b.example.com"));
    X509_REQ_add_extensions(req.get(), exts.get());
  }
  X509_REQ_set_pubkey(req.get(), key);
  X509_REQ_sign(req.get(), key, md);
  return req;
}

std::string Der(X509_REQ* req) {
  unsigned char* der = nullptr;
  const int n = i2d_X509_REQ(req, &der);
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

// The bytes as they are, base64-wrapped (not re-encoded by OpenSSL, which would repair them).
std::string Pem(const std::string& der) {
  std::string b64(4 * ((der.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                                reinterpret_cast<const unsigned char*>(der.data()),
                                static_cast<int>(der.size()));
  b64.resize(static_cast<size_t>(n));
  return "-----BEGIN CERTIFICATE REQUEST-----\n" + b64 + "\n-----END CERTIFICATE REQUEST-----\n";
}

// What OpenSSL's own request parser and verifier say about the same bytes, with certplan's one
// deliberate difference: a signature over a weak digest (MD5, SHA-1, …) that OpenSSL verifies is
// still refused. The digest is read by OpenSSL from its own parse.
bool OpenSslAccepts(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  const bool ok = req && p == reinterpret_cast<const unsigned char*>(der.data()) + der.size() &&
                  X509_REQ_verify(req.get(), X509_REQ_get0_pubkey(req.get())) == 1;
  int digest = NID_undef, key_type = NID_undef;
  const bool strong =
      ok && OBJ_find_sigid_algs(X509_REQ_get_signature_nid(req.get()), &digest, &key_type) == 1 &&
      (digest == NID_sha256 || digest == NID_sha384 || digest == NID_sha512);
  ERR_clear_error();
  return ok && strong;
}

// OpenSSL alone (no digest policy): used to show the weak requests really are well signed.
bool OpenSslVerifies(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  const bool ok = req && X509_REQ_verify(req.get(), X509_REQ_get0_pubkey(req.get())) == 1;
  ERR_clear_error();
  return ok;
}

struct KeyAndDigest {
  const char* name;
  PkeyPtr (*make)();
  const EVP_MD* (*md)();
};

const KeyAndDigest kKinds[] = {
    {"P-256/SHA-256", [] { return PkeyPtr(EVP_EC_gen("P-256")); }, EVP_sha256},
    {"P-256/SHA-384", [] { return PkeyPtr(EVP_EC_gen("P-256")); }, EVP_sha384},
    {"P-384/SHA-384", [] { return PkeyPtr(EVP_EC_gen("P-384")); }, EVP_sha384},
    {"RSA-2048/SHA-256", [] { return PkeyPtr(EVP_RSA_gen(2048)); }, EVP_sha256},
    {"RSA-2048/SHA-512", [] { return PkeyPtr(EVP_RSA_gen(2048)); }, EVP_sha512},
};

// Well-formed, correctly self-signed requests over broken digests.
const KeyAndDigest kWeak[] = {
    {"P-256/SHA-1", [] { return PkeyPtr(EVP_EC_gen("P-256")); }, EVP_sha1},
    {"RSA-2048/SHA-1", [] { return PkeyPtr(EVP_RSA_gen(2048)); }, EVP_sha1},
    {"RSA-2048/MD5", [] { return PkeyPtr(EVP_RSA_gen(2048)); }, EVP_md5},
};

TEST(CsrCheck, AcceptsWhatOpenSslAcceptsAndReadsNamesAndKey) {
  for (const KeyAndDigest& kind : kKinds) {
    SCOPED_TRACE(kind.name);
    PkeyPtr key = kind.make();
    X509ReqPtr req = MakeRequest(key.get(), "www.example.com", kind.md(), true);
    const std::string der = Der(req.get());
    Result<CsrFacts> facts = CheckCsr(Pem(der));
    ASSERT_TRUE(facts) << facts.error().message;
    EXPECT_EQ(facts->common_name, "www.example.com");
    EXPECT_EQ(facts->dns_names, (std::vector<std::string>{"a.example.com", "b.example.com"}));
    std::optional<CsrParts> parts = SplitCsr(der);
    ASSERT_TRUE(parts);
    EXPECT_EQ(parts->public_key, PublicKeyDer(key.get()));
  }
}

TEST(CsrCheck, RefusesWeakDigestsThatOpenSslVerifies) {
  const char* names[] = {"SHA1", "SHA1", "MD5"};
  for (size_t i = 0; i < std::size(kWeak); ++i) {
    const KeyAndDigest& kind = kWeak[i];
    SCOPED_TRACE(kind.name);
    PkeyPtr key = kind.make();
    const std::string der = Der(MakeRequest(key.get(), "www.example.com", kind.md(), true).get());
    ASSERT_TRUE(OpenSslVerifies(der));  // the signature itself is good …
    EXPECT_FALSE(OpenSslAccepts(der));  // … the differential's reference refuses it too
    Result<CsrFacts> facts = CheckCsr(Pem(der));
    ASSERT_FALSE(facts);
    EXPECT_EQ(facts.error().code, ErrorCode::kCreateCertificateRequestFailed);
    EXPECT_NE(
        facts.error().message.find(std::string("signed with ") + names[i] + ", a weak digest"),
        std::string::npos)
        << facts.error().message;
  }
}

// Every single-byte change to a request: certplan accepts exactly when OpenSSL's own parser and
// X509_REQ_verify do (in practice: never), and a rejection is always the CSR error.
TEST(CsrCheck, AgreesWithOpenSslOnEveryOneByteCorruption) {
  for (const KeyAndDigest& kind : {kKinds[0], kKinds[3], kWeak[0], kWeak[2]}) {
    SCOPED_TRACE(kind.name);
    PkeyPtr key = kind.make();
    const std::string der = Der(MakeRequest(key.get(), "x.example.com", kind.md(), true).get());
    for (size_t i = 0; i < der.size() * 2; ++i) {
      std::string bad = der;
      bad[i / 2] = static_cast<char>(bad[i / 2] ^ (i % 2 ? 0x80 : 0x01));
      Result<CsrFacts> facts = CheckCsr(Pem(bad));
      EXPECT_EQ(static_cast<bool>(facts), OpenSslAccepts(bad)) << "byte " << i / 2;
      if (!facts) {
        EXPECT_EQ(facts.error().code, ErrorCode::kCreateCertificateRequestFailed);
      }
    }
  }
}

TEST(CsrCheck, NamesEachRejection) {
  auto message = [](const std::string& pem) {
    Result<CsrFacts> r = CheckCsr(pem);
    EXPECT_FALSE(r);
    if (r) return std::string();
    EXPECT_EQ(r.error().code, ErrorCode::kCreateCertificateRequestFailed);
    return r.error().message;
  };
  PkeyPtr p256(EVP_EC_gen("P-256"));
  PkeyPtr p521(EVP_EC_gen("P-521"));
  PkeyPtr rsa1024(EVP_RSA_gen(1024));
  PkeyPtr ed25519(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  EXPECT_NE(message("garbage").find("not a PEM-encoded PKCS#10"), std::string::npos);
  EXPECT_NE(message(Pem(Der(MakeRequest(p521.get(), "a.b", EVP_sha256(), false).get())))
                .find("P-256 or P-384 (this one uses secp521r1)"),
            std::string::npos);
  EXPECT_NE(message(Pem(Der(MakeRequest(rsa1024.get(), "a.b", EVP_sha256(), false).get())))
                .find("at least 2048 bits (this one has 1024)"),
            std::string::npos);
  EXPECT_NE(message(Pem(Der(MakeRequest(ed25519.get(), "a.b", nullptr, false).get())))
                .find("must be RSA or ECDSA"),
            std::string::npos);
  X509ReqPtr no_cn(X509_REQ_new());
  X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(no_cn.get()), "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("Example"), -1, -1, 0);
  X509_REQ_set_pubkey(no_cn.get(), p256.get());
  X509_REQ_sign(no_cn.get(), p256.get(), EVP_sha256());
  EXPECT_NE(message(Pem(Der(no_cn.get()))).find("no CN"), std::string::npos);
  // Signed by another key than the one it carries.
  X509ReqPtr forged = MakeRequest(p256.get(), "a.b", EVP_sha256(), false);
  PkeyPtr other(EVP_EC_gen("P-256"));
  X509_REQ_set_pubkey(forged.get(), other.get());
  EXPECT_NE(message(Pem(Der(forged.get()))).find("signature does not verify"), std::string::npos);
}

TEST(Der, ReadsDefiniteLengthsOnly) {
  std::string_view in("\x30\x03\x02\x01\x05\x04\x00", 7);
  std::optional<DerElement> seq = ReadDer(in, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
  ASSERT_TRUE(seq);
  EXPECT_TRUE(seq->constructed);
  EXPECT_EQ(seq->contents, std::string_view("\x02\x01\x05", 3));
  EXPECT_EQ(in.size(), 2u);
  EXPECT_FALSE(ReadDer(in, V_ASN1_INTEGER, V_ASN1_UNIVERSAL));  // it is an OCTET STRING
  std::string_view indefinite("\x30\x80\x00\x00", 4), truncated("\x30\x05\x02\x01", 4);
  EXPECT_FALSE(ReadDer(indefinite));
  EXPECT_FALSE(ReadDer(truncated));
  std::string_view empty;
  EXPECT_FALSE(ReadDer(empty));
}

// Found by fuzz/csr_check_fuzz.cc: a request whose signature BIT STRING carried the constructed
// bit (BER, not DER) was accepted, though OpenSSL's decoder refuses it.
TEST(Der, Issue12_UniversalTypesMustHaveTheirDerForm) {
  std::string_view primitive_bits("\x03\x02\x00\xff", 4), constructed_bits("\x23\x02\x00\xff", 4);
  EXPECT_TRUE(ReadDer(primitive_bits, V_ASN1_BIT_STRING, V_ASN1_UNIVERSAL));
  EXPECT_FALSE(ReadDer(constructed_bits, V_ASN1_BIT_STRING, V_ASN1_UNIVERSAL));
  std::string_view primitive_sequence("\x10\x00", 2), constructed_int("\x22\x01\x00", 3);
  EXPECT_FALSE(ReadDer(primitive_sequence, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL));
  EXPECT_FALSE(ReadDer(constructed_int, V_ASN1_INTEGER, V_ASN1_UNIVERSAL));
  std::string_view context("\xa0\x00", 2);  // [0] attributes: not a universal type
  EXPECT_TRUE(ReadDer(context, 0, V_ASN1_CONTEXT_SPECIFIC));

  PkeyPtr key(EVP_EC_gen("P-256"));
  std::string der = Der(MakeRequest(key.get(), "x.example.com", EVP_sha256(), false).get());
  ASSERT_TRUE(CheckCsr(Pem(der)));
  std::string_view in(der);
  std::optional<DerElement> request = ReadDer(in, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
  ASSERT_TRUE(request);
  std::string_view fields = request->contents;
  ASSERT_TRUE(ReadDer(fields) && ReadDer(fields));  // CertificationRequestInfo, algorithm
  const size_t bit_string_tag = static_cast<size_t>(fields.data() - der.data());
  ASSERT_EQ(der[bit_string_tag], '\x03');
  der[bit_string_tag] = '\x23';
  EXPECT_FALSE(OpenSslAccepts(der));
  Result<CsrFacts> facts = CheckCsr(Pem(der));
  ASSERT_FALSE(facts);
  EXPECT_EQ(facts.error().code, ErrorCode::kCreateCertificateRequestFailed);
}

TEST(Der, PemBodyDecodesPaddingAndRefusesDamage) {
  EXPECT_EQ(PemBody("-----BEGIN X-----\nQUJD\n-----END X-----\n", "X"), "ABC");
  EXPECT_EQ(PemBody("junk\n-----BEGIN X-----\r\nQUI=\r\n-----END X-----", "X"), "AB");
  EXPECT_EQ(PemBody("-----BEGIN X-----\nQQ==\n-----END X-----", "X"), "A");
  EXPECT_FALSE(PemBody("-----BEGIN X-----\nQQ==\n", "X"));                 // no end line
  EXPECT_FALSE(PemBody("-----BEGIN Y-----\nQQ==\n-----END Y-----", "X"));  // other label
  EXPECT_FALSE(PemBody("-----BEGIN X-----\nQQ=\n-----END X-----", "X"));   // not a multiple of 4
  EXPECT_FALSE(PemBody("-----BEGIN X-----\nQ!==\n-----END X-----", "X"));  // not base64
  EXPECT_FALSE(PemBody("-----BEGIN X-----\n\n-----END X-----", "X"));      // empty
}

TEST(EcdsaVerify, RefusesUnknownCurvesAndDigestsAndBadPoints) {
  PkeyPtr key(EVP_EC_gen("P-256"));
  const std::string spki = PublicKeyDer(key.get());
  std::optional<PublicKeyInfo> info = ReadPublicKeyInfo(spki);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->curve, NID_X9_62_prime256v1);
  const std::string message = "message";
  std::unique_ptr<EVP_MD_CTX, FreeWith<&EVP_MD_CTX_free>> ctx(EVP_MD_CTX_new());
  unsigned char sig[128];
  size_t len = sizeof sig;
  ASSERT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()), 1);
  ASSERT_EQ(EVP_DigestSign(ctx.get(), sig, &len,
                           reinterpret_cast<const unsigned char*>(message.data()), message.size()),
            1);
  const std::string_view signature(reinterpret_cast<char*>(sig), len);
  EXPECT_TRUE(EcdsaVerifies(info->curve, info->key_bits, NID_sha256, message, signature));
  EXPECT_FALSE(EcdsaVerifies(info->curve, info->key_bits, NID_sha384, message, signature));
  EXPECT_FALSE(EcdsaVerifies(NID_secp521r1, info->key_bits, NID_sha256, message, signature));
  EXPECT_FALSE(EcdsaVerifies(info->curve, info->key_bits, NID_md5, message, signature));
  EXPECT_FALSE(
      EcdsaVerifies(info->curve, info->key_bits.substr(1), NID_sha256, message, signature));
  EXPECT_FALSE(EcdsaVerifies(info->curve, info->key_bits, NID_sha256, "other", signature));
}

}  // namespace
}  // namespace certplan::pki
