#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace certplan::cas {

// One entry of the certificate repository (spec/cas-repository.md §7.1): a certificate an
// account uploaded, or one an order of the account got issued. Everything but the name, the
// resource group and the key is read from the certificate itself when the entry is made.
// Times are epoch seconds.
struct Certificate {
  int64_t id = 0;  // CertId; an issued entry's is its order's id, an upload's comes from its own
                   // range (kFirstUploadCertId…), so the two never meet
  int64_t account_id = 0;
  std::string name;  // unique per account among present entries
  bool upload = false;
  int64_t order_id = 0;     // issued entries: the order; uploads: 0
  std::string instance_id;  // uploads: cas-upload-xxxxxx; issued: the order's cas-<id>
  std::string resource_group_id;
  std::string chain_pem;   // leaf first, canonical PEM
  std::string sealed_key;  // uploads: PKCS#8 PEM sealed under the master key; issued: empty
                           // (the order holds the key it made, if any)
  std::string common_name;
  std::vector<std::string> sans;  // DNS names
  std::string issuer;
  std::string org_name, province, city, country;
  int64_t not_before = 0;
  int64_t not_after = 0;
  std::string fingerprint;  // SHA-1 hex, upper-case
  std::string sha256;       // SHA-256 hex, upper-case
  std::string serial;       // lower-case hex
  std::string algorithm;    // RSA | ECC | SM2
  int64_t key_bits = 0;
  bool revoked = false;  // the issuing order was revoked
  int64_t created_at = 0;
  std::string tags_json = "[]";  // [{"Key":…,"Value":…}]: the upload's Tags, an order's own
  // What the lists show of an issued entry's order, copied at issuance so a page is one read:
  // its ProductCode (CertificateSource TEST or BUY), and whether a key is held (certplan made
  // it; a CSR order has none). Uploads: no code, and a key always.
  std::string product_code;
  bool has_key = false;
};

// Upload CertIds: random in [kFirstUploadCertId, kFirstUploadCertId + kUploadCertIdSpan), above
// every order id (orders take 16-digit ids from 10^15 to 9·10^15) and below 2^53, so JavaScript
// reads them exactly.
inline constexpr int64_t kFirstUploadCertId = 9'000'000'000'000'000;
inline constexpr int64_t kUploadCertIdSpan = 7'000'000'000'000;

// An upload's InstanceId, a function of its CertId: `cas-upload-` and six characters of [0-9a-z],
// the form of real uploads (`cas-upload-xki1d0`).
inline std::string UploadInstanceId(int64_t cert_id) {
  static constexpr char kAlphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  uint64_t n = static_cast<uint64_t>(cert_id) * 0x9E3779B97F4A7C15ULL;  // spreads the id's bits
  std::string out = "cas-upload-";
  for (int i = 0; i < 6; ++i) {
    out.push_back(kAlphabet[n % 36]);
    n /= 36;
  }
  return out;
}

// The repository's view of a certificate's life (ListCertificates `CertificateStatus`, §7.7):
// revoked, else expired (now ≥ NotAfter), else willExpire (within 30 days), else issued.
enum class CertificateStatus { kIssued, kWillExpire, kExpired, kRevoked };

}  // namespace certplan::cas
