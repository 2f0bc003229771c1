#pragma once

#include <memory>

#include "core/result.h"
#include "pki/openssl_handles.h"

namespace certplan::pki {

// Signs certificates with one private key and SHA-256. The signing context is prepared once and
// copied for each certificate: setting it up afresh (fetching the digest and the signature
// implementation by name) costs as much as the signature. Thread-safe.
class CertificateSigner {
 public:
  static Result<std::unique_ptr<CertificateSigner>> For(EVP_PKEY* key);
  // Sets the signature algorithm fields and signs. false on an OpenSSL failure (queue kept).
  bool Sign(X509* cert) const;
  // A copy of the prepared context, for signing what is not a certificate (X509_CRL_sign_ctx,
  // OCSP_basic_sign_ctx). nullptr on an OpenSSL failure (queue kept).
  MdCtxPtr Context() const;

 private:
  explicit CertificateSigner(MdCtxPtr prepared) : prepared_(std::move(prepared)) {}
  MdCtxPtr prepared_;
};

}  // namespace certplan::pki
