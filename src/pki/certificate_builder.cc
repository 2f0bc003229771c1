#include "pki/certificate_builder.h"

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "pki/public_key.h"
#include "pki/random.h"

namespace certplan::pki {
namespace {

template <typename T, auto kFree>
using Owned = std::unique_ptr<T, FreeWith<kFree>>;

bool AddExtension(X509* cert, int nid, void* value, bool critical) {
  return X509_add1_ext_i2d(cert, nid, value, critical ? 1 : 0, X509V3_ADD_REPLACE) == 1;
}

// 0x01, notBefore in seconds (40 bits, big-endian), then 80 random bits: positive, always 16
// bytes, ordered by time so a new serial's index entries land at the index's right edge, and
// more than the 64 CSPRNG bits the CA/Browser Forum's Baseline Requirements §7.1 ask for.
bool SetSerial(X509* cert, int64_t not_before) {
  std::string bytes = RandomBytes(16);
  const uint64_t seconds = not_before > 0 ? static_cast<uint64_t>(not_before) : 0;
  bytes[0] = 0x01;
  for (int i = 0; i < 5; ++i) bytes[1 + i] = static_cast<char>((seconds >> (8 * (4 - i))) & 0xFF);
  BignumPtr bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()), 16, nullptr));
  return bn && BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) != nullptr;
}

bool SetName(X509* cert, const CertificateSpec& spec) {
  X509_NAME* name = X509_get_subject_name(cert);
  // By NID: the text form looks the attribute up by name on every call.
  auto add = [&](int nid, const std::string& value) {
    return value.empty() ||
           X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8,
                                      reinterpret_cast<const unsigned char*>(value.data()),
                                      static_cast<int>(value.size()), -1, 0) == 1;
  };
  if (!add(NID_organizationName, spec.organization) || !add(NID_commonName, spec.common_name)) {
    return false;
  }
  return X509_set_issuer_name(cert, spec.issuer ? X509_get_subject_name(spec.issuer) : name) == 1;
}

bool SetKeyIdentifiers(X509* cert, const CertificateSpec& spec) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_pubkey_digest(cert, EVP_sha1(), md, &len) != 1) return false;
  Owned<ASN1_OCTET_STRING, &ASN1_OCTET_STRING_free> ski(ASN1_OCTET_STRING_new());
  if (!ski || ASN1_OCTET_STRING_set(ski.get(), md, static_cast<int>(len)) != 1) return false;
  if (!AddExtension(cert, NID_subject_key_identifier, ski.get(), false)) return false;
  // AKI = the issuer's SKI (self-signed: our own).
  const ASN1_OCTET_STRING* issuer_ski =
      spec.issuer ? X509_get0_subject_key_id(spec.issuer) : ski.get();
  if (!issuer_ski) return true;
  Owned<AUTHORITY_KEYID, &AUTHORITY_KEYID_free> aki(AUTHORITY_KEYID_new());
  if (!aki) return false;
  aki->keyid = ASN1_OCTET_STRING_dup(issuer_ski);
  return aki->keyid && AddExtension(cert, NID_authority_key_identifier, aki.get(), false);
}

bool SetConstraintsAndUsage(X509* cert, const CertificateSpec& spec) {
  Owned<BASIC_CONSTRAINTS, &BASIC_CONSTRAINTS_free> bc(BASIC_CONSTRAINTS_new());
  if (!bc) return false;
  bc->ca = spec.is_ca ? 0xFF : 0;
  if (spec.is_ca && spec.path_length >= 0) {
    bc->pathlen = ASN1_INTEGER_new();
    if (!bc->pathlen || ASN1_INTEGER_set(bc->pathlen, spec.path_length) != 1) return false;
  }
  if (!AddExtension(cert, NID_basic_constraints, bc.get(), true)) return false;
  Owned<ASN1_BIT_STRING, &ASN1_BIT_STRING_free> usage(ASN1_BIT_STRING_new());
  if (!usage) return false;
  if (spec.is_ca) {
    ASN1_BIT_STRING_set_bit(usage.get(), 5, 1);  // keyCertSign
    ASN1_BIT_STRING_set_bit(usage.get(), 6, 1);  // cRLSign
  } else {
    ASN1_BIT_STRING_set_bit(usage.get(), 0, 1);  // digitalSignature
    // The key is in the certificate already: its algorithm, without parsing the key again.
    ASN1_OBJECT* algorithm = nullptr;
    if (X509_PUBKEY_get0_param(&algorithm, nullptr, nullptr, nullptr, X509_get_X509_PUBKEY(cert)) ==
            1 &&
        OBJ_obj2nid(algorithm) == NID_rsaEncryption) {
      ASN1_BIT_STRING_set_bit(usage.get(), 2, 1);  // keyEncipherment
    }
  }
  return AddExtension(cert, NID_key_usage, usage.get(), true);
}

