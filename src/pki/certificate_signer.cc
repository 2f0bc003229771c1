#include "pki/certificate_signer.h"

namespace certplan::pki {

Result<std::unique_ptr<CertificateSigner>> CertificateSigner::For(EVP_PKEY* key) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx ||
      EVP_DigestSignInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, key, nullptr) != 1) {
    return OpenSslError("EVP_DigestSignInit_ex");
  }
  return std::unique_ptr<CertificateSigner>(new CertificateSigner(std::move(ctx)));
}

bool CertificateSigner::Sign(X509* cert) const {
  thread_local MdCtxPtr scratch(EVP_MD_CTX_new());
  if (!scratch || EVP_MD_CTX_copy_ex(scratch.get(), prepared_.get()) != 1) return false;
  return X509_sign_ctx(cert, scratch.get()) > 0;
}

MdCtxPtr CertificateSigner::Context() const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_MD_CTX_copy_ex(ctx.get(), prepared_.get()) != 1) return nullptr;
  return ctx;
}

}  // namespace certplan::pki
