#include "pki/key_id.h"

#include <openssl/err.h>

#include "core/hex.h"
#include "pki/certificate_builder.h"
#include "pki/der.h"

namespace certplan::pki {

std::string KeyId(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_pubkey_digest(cert, EVP_sha1(), md, &len) != 1) {
    ERR_clear_error();
    return {};
  }
  return HexEncode(std::string_view(reinterpret_cast<const char*>(md), len));
}

std::string FirstCertificateKeyId(std::string_view chain_pem) {
  std::optional<std::string> der = PemBody(chain_pem, "CERTIFICATE");
  if (!der) return {};
  const auto* p = reinterpret_cast<const unsigned char*>(der->data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der->size())));
  if (!cert) {
    ERR_clear_error();
    return {};
  }
  return KeyId(cert.get());
}

}  // namespace certplan::pki