// A GENERAL_NAME holding a uniformResourceIdentifier; nullptr on allocation failure.
GENERAL_NAME* UriName(const std::string& uri) {
  GENERAL_NAME* gn = GENERAL_NAME_new();
  ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
  if (!gn || !ia5 || ASN1_STRING_set(ia5, uri.data(), static_cast<int>(uri.size())) != 1) {
    GENERAL_NAME_free(gn);
    ASN1_IA5STRING_free(ia5);
    return nullptr;
  }
  GENERAL_NAME_set0_value(gn, GEN_URI, ia5);
  return gn;
}

bool SetCrlDistributionPoint(X509* cert, const std::string& url) {
  Owned<CRL_DIST_POINTS, &CRL_DIST_POINTS_free> points(sk_DIST_POINT_new_null());
  DIST_POINT* point = DIST_POINT_new();
  if (!points || !point || !sk_DIST_POINT_push(points.get(), point)) {
    DIST_POINT_free(point);
    return false;
  }
  point->distpoint = DIST_POINT_NAME_new();
  if (!point->distpoint) return false;
  point->distpoint->type = 0;  // fullName
  point->distpoint->name.fullname = sk_GENERAL_NAME_new_null();
  GENERAL_NAME* uri = UriName(url);
  if (!point->distpoint->name.fullname || !uri ||
      !sk_GENERAL_NAME_push(point->distpoint->name.fullname, uri)) {
    GENERAL_NAME_free(uri);
    return false;
  }
  return AddExtension(cert, NID_crl_distribution_points, points.get(), false);
}

bool SetAuthorityInfoAccess(X509* cert, const CertificateSpec& spec) {
  Owned<AUTHORITY_INFO_ACCESS, &AUTHORITY_INFO_ACCESS_free> aia(sk_ACCESS_DESCRIPTION_new_null());
  if (!aia) return false;
  for (auto [nid, url] : {std::pair{NID_ad_OCSP, &spec.ocsp_url},
                          std::pair{NID_ad_ca_issuers, &spec.ca_issuers_url}}) {
    if (url->empty()) continue;
    ACCESS_DESCRIPTION* ad = ACCESS_DESCRIPTION_new();
    GENERAL_NAME* uri = UriName(*url);
    if (!ad || !uri || !sk_ACCESS_DESCRIPTION_push(aia.get(), ad)) {
      ACCESS_DESCRIPTION_free(ad);
      GENERAL_NAME_free(uri);
      return false;
    }
    ASN1_OBJECT_free(ad->method);
    ad->method = OBJ_nid2obj(nid);
    GENERAL_NAME_free(ad->location);
    ad->location = uri;
  }
  return sk_ACCESS_DESCRIPTION_num(aia.get()) == 0 ||
         AddExtension(cert, NID_info_access, aia.get(), false);
}

