#pragma once

#include <cstdint>
#include <string>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "pki/openssl_handles.h"

namespace certplan::testing {

// A real self-signed P-256 certificate (PEM) whose CN and only SAN is `name`, valid over
// [not_before, not_after] (epoch seconds): what a fake pki::Authority hands out, so everything
// that reads an issued certificate (the repository entry) reads a real one.
inline std::string SelfSignedPem(const std::string& name, int64_t not_before, int64_t not_after) {
  static const pki::PkeyPtr key(EVP_EC_gen("P-256"));
  pki::X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(not_before));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(not_after));
  X509_set_pubkey(cert.get(), key.get());
  const std::string san = "DNS:" + name;
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str());
  X509_add_ext(cert.get(), ext, -1);
  X509_EXTENSION_free(ext);
  X509_sign(cert.get(), key.get(), EVP_sha256());
  return pki::CertificatePem(cert.get());
}

}  // namespace certplan::testing
