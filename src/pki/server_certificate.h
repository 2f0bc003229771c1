#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "pki/authority.h"

namespace certplan::pki {

// The files of the HTTPS listener's own certificate, issued by the built-in CA.
struct ServerCertificateFiles {
  std::string cert_file;  // DIR/server.crt: the leaf, then its issuing chain
  std::string key_file;   // DIR/server.key: ECDSA P-256, PKCS#8, mode 0600 (unencrypted, like
                          // the CA's own keys: the server loads it at every start)
  std::string ca_file;    // DIR/ca.pem: the root that clients trust (NODE_EXTRA_CA_CERTS)
  bool issued = false;    // a new certificate was made by this call
};

// Reissue when the certificate in place expires within this many seconds.
inline constexpr int64_t kServerCertificateRenewBefore = 30 * 86400;

// The names a certificate for a listener on `host` carries: the host itself (when it is not a
// wildcard address; for 0.0.0.0 or :: the loopback names instead) then `extra` (DNS names or
// IP addresses), without duplicates.
std::vector<std::string> ServerCertificateNames(const std::string& host,
                                                const std::vector<std::string>& extra);

// Makes sure `dir` holds a certificate from `ca` for exactly `names` (IP addresses become
// iPAddress SANs, the rest dNSName SANs) valid for more than kServerCertificateRenewBefore
// after `now`; issues a new one (and key) otherwise. Files are replaced by rename, so a
// reader never sees half a file. kInternalError when a file cannot be written; kInvalidParameter
// for no names.
Result<ServerCertificateFiles> EnsureServerCertificate(const Authority& ca, const std::string& dir,
                                                       const std::vector<std::string>& names,
                                                       int64_t now);

}  // namespace certplan::pki
