#include "revocation/revocation_status.h"

#include <algorithm>
#include <chrono>

#include "core/log.h"
#include "pki/key_id.h"
#include "pki/ocsp_responder_certificate.h"

namespace certplan::revocation {
namespace {

constexpr int64_t kRetrySeconds = 5;  // after a failed refresh

std::string_view WithoutTrailingSlash(std::string_view url) {
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  return url;
}

}  // namespace

pki::RevocationUrls UrlsFor(std::string_view public_url) {
  if (public_url.empty()) return {};
  const std::string base(WithoutTrailingSlash(public_url));
  return pki::RevocationUrls{base + std::string(kCrlPath), base + std::string(kOcspPath),
                             base + std::string(kIssuerPath)};
}

Status CheckPublicUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  auto bad = [](std::string_view why) { return InvalidParameter("ca.public_url", why); };
  if (!url.starts_with(kScheme)) {
    return bad(
        "use an http:// URL, e.g. \"http://pki.example.com\" (relying parties fetch CRLs "
        "and OCSP answers without TLS).");
  }
  for (char c : url) {
    if (c <= 0x20 || c >= 0x7f) return bad("printable ASCII only, no spaces.");
    if (c == '?' || c == '#') return bad("no query or fragment.");
  }
  const std::string_view rest = url.substr(kScheme.size());
  const std::string_view authority = rest.substr(0, rest.find('/'));
  if (authority.empty()) return bad("the URL names no host.");
  if (authority.find('@') != std::string_view::npos) return bad("no user information.");
  return Ok{};
}

RevocationStatus::RevocationStatus(const pki::BuiltinCa& ca, const pki::SecretBox& box,
                                   cas::RevocationStore& store, const Clock& clock,
                                   Settings settings)
    : ca_(ca), box_(box), store_(store), clock_(clock), settings_(std::move(settings)) {}

RevocationStatus::~RevocationStatus() { Stop(); }

Result<std::unique_ptr<RevocationStatus>> RevocationStatus::Open(const pki::BuiltinCa& ca,
                                                                 const pki::SecretBox& box,
                                                                 cas::RevocationStore& store,
                                                                 const Clock& clock,
                                                                 Settings settings) {
  std::unique_ptr<RevocationStatus> status(
      new RevocationStatus(ca, box, store, clock, std::move(settings)));
  std::scoped_lock lock(status->refresh_mu_);
  const int64_t now = clock.NowSeconds();
  if (Status s = status->EnsureResponder(now); !s) return s.error();
  // A store that is down at start (PostgreSQL) must not keep the node from serving: the CRL
  // comes with the first refresh that reaches it, /pki/crl answers 503 until then.
  if (Status s = status->SignCrl(now); !s) {
    status->dirty_.store(true);
    log::Line(log::Level::kWarn, "CRL not signed at start; retried in the background")
        .Str("error", s.error().message)
        .Str("detail", s.error().detail)
        .Write();
  }
  return status;
}

std::shared_ptr<const PublishedCrl> RevocationStatus::crl() const {
  std::scoped_lock lock(mu_);
  return crl_;
}

pki::OcspAnswer RevocationStatus::AnswerOcsp(std::string_view request_der) const {
  std::shared_ptr<const pki::OcspResponder> responder;
  {
    std::scoped_lock lock(mu_);
    responder = responder_;
  }
  auto lookup = [this](const std::string& serial_hex) -> Result<pki::OcspCertStatus> {
    Result<std::optional<cas::IssuedSerial>> found = store_.FindIssuedSerial(serial_hex);
    if (!found) return found.error();
    // "unknown" for what this CA never issued, another CA of the same store included.
    if (!*found || pki::FirstCertificateKeyId((*found)->chain_pem) != ca_.issuer_key_id()) {
      return pki::OcspCertStatus{};
    }
    if (const std::optional<cas::Revocation>& r = (*found)->revocation) {
      return pki::OcspCertStatus{pki::OcspCertState::kRevoked, r->revoked_at,
                                 static_cast<int>(r->reason)};
    }
    return pki::OcspCertStatus{pki::OcspCertState::kGood, 0, 0};
  };
  return responder->Answer(request_der, clock_.NowSeconds(), settings_.ocsp_validity_seconds,
                           lookup);
}

Status RevocationStatus::EnsureResponder(int64_t now) {
  {
    std::scoped_lock lock(mu_);
    if (responder_ && responder_->responder_not_after() - now > pki::kOcspResponderRenewBefore) {
      return Ok{};
    }
  }
  Result<pki::OcspResponderCredentials> credentials =
      pki::EnsureOcspResponderCertificate(ca_, box_, settings_.responder_dir, now);
  if (!credentials) return credentials.error();
  Result<std::unique_ptr<pki::OcspResponder>> responder = pki::OcspResponder::Create(
      ca_.issuing_pem(), credentials->cert_pem, credentials->key_pem, settings_.ocsp_limits);
  if (!responder) return responder.error();
  if (credentials->issued) {
    log::Line(log::Level::kInfo, "OCSP responder certificate issued")
        .Str("dir", settings_.responder_dir)
        .Int("not_after", credentials->not_after)
        .Write();
  }
  std::scoped_lock lock(mu_);
  responder_ = std::move(*responder);
  return Ok{};
}