bool SetOcspResponderExtensions(X509* cert) {
  Owned<EXTENDED_KEY_USAGE, &EXTENDED_KEY_USAGE_free> eku(sk_ASN1_OBJECT_new_null());
  if (!eku || !sk_ASN1_OBJECT_push(eku.get(), OBJ_nid2obj(NID_OCSP_sign))) return false;
  if (!AddExtension(cert, NID_ext_key_usage, eku.get(), false)) return false;
  // RFC 6960 §4.2.2.2.1: clients need not ask for the responder's own status; it cannot be
  // revoked, so it is short-lived instead (kOcspResponderValidity).
  Owned<ASN1_NULL, &ASN1_NULL_free> nocheck(ASN1_NULL_new());
  return nocheck && AddExtension(cert, NID_id_pkix_OCSP_noCheck, nocheck.get(), false);
}

bool SetLeafExtensions(X509* cert, const CertificateSpec& spec) {
  if (spec.ocsp_signing) return SetOcspResponderExtensions(cert);
  Owned<EXTENDED_KEY_USAGE, &EXTENDED_KEY_USAGE_free> eku(sk_ASN1_OBJECT_new_null());
  if (!eku || !sk_ASN1_OBJECT_push(eku.get(), OBJ_nid2obj(NID_server_auth))) return false;
  if (!AddExtension(cert, NID_ext_key_usage, eku.get(), false)) return false;
  if (!spec.crl_url.empty() && !SetCrlDistributionPoint(cert, spec.crl_url)) return false;
  if (!SetAuthorityInfoAccess(cert, spec)) return false;
  GeneralNamesPtr sans(sk_GENERAL_NAME_new_null());
  if (!sans) return false;
  for (const std::string& dns : spec.dns_names) {
    GENERAL_NAME* gn = GENERAL_NAME_new();
    ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
    if (!gn || !ia5 || ASN1_STRING_set(ia5, dns.data(), static_cast<int>(dns.size())) != 1) {
      GENERAL_NAME_free(gn);
      ASN1_IA5STRING_free(ia5);
      return false;
    }
    GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
    sk_GENERAL_NAME_push(sans.get(), gn);
  }
  for (const std::string& ip : spec.ip_addresses) {
    GENERAL_NAME* gn = GENERAL_NAME_new();
    ASN1_OCTET_STRING* octets = a2i_IPADDRESS(ip.c_str());
    if (!gn || !octets) {
      GENERAL_NAME_free(gn);
      ASN1_OCTET_STRING_free(octets);
      return false;
    }
    GENERAL_NAME_set0_value(gn, GEN_IPADD, octets);
    sk_GENERAL_NAME_push(sans.get(), gn);
  }
  // RFC 5280 §4.2.1.6: with an empty subject the SAN is the only name, and critical.
  const bool empty_subject = X509_NAME_entry_count(X509_get_subject_name(cert)) == 0;
  return AddExtension(cert, NID_subject_alt_name, sans.get(), empty_subject);
}

}  // namespace

Result<X509Ptr> BuildCertificate(const CertificateSpec& spec) {
  ERR_clear_error();
  X509Ptr cert(X509_new());
  if (!cert) return OpenSslError("X509_new");
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      !SetSerial(cert.get(), spec.not_before) || !SetName(cert.get(), spec)) {
    return OpenSslError("certificate fields");
  }
  const time_t nb = static_cast<time_t>(spec.not_before), na = static_cast<time_t>(spec.not_after);
  if (!ASN1_TIME_set(X509_getm_notBefore(cert.get()), nb) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert.get()), na) ||
      !SetCertificatePublicKey(cert.get(), spec.subject_public_key)) {
    return OpenSslError("certificate validity or key");
  }
  if (!SetKeyIdentifiers(cert.get(), spec) || !SetConstraintsAndUsage(cert.get(), spec) ||
      (!spec.is_ca && !SetLeafExtensions(cert.get(), spec))) {
    return OpenSslError("certificate extensions");
  }
  if (!spec.signer->Sign(cert.get())) return OpenSslError("X509_sign_ctx");
  return cert;
}

std::string SerialHex(X509* cert) {
  BignumPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  if (!bn) return {};
  char* hex = BN_bn2hex(bn.get());
  std::string out = hex ? hex : "";
  OPENSSL_free(hex);
  return out;
}

}  // namespace certplan::pki
