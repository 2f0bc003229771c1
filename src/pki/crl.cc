#include "pki/crl.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "core/hex.h"
#include "pki/certificate_builder.h"

namespace certplan::pki {
namespace {

template <typename T, auto kFree>
using Owned = std::unique_ptr<T, FreeWith<kFree>>;

Result<Asn1IntegerPtr> SerialFromHex(const std::string& hex) {
  BIGNUM* raw = nullptr;
  const bool whole = !hex.empty() && BN_hex2bn(&raw, hex.c_str()) == static_cast<int>(hex.size());
  BignumPtr bn(raw);
  if (!whole) return InvalidParameter("serial", "not a hexadecimal serial: " + hex);
  Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!serial) return OpenSslError("BN_to_ASN1_INTEGER");
  return serial;
}

Status AddEntry(X509_CRL* crl, const CrlEntry& entry) {
  Result<Asn1IntegerPtr> serial = SerialFromHex(entry.serial_hex);
  if (!serial) return serial.error();
  X509RevokedPtr revoked(X509_REVOKED_new());
  Asn1TimePtr when(ASN1_TIME_set(nullptr, static_cast<time_t>(entry.revoked_at)));
  if (!revoked || !when || X509_REVOKED_set_serialNumber(revoked.get(), serial->get()) != 1 ||
      X509_REVOKED_set_revocationDate(revoked.get(), when.get()) != 1) {
    return OpenSslError("CRL entry");
  }
  if (entry.reason != 0) {
    Owned<ASN1_ENUMERATED, &ASN1_ENUMERATED_free> reason(ASN1_ENUMERATED_new());
    if (!reason || ASN1_ENUMERATED_set(reason.get(), entry.reason) != 1 ||
        X509_REVOKED_add1_ext_i2d(revoked.get(), NID_crl_reason, reason.get(), 0, 0) != 1) {
      return OpenSslError("CRL entry reason");
    }
  }
  if (X509_CRL_add0_revoked(crl, revoked.get()) != 1) return OpenSslError("X509_CRL_add0_revoked");
  revoked.release();  // the CRL owns it now
  return Ok{};
}

// §5.2.1: the issuer's subject key identifier, so a relying party finds the key among several.
bool AddAuthorityKeyId(X509_CRL* crl, X509* issuer) {
  Owned<AUTHORITY_KEYID, &AUTHORITY_KEYID_free> aki(AUTHORITY_KEYID_new());
  if (!aki) return false;
  if (const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(issuer)) {
    aki->keyid = ASN1_OCTET_STRING_dup(ski);
  } else {
    std::optional<std::string> id = HexDecode(KeyId(issuer));
    aki->keyid = ASN1_OCTET_STRING_new();
    if (!id || !aki->keyid ||
        ASN1_OCTET_STRING_set(aki->keyid, reinterpret_cast<const unsigned char*>(id->data()),
                              static_cast<int>(id->size())) != 1) {
      return false;
    }
  }
  return aki->keyid &&
         X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, aki.get(), 0, 0) == 1;
}

}  // namespace

Result<std::string> BuildCrl(X509* issuer, const CertificateSigner& signer,
                             const CrlContent& content) {
  ERR_clear_error();
  X509CrlPtr crl(X509_CRL_new());
  if (!crl) return OpenSslError("X509_CRL_new");
  Asn1TimePtr this_update(ASN1_TIME_set(nullptr, static_cast<time_t>(content.this_update)));
  Asn1TimePtr next_update(ASN1_TIME_set(nullptr, static_cast<time_t>(content.next_update)));
  if (X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer)) != 1 || !this_update ||
      !next_update || X509_CRL_set1_lastUpdate(crl.get(), this_update.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next_update.get()) != 1) {
    return OpenSslError("CRL fields");
  }
  for (const CrlEntry& entry : content.entries) {
    if (Status s = AddEntry(crl.get(), entry); !s) return s.error();
  }
  X509_CRL_sort(crl.get());
  Asn1IntegerPtr number(ASN1_INTEGER_new());
  if (!number || ASN1_INTEGER_set_uint64(number.get(), content.number) != 1 ||
      X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0) != 1 ||
      !AddAuthorityKeyId(crl.get(), issuer)) {
    return OpenSslError("CRL extensions");
  }
  MdCtxPtr ctx = signer.Context();
  if (!ctx || X509_CRL_sign_ctx(crl.get(), ctx.get()) <= 0)
    return OpenSslError("X509_CRL_sign_ctx");
  unsigned char* der = nullptr;
  const int n = i2d_X509_CRL(crl.get(), &der);
  if (n <= 0) return OpenSslError("i2d_X509_CRL");
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

}  // namespace certplan::pki
