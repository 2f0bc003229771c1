#include "pki/openssl_handles.h"

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

X509ReqPtr ParseCsrPem(std::string_view pem) {
  constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE REQUEST-----";
  constexpr std::string_view kEnd = "-----END CERTIFICATE REQUEST-----";
  const size_t begin = pem.find(kBegin);
  const size_t end = pem.find(kEnd);
  if (begin == std::string_view::npos || end == std::string_view::npos || end < begin)
    return nullptr;
  std::string b64;
  b64.reserve(end - begin);
  for (char c : pem.substr(begin + kBegin.size(), end - begin - kBegin.size())) {
    if (c != '\n' && c != '\r' && c != ' ' && c != '\t') b64 += c;
  }
  if (b64.empty() || b64.size() % 4 != 0) return nullptr;
  std::string der(b64.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(der.data()),
                                reinterpret_cast<const unsigned char*>(b64.data()),
                                static_cast<int>(b64.size()));
  if (n < 0) return nullptr;
  // EVP_DecodeBlock counts the '=' padding as zero bytes; DER parsing stops at the real end.
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509ReqPtr req(d2i_X509_REQ(nullptr, &p, n));
  ERR_clear_error();
  return req;
}

Result<PkeyPtr> ParsePrivateKeyPem(std::string_view pem) {
  ERR_clear_error();
  BioPtr bio = ReadBio(pem);
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return OpenSslError("PEM_read_bio_PrivateKey");
  return key;
}

std::string CertificatePem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return BioText(bio.get());
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
