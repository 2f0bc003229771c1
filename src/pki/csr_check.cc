#include "pki/csr_check.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "pki/openssl_handles.h"

namespace certplan::pki {
namespace {

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

Status CheckKey(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      if (EVP_PKEY_get_bits(key) < 2048) {
        return Refused("RSA keys must have at least 2048 bits (this one has " +
                       std::to_string(EVP_PKEY_get_bits(key)) + ").");
      }
      return Ok{};
    case EVP_PKEY_EC: {
      char group[64] = {};
      size_t len = 0;
      EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len);
      const std::string name(group, len);
      if (name != "prime256v1" && name != "secp384r1") {
        return Refused("ECDSA keys must use P-256 or P-384 (this one uses " + name + ").");
      }
      return Ok{};
    }
    default: return Refused("the key must be RSA or ECDSA.");
  }
}

}  // namespace

Result<CsrFacts> CheckCsr(const std::string& csr_pem) {
  ERR_clear_error();
  X509ReqPtr req = ParseCsrPem(csr_pem);
  if (!req) return Refused("it is not a PEM-encoded PKCS#10 certificate request.");
  EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
  if (!key) return Refused("it carries no readable public key.");
  if (X509_REQ_verify(req.get(), key) != 1) {
    ERR_clear_error();
    return Refused("its signature does not verify.");
  }
  if (Status s = CheckKey(key); !s) return s.error();
  CsrFacts facts;
  X509_NAME* subject = X509_REQ_get_subject_name(req.get());
  const int cn = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (cn >= 0)
    facts.common_name = Asn1Text(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, cn)));
  if (facts.common_name.empty()) return Refused("the subject has no CN.");
  ExtensionsPtr exts(X509_REQ_get_extensions(req.get()));
  if (exts) {
    GeneralNamesPtr sans(static_cast<GENERAL_NAMES*>(
        X509V3_get_d2i(exts.get(), NID_subject_alt_name, nullptr, nullptr)));
    for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans.get()); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans.get(), i);
      if (gn->type == GEN_DNS) facts.dns_names.push_back(Asn1Text(gn->d.dNSName));
    }
  }
  return facts;
}

}  // namespace certplan::pki
