#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cas/certificate.h"
#include "core/audit.h"
#include "core/result.h"

namespace certplan::cas {

// Which entries a list shows (spec/cas-repository.md §7.6, §7.7). Every field narrows.
struct CertificateQuery {
  std::optional<bool> upload;  // only uploads (true) or only issued entries (false)
  // Only these statuses (empty: all), judged at `now` (epoch seconds).
  std::vector<CertificateStatus> statuses;
  int64_t now = 0;
  // Lower-case; a substring of the CN, a SAN, the InstanceId or the Name, each lower-cased
  // (ASCII); empty: all. Certificates::List lower-cases what the caller gave.
  std::string keyword;
  int64_t offset = 0;  // entries skipped, newest first (CertId descending within a second)
  int64_t limit = 50;

  // Whether entries of `status` are listed.
  bool Wants(CertificateStatus status) const {
    return statuses.empty() ||
           std::find(statuses.begin(), statuses.end(), status) != statuses.end();
  }
};

struct CertificatePage {
  std::vector<Certificate> entries;
  int64_t total = 0;  // entries matching the query, all pages
};

// The refusal of an upload past the account's cap (the wording of Alibaba's `%s.OverQuota`
// codes), the same from every store.
inline Error UploadsOverQuota(int64_t max_uploads) {
  return Error(ErrorCode::kCertificateOverQuota,
               "The quantity of uploaded certificates exceeds the quota of " +
                   std::to_string(max_uploads) +
                   " for this account; delete one to upload another.");
}

// The repository as Certificates needs it (a port: store/ implements it, cli/ wires it). Issued
// entries are written by OrderStore::ApplyTransition(s), in the transaction of the order's
// issuance (Transition::certificate). Each method is one transaction; implementations are
// thread-safe and return kInternal or kServiceUnavailable on storage failures. A write returns
// only once its commit is durable.
class CertificateStore {
 public:
  virtual ~CertificateStore() = default;

  // Stores an upload, assigning its id (random in the upload range, retried on collision) and
  // its InstanceId (UploadInstanceId).
  // kCertificateOverQuota when the account already holds `max_uploads` uploads (issued entries
  // do not count; a deleted upload frees its slot): counted in the insert's transaction,
  // serialized with the account's other uploads, so concurrent uploads never pass the cap.
  // Then kParamRepeat when a present entry of the account already has the name. `audit`
  // (object_id: the CertId) is stored in the same transaction. Nothing is written on failure.
  virtual Result<Certificate> InsertUpload(Certificate certificate, const audit::Record& audit,
                                           int64_t max_uploads) = 0;
  // The account's entry with this id; nullopt for a missing, deleted or foreign one.
  virtual Result<std::optional<Certificate>> FindCertificate(int64_t account_id,
                                                             int64_t cert_id) = 0;
  // Deletes the account's entry, with `audit` in the same transaction; false (and nothing
  // written) when there was none.
  virtual Result<bool> DeleteCertificate(int64_t account_id, int64_t cert_id,
                                         const audit::Record& audit) = 0;
  // One page of the account's entries matching `query`, and how many match in all. Filtering and
  // paging happen in the store, on an index by account, never on the whole list in memory.
  // Listed entries carry no chain_pem (no list shows it): FindCertificate reads it.
  virtual Result<CertificatePage> ListCertificates(int64_t account_id,
                                                   const CertificateQuery& query) = 0;
};

}  // namespace certplan::cas
