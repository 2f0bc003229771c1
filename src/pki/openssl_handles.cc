#include "pki/openssl_handles.h"

#include <algorithm>

#include <openssl/err.h>
#include <openssl/pem.h>

namespace certplan::pki {

BioPtr ReadBio(std::string_view text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

Error OpenSslError(std::string_view what) {
  std::string detail(what);
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    detail += "; ";
    detail += buf;
  }
  return InternalError(std::move(detail));
}

Result<X509Ptr> ParseCertificatePem(std::string_view pem) {
  ERR_clear_error();
  BioPtr bio = ReadBio(pem);
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return OpenSslError("PEM_read_bio_X509");
  return cert;
}

Result<PkeyPtr> ParsePrivateKeyPem(std::string_view pem) {
  ERR_clear_error();
  BioPtr bio = ReadBio(pem);
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return OpenSslError("PEM_read_bio_PrivateKey");
  return key;
}

std::string CertificatePem(X509* cert) {
  // Encoded once and wrapped here: PEM_write_bio_X509 encodes the certificate twice.
  unsigned char* der = nullptr;
  const int n = i2d_X509(cert, &der);
  if (n <= 0) return {};
  constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE-----\n";
  constexpr std::string_view kEnd = "-----END CERTIFICATE-----\n";
  std::string pem(kBegin);
  pem.reserve(kBegin.size() + kEnd.size() + static_cast<size_t>(n) / 48 * 65 + 66);
  unsigned char line[65];
  for (int at = 0; at < n; at += 48) {  // 48 bytes make one 64-character line
    const int chars = EVP_EncodeBlock(line, der + at, std::min(48, n - at));
    pem.append(reinterpret_cast<const char*>(line), static_cast<size_t>(chars)).push_back('\n');
  }
  OPENSSL_free(der);
  return pem.append(kEnd);
}

std::string PrivateKeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return BioText(bio.get());
}

std::string PublicKeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), key);
  return BioText(bio.get());
}

}  // namespace certplan::pki