Status RevocationStatus::SignCrl(int64_t now) {
  // The version first: a record added between the two reads is on this CRL, and the next
  // store check signs once more; never the other way round.
  Result<cas::RevocationsVersion> version = store_.VersionOfRevocations(ca_.issuer_key_id());
  if (!version) return version.error();
  Result<std::vector<cas::Revocation>> records = store_.ListRevocations(ca_.issuer_key_id(), now);
  if (!records) return records.error();
  std::shared_ptr<const PublishedCrl> previous = crl();
  pki::CrlContent content;
  content.this_update = now;
  content.next_update = now + settings_.crl_validity_seconds;
  const uint64_t by_time = static_cast<uint64_t>(std::max<int64_t>(now, 0)) * 1000;
  content.number = previous ? std::max(previous->number + 1, by_time) : by_time;
  content.entries.reserve(records->size());
  for (const cas::Revocation& r : *records) {
    content.entries.push_back({r.serial_hex, r.revoked_at, static_cast<int>(r.reason)});
  }
  Result<std::string> der = ca_.SignCrl(content);
  if (!der) return der.error();
  auto published = std::make_shared<PublishedCrl>(PublishedCrl{std::move(*der), content.this_update,
                                                               content.next_update, content.number,
                                                               content.entries.size(), *version});
  last_store_check_ = now;
  log::Line(log::Level::kInfo, "CRL signed")
      .Int("number", static_cast<int64_t>(published->number))
      .Int("entries", static_cast<int64_t>(published->entries))
      .Int("next_update", published->next_update)
      .Write();
  std::scoped_lock lock(mu_);
  crl_ = std::move(published);
  return Ok{};
}

void RevocationStatus::NotifyRevoked() {
  dirty_.store(true);
  {
    std::scoped_lock lock(wake_mu_);
    wake_ = true;
  }
  wake_cv_.notify_one();
}

Result<Refreshed> RevocationStatus::RefreshIfDue() {
  std::scoped_lock lock(refresh_mu_);
  const int64_t now = clock_.NowSeconds();
  Refreshed done;
  // The responder and the CRL are independent: a failure of one never holds up the other.
  Status responder_status = Ok{};
  std::shared_ptr<const pki::OcspResponder> responder;
  {
    std::scoped_lock guard(mu_);
    responder = responder_;
  }
  if (responder->responder_not_after() - now <= pki::kOcspResponderRenewBefore) {
    responder_status = EnsureResponder(now);
    done.responder = static_cast<bool>(responder_status);
  }
  const std::shared_ptr<const PublishedCrl> current = crl();
  bool due = dirty_.exchange(false) || !current ||
             now >= current->this_update + settings_.crl_validity_seconds / 2;
  if (!due && now - last_store_check_ >= settings_.store_check_seconds) {
    Result<cas::RevocationsVersion> version = store_.VersionOfRevocations(ca_.issuer_key_id());
    if (!version) return version.error();
    last_store_check_ = now;
    due = *version != current->version;
  }
  if (due) {
    if (Status s = SignCrl(now); !s) {
      dirty_.store(true);  // the next call tries again
      return s.error();
    }
    done.crl = true;
  }
  if (!responder_status) return responder_status.error();
  return done;
}

int64_t RevocationStatus::SecondsUntilDue(int64_t now) const {
  std::shared_ptr<const PublishedCrl> current = crl();
  if (!current) return kRetrySeconds;
  const int64_t halfway = current->this_update + settings_.crl_validity_seconds / 2;
  return std::clamp<int64_t>(halfway - now, 1, settings_.store_check_seconds);
}

void RevocationStatus::Start() {
  if (thread_.joinable()) return;
  {
    std::scoped_lock lock(wake_mu_);
    stop_ = false;
  }
  thread_ = std::thread([this] { Run(); });
}

void RevocationStatus::Stop() {
  {
    std::scoped_lock lock(wake_mu_);
    stop_ = true;
  }
  wake_cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void RevocationStatus::Run() {
  for (;;) {
    int64_t wait = kRetrySeconds;
    try {
      Result<Refreshed> done = RefreshIfDue();
      if (!done) {
        log::Line(log::Level::kWarn,
                  "revocation status refresh failed; the CRL and responder in force stay")
            .Str("error", done.error().message)
            .Str("detail", done.error().detail)
            .Write();
      } else {
        wait = SecondsUntilDue(clock_.NowSeconds());
      }
    } catch (const std::exception& e) {  // the one catch of this background loop (STYLE §2.4)
      log::Line(log::Level::kError, "revocation status refresh threw")
          .Str("what", e.what())
          .Write();
    }
    std::unique_lock lock(wake_mu_);
    wake_cv_.wait_for(lock, std::chrono::seconds(wait), [this] { return stop_ || wake_; });
    if (stop_) return;
    wake_ = false;
  }
}

}  // namespace certplan::revocation
