#include "pki/csr_check.h"

#include <openssl/err.h>

#include "pki/der.h"
#include "pki/ecdsa_verify.h"
#include "pki/openssl_handles.h"
#include "pki/public_key.h"

namespace certplan::pki {
namespace {

template <typename T>
const unsigned char* Bytes(T view) {
  return reinterpret_cast<const unsigned char*>(view.data());
}

Error Refused(std::string why) {
  return Error(ErrorCode::kCreateCertificateRequestFailed, "The CSR is not usable: " + why);
}

std::string Asn1Text(const ASN1_STRING* s) {
  unsigned char* utf8 = nullptr;
  const int n = ASN1_STRING_to_UTF8(&utf8, s);
  if (n < 0) return {};
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

Status CheckRsaKey(EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) return Refused("the key must be RSA or ECDSA.");
  if (EVP_PKEY_get_bits(key) < 2048) {
    return Refused("RSA keys must have at least 2048 bits (this one has " +
                   std::to_string(EVP_PKEY_get_bits(key)) + ").");
  }
  return Ok{};
}

Status CheckEcCurve(int curve) {
  if (curve == NID_X9_62_prime256v1 || curve == NID_secp384r1) return Ok{};
  const char* name = curve == NID_undef ? nullptr : OBJ_nid2sn(curve);
  return Refused(std::string("ECDSA keys must use P-256 or P-384 (this one uses ") +
                 (name ? name : "explicit or unknown parameters") + ").");
}

// The digest the request's signature algorithm names, if it is one for `key_algorithm`.
int SignatureDigest(const CsrParts& csr, int key_algorithm) {
  AlgorPtr alg = ParseAlgorithm(csr.signature_algorithm);
  int digest = NID_undef, key_type = NID_undef;
  if (!alg || !OBJ_find_sigid_algs(OBJ_obj2nid(alg->algorithm), &digest, &key_type) ||
      key_type != key_algorithm || csr.signature.size() < 2 || csr.signature[0] != 0) {
    return NID_undef;
  }
  return digest;
}

// The request's self-signature over its CertificationRequestInfo (X509_REQ_verify would decode
// the whole request, key included, through OpenSSL 3.0's decoder framework).
bool EvpSignatureVerifies(const CsrParts& csr, EVP_PKEY* key, int digest) {
  thread_local MdCtxPtr ctx(EVP_MD_CTX_new());
  const bool ok = ctx &&
                  EVP_DigestVerifyInit_ex(ctx.get(), nullptr, OBJ_nid2sn(digest), nullptr, nullptr,
                                          key, nullptr) == 1 &&
                  EVP_DigestVerify(ctx.get(), Bytes(csr.signature) + 1, csr.signature.size() - 1,
                                   Bytes(csr.signed_info), csr.signed_info.size()) == 1;
  if (ctx) EVP_MD_CTX_reset(ctx.get());
  return ok;
}

// The digest of the request's signature algorithm, whatever key it is for (NID_undef when the
// algorithm is unknown or names no separate digest).
int NamedDigest(const CsrParts& csr) {
  AlgorPtr alg = ParseAlgorithm(csr.signature_algorithm);
  int digest = NID_undef, key_type = NID_undef;
  if (!alg || !OBJ_find_sigid_algs(OBJ_obj2nid(alg->algorithm), &digest, &key_type)) {
    return NID_undef;
  }
  return digest;
}

// A signature made with a broken digest (MD5, SHA-1, …) proves nothing about who holds the key:
// collisions let one signature cover another request. Only SHA-256, SHA-384 and SHA-512 pass,
// refused like a weak key, before any signature arithmetic.
Status CheckDigestStrength(const CsrParts& csr) {
  const int digest = NamedDigest(csr);
  if (digest == NID_undef || digest == NID_sha256 || digest == NID_sha384 || digest == NID_sha512) {
    return Ok{};  // unknown algorithms fail the signature check with its own message
  }
  const char* name = OBJ_nid2sn(digest);
  return Refused(std::string("it is signed with ") + (name ? name : "an unknown digest") +
                 ", a weak digest; sign it with SHA-256, SHA-384 or SHA-512.");
}

// Key acceptable and self-signature valid. EC keys are checked from their curve and point
// alone; others are decoded.
Status CheckKeyAndSignature(const CsrParts& csr) {
  std::optional<PublicKeyInfo> info = ReadPublicKeyInfo(csr.public_key);
  if (!info) return Refused("it carries no readable public key.");
  const Error bad_signature = Refused("its signature does not verify.");
  if (info->algorithm == NID_X9_62_id_ecPublicKey) {
    if (Status s = CheckEcCurve(info->curve); !s) return s;
    const int digest = SignatureDigest(csr, EVP_PKEY_EC);
    if (digest == NID_undef || !EcdsaVerifies(info->curve, info->key_bits, digest, csr.signed_info,
                                              csr.signature.substr(1))) {
      return bad_signature;
    }
    return Ok{};
  }
  PkeyPtr key = DecodePublicKey(csr.public_key);
  if (!key) return Refused("it carries no readable public key.");
  if (Status s = CheckRsaKey(key.get()); !s) return s;
  const int digest = SignatureDigest(csr, EVP_PKEY_RSA);
  if (digest == NID_undef || !EvpSignatureVerifies(csr, key.get(), digest)) return bad_signature;
  return Ok{};
}

std::string CommonName(std::string_view subject_der) {
  const unsigned char* p = Bytes(subject_der);
  X509NamePtr name(d2i_X509_NAME(nullptr, &p, static_cast<long>(subject_der.size())));
  if (!name) return {};
  const int cn = X509_NAME_get_index_by_NID(name.get(), NID_commonName, -1);
  if (cn < 0) return {};
  return Asn1Text(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name.get(), cn)));
}

