#include "pki/server_certificate.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "pki/file_io.h"
#include "pki/openssl_handles.h"

namespace certplan::pki {
namespace {

bool IsIpAddress(const std::string& name) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, name.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, name.c_str(), buffer) == 1;
}

// The canonical text of an IP address (so "::0001" and "::1" compare equal).
std::string CanonicalIp(const std::string& name) {
  unsigned char buffer[16];
  char text[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET, name.c_str(), buffer) == 1) {
    return inet_ntop(AF_INET, buffer, text, sizeof text) ? text : name;
  }
  if (inet_pton(AF_INET6, name.c_str(), buffer) == 1) {
    return inet_ntop(AF_INET6, buffer, text, sizeof text) ? text : name;
  }
  return name;
}

// The names (DNS and canonical IP) in a certificate's subjectAltName.
std::set<std::string> SanNames(X509* cert) {
  std::set<std::string> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    if (gn->type == GEN_DNS) {
      const ASN1_STRING* s = gn->d.dNSName;
      out.emplace(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                  static_cast<size_t>(ASN1_STRING_length(s)));
    } else if (gn->type == GEN_IPADD) {
      const ASN1_STRING* s = gn->d.iPAddress;
      const int length = ASN1_STRING_length(s);
      char text[INET6_ADDRSTRLEN];
      if ((length == 4 || length == 16) && inet_ntop(length == 4 ? AF_INET : AF_INET6,
                                                     ASN1_STRING_get0_data(s), text, sizeof text)) {
        out.emplace(text);
      }
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

// True when the certificate and key in place can be kept: both readable, matching, for exactly
// `wanted` and valid past now + kServerCertificateRenewBefore.
bool Reusable(const ServerCertificateFiles& files, const std::set<std::string>& wanted,
              int64_t now) {
  std::optional<std::string> cert_pem = ReadFileText(files.cert_file);
  std::optional<std::string> key_pem = ReadFileText(files.key_file);
  if (!cert_pem || !key_pem || !ReadFileText(files.ca_file)) return false;
  Result<X509Ptr> cert = ParseCertificatePem(*cert_pem);
  Result<PkeyPtr> key = ParsePrivateKeyPem(*key_pem);
  if (!cert || !key) return false;
  const bool ok = X509_check_private_key(cert->get(), key->get()) == 1;
  ERR_clear_error();
  if (!ok || SanNames(cert->get()) != wanted) return false;
  time_t renew_at = static_cast<time_t>(now + kServerCertificateRenewBefore);
  return X509_cmp_time(X509_get0_notAfter(cert->get()), &renew_at) > 0;
}

}  // namespace

std::vector<std::string> ServerCertificateNames(const std::string& host,
                                                const std::vector<std::string>& extra) {
  std::vector<std::string> names;
  auto add = [&names](const std::string& name) {
    const std::string n = IsIpAddress(name) ? CanonicalIp(name) : name;
    if (!n.empty() && std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  };
  const std::string h = CanonicalIp(host);
  if (h == "0.0.0.0" || h == "::") {
    for (const char* loopback : {"localhost", "127.0.0.1", "::1"}) add(loopback);
  } else {
    add(host);
  }
  for (const std::string& name : extra) add(name);
  return names;
}

Result<ServerCertificateFiles> EnsureServerCertificate(const Authority& ca, const std::string& dir,
                                                       const std::vector<std::string>& names,
                                                       int64_t now) {
  if (names.empty()) return InvalidParameter("tls_names", "the certificate needs a name.");
  ServerCertificateFiles files{dir + "/server.crt", dir + "/server.key", dir + "/ca.pem", false};
  std::set<std::string> wanted;
  IssueRequest request;
  // Not one of the orders' certificates: the responder has no record of it.
  request.revocation_pointers = false;
  for (const std::string& name : names) {
    if (IsIpAddress(name)) {
      request.ip_addresses.push_back(CanonicalIp(name));
      wanted.insert(CanonicalIp(name));
    } else {
      request.domains.push_back(name);
      wanted.insert(name);
    }
  }
  if (Reusable(files, wanted, now)) return files;

  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return InternalError("mkdir " + dir + ": " + std::strerror(errno));
  }
  ERR_clear_error();
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return OpenSslError("EVP_EC_gen");
  request.public_key_pem = PublicKeyPem(key.get());
  request.not_before = now - 3600;
  request.not_after = now + 397 * 86400;
  Result<IssuedCertificate> issued = ca.Issue(request);
  if (!issued) return issued.error();
  // The key first: a crash in between leaves an old certificate that does not match it, which
  // the next start replaces.
  if (Status s = ReplaceFile(files.key_file, PrivateKeyPem(key.get()), 0600); !s) return s.error();
  if (Status s = ReplaceFile(files.ca_file, ca.root_pem(), 0644); !s) return s.error();
  if (Status s = ReplaceFile(files.cert_file, issued->certificate_pem + issued->chain_pem, 0644);
      !s) {
    return s.error();
  }
  files.issued = true;
  return files;
}

}  // namespace certplan::pki
