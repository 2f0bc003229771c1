#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "cas/revocation_store.h"
#include "core/clock.h"
#include "core/result.h"
#include "pki/builtin_ca.h"
#include "pki/ocsp_responder.h"
#include "pki/secret_box.h"

namespace certplan::revocation {

// Where the listeners serve revocation status (plain HTTP, on every listener).
inline constexpr std::string_view kPathPrefix = "/pki/";
inline constexpr std::string_view kCrlPath = "/pki/crl";            // GET: the CRL, DER
inline constexpr std::string_view kIssuerPath = "/pki/issuer.crt";  // GET: the issuing CA, DER
inline constexpr std::string_view kOcspPath = "/pki/ocsp";          // POST; GET kOcspPath/<b64>

// The URLs order certificates carry for `[ca] public_url` (PUBLIC_URL + the paths above); none
// for an empty one.
pki::RevocationUrls UrlsFor(std::string_view public_url);
// `[ca] public_url`: an absolute http:// URL (a relying party must not need TLS to check a TLS
// certificate), printable ASCII, no query, fragment or user info; a trailing '/' is allowed.
// kInvalidParameter naming ca.public_url.
Status CheckPublicUrl(std::string_view url);

struct Settings {
  int64_t crl_validity_seconds = 24 * 3600;  // nextUpdate - thisUpdate ([ca] crl_validity_hours)
  int64_t ocsp_validity_seconds = 3600;      // nextUpdate - thisUpdate of an OCSP answer
  // How often the store is asked whether revocations were recorded elsewhere (another node
  // sharing the PostgreSQL store).
  int64_t store_check_seconds = 60;
  std::string responder_dir;  // the OCSP responder's certificate and sealed key
  pki::OcspLimits ocsp_limits;
};

// A CRL as published: signed once, served from memory to every request until the next.
struct PublishedCrl {
  std::string der;
  int64_t this_update = 0;
  int64_t next_update = 0;
  uint64_t number = 0;
  size_t entries = 0;
  cas::RevocationsVersion version;  // of the records it was made from
};

// What one RefreshIfDue() did.
struct Refreshed {
  bool crl = false;        // a new CRL was signed
  bool responder = false;  // the responder certificate was renewed
};

// The revocation status of the built-in CA's issuing CA: the CRL (RFC 5280 §5) and an OCSP
// responder (RFC 6960) with a delegated responder certificate, both from the revocation records
// in the store. Thread-safe.
//
// The CRL is signed again (RefreshIfDue) when a revocation is reported (NotifyRevoked), when
// the store's records changed (checked every store_check_seconds: another node revoked), and
// once half of its validity has passed, so a fresh one is out long before nextUpdate. cRLNumber
// is max(previous + 1, thisUpdate × 1000): increasing across restarts and across nodes whose
// clocks agree. The responder certificate is renewed kOcspResponderRenewBefore before it ends.
// OCSP answers read the store for each request, so they are current on every node.
class RevocationStatus {
 public:
  // Makes sure of the responder certificate (issuing one if needed) and signs the first CRL;
  // when the store cannot be read yet, the CRL follows with the first refresh that reaches it.
  // kInternal when the responder files cannot be written.
  static Result<std::unique_ptr<RevocationStatus>> Open(const pki::BuiltinCa& ca,
                                                        const pki::SecretBox& box,
                                                        cas::RevocationStore& store,
                                                        const Clock& clock, Settings settings);
  ~RevocationStatus();  // Stop()s

  // The CRL in force; null until the first is signed (the store was unreachable at start).
  std::shared_ptr<const PublishedCrl> crl() const;
  // The issuing CA's certificate, DER (served for caIssuers).
  const std::string& issuer_der() const { return ca_.issuing_der(); }
  // An OCSPResponse for a DER OCSPRequest (pki::OcspResponder::Answer): a serial this CA issued
  // is good or revoked; any other serial is unknown.
  pki::OcspAnswer AnswerOcsp(std::string_view request_der) const;

  // A revocation was committed: the CRL is signed again by the background thread (or the next
  // RefreshIfDue()).
  void NotifyRevoked();
  // Does whatever is due at the clock's now (see the class comment). On a failure the CRL or
  // responder in force stays and the failed part is retried by the next call; a failure to
  // renew the responder does not hold up the CRL (its error is returned after the CRL's work).
  Result<Refreshed> RefreshIfDue();

  // A background thread calling RefreshIfDue() when something is due (at least every
  // store_check_seconds) and at once after NotifyRevoked(). Stop() joins it.
  void Start();
  void Stop();

 private:
  RevocationStatus(const pki::BuiltinCa& ca, const pki::SecretBox& box, cas::RevocationStore& store,
                   const Clock& clock, Settings settings);
  Status SignCrl(int64_t now);          // refresh_mu_ held
  Status EnsureResponder(int64_t now);  // refresh_mu_ held
  int64_t SecondsUntilDue(int64_t now) const;
  void Run();

  const pki::BuiltinCa& ca_;
  const pki::SecretBox& box_;
  cas::RevocationStore& store_;
  const Clock& clock_;
  const Settings settings_;

  mutable std::mutex mu_;
  std::shared_ptr<const PublishedCrl> crl_;              // guarded by mu_
  std::shared_ptr<const pki::OcspResponder> responder_;  // guarded by mu_

  std::mutex refresh_mu_;         // one refresh at a time
  int64_t last_store_check_ = 0;  // guarded by refresh_mu_
  std::atomic<bool> dirty_{false};

  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  bool wake_ = false;  // guarded by wake_mu_
  bool stop_ = false;  // guarded by wake_mu_
  std::thread thread_;
};

}  // namespace certplan::revocation