// The dNSName entries of the subjectAltName in the extensionRequest attribute (or Microsoft's
// older msExtReq, as X509_REQ_get_extensions accepts both).
std::vector<std::string> RequestedDnsNames(std::string_view attributes) {
  std::vector<std::string> names;
  while (!attributes.empty()) {
    std::optional<DerElement> attribute = ReadDer(attributes, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
    if (!attribute) break;
    std::string_view in = attribute->contents;
    std::optional<DerElement> type = ReadDer(in, V_ASN1_OBJECT, V_ASN1_UNIVERSAL);
    std::optional<DerElement> values = ReadDer(in, V_ASN1_SET, V_ASN1_UNIVERSAL);
    if (!type || !values) continue;
    const unsigned char* p = Bytes(type->whole);
    Asn1ObjectPtr oid(d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(type->whole.size())));
    const int nid = oid ? OBJ_obj2nid(oid.get()) : NID_undef;
    if (nid != NID_ext_req && nid != NID_ms_ext_req) continue;
    std::string_view set = values->contents;
    std::optional<DerElement> extensions = ReadDer(set, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
    if (!extensions) continue;
    p = Bytes(extensions->whole);
    ExtensionsPtr exts(
        d2i_X509_EXTENSIONS(nullptr, &p, static_cast<long>(extensions->whole.size())));
    if (!exts) continue;
    GeneralNamesPtr sans(static_cast<GENERAL_NAMES*>(
        X509V3_get_d2i(exts.get(), NID_subject_alt_name, nullptr, nullptr)));
    for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans.get()); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans.get(), i);
      if (gn->type == GEN_DNS) names.push_back(Asn1Text(gn->d.dNSName));
    }
  }
  return names;
}

}  // namespace

std::optional<CsrParts> SplitCsr(std::string_view der) {
  std::optional<DerElement> request = ReadDer(der, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
  if (!request || !der.empty()) return std::nullopt;
  std::string_view in = request->contents;
  std::optional<DerElement> info = ReadDer(in, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
  std::optional<DerElement> algorithm = ReadDer(in, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
  std::optional<DerElement> signature = ReadDer(in, V_ASN1_BIT_STRING, V_ASN1_UNIVERSAL);
  if (!info || !algorithm || !signature || !in.empty()) return std::nullopt;
  std::string_view fields = info->contents;
  std::optional<DerElement> version = ReadDer(fields, V_ASN1_INTEGER, V_ASN1_UNIVERSAL);
  std::optional<DerElement> subject = ReadDer(fields, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
  std::optional<DerElement> key = ReadDer(fields, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
  std::optional<DerElement> attributes = ReadDer(fields, 0, V_ASN1_CONTEXT_SPECIFIC);
  if (!version || version->contents != std::string_view("\0", 1) || !subject || !key ||
      !fields.empty() || (attributes && !attributes->constructed)) {
    return std::nullopt;
  }
  return CsrParts{info->whole,      subject->whole,
                  key->whole,       attributes ? attributes->contents : std::string_view(),
                  algorithm->whole, signature->contents};
}

Result<CsrFacts> CheckCsr(const std::string& csr_pem, bool require_cn) {
  ERR_clear_error();
  std::optional<std::string> der = PemBody(csr_pem, "CERTIFICATE REQUEST");
  std::optional<CsrParts> csr = der ? SplitCsr(*der) : std::nullopt;
  if (!csr) return Refused("it is not a PEM-encoded PKCS#10 certificate request.");
  if (Status s = CheckDigestStrength(*csr); !s) return s.error();
  if (Status s = CheckKeyAndSignature(*csr); !s) {
    ERR_clear_error();
    return s.error();
  }
  CsrFacts facts;
  facts.common_name = CommonName(csr->subject);
  if (facts.common_name.empty() && require_cn) return Refused("the subject has no CN.");
  facts.dns_names = RequestedDnsNames(csr->attributes);
  ERR_clear_error();
  return facts;
}

}  // namespace certplan::pki
