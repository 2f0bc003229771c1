#include "pki/builtin_ca.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <openssl/err.h>
#include <openssl/rsa.h>

#include "pki/certificate_builder.h"
#include "pki/csr_check.h"
#include "pki/der.h"
#include "pki/openssl_handles.h"
#include "pki/public_key.h"

namespace certplan::pki {
namespace {

constexpr int64_t kYear = 365 * 86400;

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidParameter("ca", "cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Writes `text` to a new file with `mode`; never overwrites (O_EXCL).
Status WriteNewFile(const std::string& path, const std::string& text, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, mode);
  if (fd < 0) return InternalError("create " + path + ": " + std::strerror(errno));
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return InternalError("write " + path);
  return Ok{};
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

Result<PkeyPtr> NewEcKey() {
  ERR_clear_error();
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return OpenSslError("EVP_EC_gen");
  return key;
}

}  // namespace

struct BuiltinCa::Keys {
  X509Ptr root;
  X509Ptr issuing;
  PkeyPtr issuing_key;
  std::unique_ptr<CertificateSigner> signer;
};

BuiltinCa::BuiltinCa(std::unique_ptr<Keys> keys, RevocationUrls urls)
    : keys_(std::move(keys)), urls_(std::move(urls)) {
  root_pem_ = CertificatePem(keys_->root.get());
  issuing_pem_ = CertificatePem(keys_->issuing.get());
  unsigned char* der = nullptr;
  const int n = i2d_X509(keys_->issuing.get(), &der);
  if (n > 0) issuing_der_.assign(reinterpret_cast<const char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  issuer_key_id_ = KeyId(keys_->issuing.get());
  std::optional<ChainElement> issuing = ChainElementOf(keys_->issuing.get());
  if (issuing) issuing_chain_.push_back(std::move(*issuing));
  issuing_chain_read_ = issuing.has_value();
}

BuiltinCa::~BuiltinCa() = default;

namespace {

// First start: a root and an issuing intermediate, written once and reused afterwards.
Status CreateHierarchy(const std::string& dir, int64_t now) {
  Result<PkeyPtr> root_key = NewEcKey();
  if (!root_key) return root_key.error();
  Result<PkeyPtr> issuing_key = NewEcKey();
  if (!issuing_key) return issuing_key.error();
  Result<std::unique_ptr<CertificateSigner>> root_signer = CertificateSigner::For(root_key->get());
  if (!root_signer) return root_signer.error();
  const std::string root_public = PublicKeyDer(root_key->get());
  const std::string issuing_public = PublicKeyDer(issuing_key->get());
  CertificateSpec root{
      "certplan Root CA", "certplan",       {},   root_public, nullptr, root_signer->get(),
      now - 3600,         now + 20 * kYear, true, -1,          {}};
  Result<X509Ptr> root_cert = BuildCertificate(root);
  if (!root_cert) return root_cert.error();
  CertificateSpec issuing{"certplan Issuing CA",
                          "certplan",
                          {},
                          issuing_public,
                          root_cert->get(),
                          root_signer->get(),
                          now - 3600,
                          now + 10 * kYear,
                          true,
                          0,
                          {}};
  Result<X509Ptr> issuing_cert = BuildCertificate(issuing);
  if (!issuing_cert) return issuing_cert.error();
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return InternalError("mkdir " + dir + ": " + std::strerror(errno));
  }
  // Keys before certificates: a crash in between leaves no certificate without its key, and the
  // issuing certificate is written last, so its presence means the hierarchy is complete.
  for (auto [file, text, mode] :
       {std::tuple{"/root.key", PrivateKeyPem(root_key->get()), 0600},
        std::tuple{"/issuing.key", PrivateKeyPem(issuing_key->get()), 0600},
        std::tuple{"/root.pem", CertificatePem(root_cert->get()), 0644},
        std::tuple{"/issuing.pem", CertificatePem(issuing_cert->get()), 0644}}) {
    if (Status s = WriteNewFile(dir + file, text, static_cast<mode_t>(mode)); !s) return s;
  }
  return Ok{};
}

}  // namespace

Result<std::unique_ptr<BuiltinCa>> BuiltinCa::Open(const CaFiles& files, int64_t now,
                                                   RevocationUrls urls) {
  CaFiles f = files;
  if (f.root_cert_file.empty()) {
    f.root_cert_file = f.dir + "/root.pem";
    f.issuing_cert_file = f.dir + "/issuing.pem";
    f.issuing_key_file = f.dir + "/issuing.key";
    if (!Exists(f.issuing_cert_file)) {
      if (Status s = CreateHierarchy(f.dir, now); !s) return s.error();
    }
  }
  auto keys = std::make_unique<Keys>();
  for (auto [path, out] : {std::pair{&f.root_cert_file, &keys->root},
                           std::pair{&f.issuing_cert_file, &keys->issuing}}) {
    Result<std::string> pem = ReadFile(*path);
    if (!pem) return pem.error();
    Result<X509Ptr> cert = ParseCertificatePem(*pem);
    if (!cert) return InvalidParameter("ca", "not a PEM certificate: " + *path);
    *out = std::move(*cert);
  }
  Result<std::string> key_pem = ReadFile(f.issuing_key_file);
  if (!key_pem) return key_pem.error();
  Result<PkeyPtr> key = ParsePrivateKeyPem(*key_pem);
  if (!key) return InvalidParameter("ca", "not a PEM private key: " + f.issuing_key_file);
  if (X509_check_private_key(keys->issuing.get(), key->get()) != 1) {
    ERR_clear_error();
    return InvalidParameter("ca", "the issuing key does not match the issuing certificate.");
  }
  keys->issuing_key = std::move(*key);
  Result<std::unique_ptr<CertificateSigner>> signer =
      CertificateSigner::For(keys->issuing_key.get());
  if (!signer) return signer.error();
  keys->signer = std::move(*signer);
  return std::unique_ptr<BuiltinCa>(new BuiltinCa(std::move(keys), std::move(urls)));
}

Result<CsrFacts> BuiltinCa::InspectCsr(const std::string& csr_pem) const {
  return CheckCsr(csr_pem);
}

Result<CsrFacts> BuiltinCa::InspectCsrNamesInSan(const std::string& csr_pem) const {
  return CheckCsr(csr_pem, /*require_cn=*/false);
}

Result<GeneratedKey> BuiltinCa::GenerateKey() const {
  ERR_clear_error();
  PkeyPtr key(EVP_RSA_gen(2048));
  if (!key) return OpenSslError("EVP_RSA_gen");
  return GeneratedKey{PrivateKeyPem(key.get()), PublicKeyPem(key.get())};
}

namespace {

// The SubjectPublicKeyInfo to certify, as DER: the request's own bytes, or the generated key's.
std::optional<std::string> SubjectPublicKey(const IssueRequest& request) {
  if (request.csr_pem.empty()) return PemBody(request.public_key_pem, "PUBLIC KEY");
  std::optional<std::string> der = PemBody(request.csr_pem, "CERTIFICATE REQUEST");
  std::optional<CsrParts> csr = der ? SplitCsr(*der) : std::nullopt;
  if (!csr) return std::nullopt;
  return std::string(csr->public_key);
}

}  // namespace

Result<IssuedCertificate> BuiltinCa::Issue(const IssueRequest& request) const {
  ERR_clear_error();
  std::optional<std::string> subject_key = SubjectPublicKey(request);
  if (!subject_key || (request.domains.empty() && request.ip_addresses.empty())) {
    return InternalError("the order carries no usable public key");
  }
  CertificateSpec leaf{CommonNameFor(request.domains),
                       OrganizationFor(request.organization),
                       request.domains,
                       *subject_key,
                       keys_->issuing.get(),
                       keys_->signer.get(),
                       request.not_before,
                       request.not_after,
                       false,
                       -1,
                       request.ip_addresses};
  if (request.revocation_pointers) {
    leaf.crl_url = urls_.crl;
    leaf.ocsp_url = urls_.ocsp;
    leaf.ca_issuers_url = urls_.ca_issuers;
  }
  Result<X509Ptr> cert = BuildCertificate(leaf);
  if (!cert) return cert.error();
  IssuedCertificate issued{CertificatePem(cert->get()), issuing_pem_,      SerialHex(cert->get()),
                           request.not_before,          request.not_after, std::nullopt};
  // The repository's facts from the certificate in hand: parsing the PEM back would cost more
  // than the signature (OpenSSL 3.0 decodes a parsed certificate's key).
  if (issuing_chain_read_) {
    Result<CertificateFacts> facts = FactsOfBuilt(cert->get(), *subject_key, issuing_chain_);
    if (facts) issued.facts = std::move(*facts);
  }
  return issued;
}

Result<std::string> BuiltinCa::SignCrl(const CrlContent& content) const {
  return BuildCrl(keys_->issuing.get(), *keys_->signer, content);
}

Result<std::string> BuiltinCa::IssueOcspResponderCertificate(std::string_view subject_public_key,
                                                             int64_t not_before,
                                                             int64_t not_after) const {
  CertificateSpec spec;
  spec.common_name = "certplan OCSP Responder";
  spec.organization = "certplan";
  spec.subject_public_key = subject_public_key;
  spec.issuer = keys_->issuing.get();
  spec.signer = keys_->signer.get();
  spec.not_before = not_before;
  spec.not_after = not_after;
  spec.ocsp_signing = true;
  Result<X509Ptr> cert = BuildCertificate(spec);
  if (!cert) return cert.error();
  return CertificatePem(cert->get());
}

}  // namespace certplan::pki
