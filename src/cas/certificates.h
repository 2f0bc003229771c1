#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cas/certificate.h"
#include "cas/certificate_store.h"
#include "cas/order.h"
#include "cas/order_store.h"
#include "core/audit.h"
#include "core/clock.h"
#include "core/result.h"
#include "pki/certificate_chain.h"
#include "pki/secret_box.h"

namespace certplan::cas {

// An UploadUserCertificate call after wire decoding (spec/cas-repository.md §7.3).
struct Upload {
  std::string name;
  std::string cert_pem;
  std::string key_pem;
  std::string resource_group_id;
  std::string tags_json = "[]";  // decoded and checked as for orders (spec §3.4 limits)
};

// GetUserCertificateDetail's view of an entry: the entry, its key (PKCS#8 PEM; empty when none
// is held) and its chain read from the stored PEM.
struct CertificateDetail {
  Certificate entry;
  std::string key_pem;
  std::vector<pki::ChainElement> chain;
};

// The certificate repository (spec/cas-repository.md §7): uploads checked and stored with their
// key sealed, issued entries read, lists, deletion. An entry of another account is
// indistinguishable from a missing one (kNotFound). Thread-safe. Upload and Delete name their
// caller (`by`); on success its audit record (object: the CertId) is stored with the change, a
// refusal writes nothing (the caller records it).
class Certificates {
 public:
  // Uploads an account may hold at once when the configuration does not say
  // (limits.uploads_per_account): no limit of the real service is published, and this is far
  // above what a deployment pipeline keeps while bounding what one account can store.
  static constexpr int64_t kDefaultMaxUploads = 10'000;

  Certificates(CertificateStore& store, OrderStore& orders, const pki::SecretBox& box,
               const Clock& clock, int64_t max_uploads = kDefaultMaxUploads)
      : store_(store), orders_(orders), box_(box), clock_(clock), max_uploads_(max_uploads) {}

  // Checks in §7.3's order: Name (kMissingParameter, kInvalidParameter; the `cert-` prefix is
  // reserved for issued entries), Cert and Key present (kMissingParameter), then the chain and
  // key (pki::CheckUpload's codes), then the account holds fewer than `max_uploads` uploads
  // (kCertificateOverQuota), then the name is free (kParamRepeat). Nothing is stored on any
  // failure. Returns the stored entry (CertId, InstanceId).
  Result<Certificate> Upload(int64_t account_id, const cas::Upload& upload, const audit::Actor& by);
  // kNotFound for a missing, deleted or foreign CertId.
  Result<CertificateDetail> Get(int64_t account_id, int64_t cert_id);
  // Uploads, and issued entries that are revoked or expired (§7.5): kDeleteFail for an issued
  // certificate still valid; kNotFound as Get. The order is never touched.
  Status Delete(int64_t account_id, int64_t cert_id, const audit::Actor& by);
  Result<CertificatePage> List(int64_t account_id, CertificateQuery query);

  // The repository entry of an order the CA just signed (certificate_pem, chain_pem set): its
  // CertId is the order's id, its Name `cert-<id>`. `facts`: what the CA read off the chain it
  // built (pki::IssuedCertificate::facts); null: read from the order's PEM (kInternal if the
  // issued chain cannot be read).
  static Result<Certificate> EntryForIssuedOrder(const Order& order, int64_t now,
                                                 const pki::CertificateFacts* facts = nullptr);

 private:
  CertificateStore& store_;
  OrderStore& orders_;
  const pki::SecretBox& box_;
  const Clock& clock_;
  const int64_t max_uploads_;
};

// CertificateStatus of an entry at `now` (epoch seconds).
CertificateStatus StatusOf(const Certificate& entry, int64_t now);

}  // namespace certplan::cas
