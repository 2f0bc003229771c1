#include "pki/ocsp_responder_certificate.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <openssl/err.h>

#include "pki/file_io.h"
#include "pki/ocsp_responder.h"
#include "pki/openssl_handles.h"
#include "pki/public_key.h"

namespace certplan::pki {
namespace {

constexpr std::string_view kSealContext = "ocsp-responder";

// The credentials in `dir` when they can be used until past now + kOcspResponderRenewBefore.
std::optional<OcspResponderCredentials> Reusable(const BuiltinCa& ca, const SecretBox& box,
                                                 const std::string& cert_file,
                                                 const std::string& key_file, int64_t now) {
  std::optional<std::string> cert_pem = ReadFileText(cert_file);
  std::optional<std::string> sealed = ReadFileText(key_file);
  if (!cert_pem || !sealed) return std::nullopt;
  Result<std::string> key_pem = box.Open(*sealed, kSealContext);
  if (!key_pem) return std::nullopt;
  // The responder checks the pair and the issuer as it will use them.
  Result<std::unique_ptr<OcspResponder>> responder =
      OcspResponder::Create(ca.issuing_pem(), *cert_pem, *key_pem);
  if (!responder) return std::nullopt;
  const int64_t not_after = (*responder)->responder_not_after();
  if (not_after - now <= kOcspResponderRenewBefore) return std::nullopt;
  return OcspResponderCredentials{std::move(*cert_pem), std::move(*key_pem), not_after, false};
}

}  // namespace

Result<OcspResponderCredentials> EnsureOcspResponderCertificate(const BuiltinCa& ca,
                                                                const SecretBox& box,
                                                                const std::string& dir,
                                                                int64_t now) {
  const std::string cert_file = dir + "/ocsp-responder.pem";
  const std::string key_file = dir + "/ocsp-responder.key.sealed";
  if (std::optional<OcspResponderCredentials> kept = Reusable(ca, box, cert_file, key_file, now)) {
    return std::move(*kept);
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return InternalError("mkdir " + dir + ": " + std::strerror(errno));
  }
  ERR_clear_error();
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return OpenSslError("EVP_EC_gen");
  const int64_t not_after = now + kOcspResponderValidity;
  // A few minutes back, for relying parties whose clocks run a little behind.
  Result<std::string> cert_pem =
      ca.IssueOcspResponderCertificate(PublicKeyDer(key.get()), now - 300, not_after);
  if (!cert_pem) return cert_pem.error();
  const std::string key_pem = PrivateKeyPem(key.get());
  // The key first: a crash in between leaves a certificate that does not match it, which the
  // next call replaces.
  if (Status s = ReplaceFile(key_file, box.Seal(key_pem, kSealContext), 0600); !s) {
    return s.error();
  }
  if (Status s = ReplaceFile(cert_file, *cert_pem, 0644); !s) return s.error();
  return OcspResponderCredentials{std::move(*cert_pem), key_pem, not_after, true};
}

}  // namespace certplan::pki
