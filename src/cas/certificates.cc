#include "cas/certificates.h"

#include <algorithm>
#include <cctype>

#include "core/utf8.h"

namespace certplan::cas {
namespace {

constexpr size_t kMaxNameCharacters = 64;  // spec/cas-repository.md §7.3 (newest docs)
constexpr std::string_view kIssuedNamePrefix = "cert-";

std::string UploadKeyContext(int64_t account_id) {
  return "certificate-upload:" + std::to_string(account_id);
}

// C0/C1 controls, and the invisible format characters that make one name look like another
// (zero-width, bidirectional overrides and isolates, word joiners, the BOM).
bool IsControlOrFormat(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0xad || (cp >= 0x200b && cp <= 0x200f) ||
         (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2064) ||
         (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

// Unicode's White_Space characters (besides the controls refused above).
bool IsSpace(char32_t cp) {
  return cp == 0x20 || cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
         cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

// §7.3: 1–64 characters (code points), any Unicode but control characters, no leading or
// trailing space, and not the prefix issued entries are named with.
Status CheckName(std::string_view name) {
  if (name.empty()) return MissingParameter("Name");
  // Parameters reach the domain as valid UTF-8 (rpc refuses anything else).
  size_t characters = 0;
  char32_t first = 0, last = 0;
  for (size_t pos = 0; pos < name.size(); ++characters) {
    const char32_t cp = utf8::Next(name, pos);
    if (characters == 0) first = cp;
    last = cp;
    if (IsControlOrFormat(cp)) {
      return InvalidParameter("Name", "it holds a control or invisible formatting character.");
    }
  }
  if (characters > kMaxNameCharacters) {
    return InvalidParameter("Name", "it must be at most 64 characters.");
  }
  if (IsSpace(first) || IsSpace(last)) {
    return InvalidParameter("Name", "it must not begin or end with a space.");
  }
  if (name.starts_with(kIssuedNamePrefix)) {
    return InvalidParameter("Name", "the prefix \"cert-\" is reserved for issued certificates.");
  }
  return Ok{};
}

void CopyFacts(const pki::CertificateFacts& f, Certificate& c) {
  c.common_name = f.common_name;
  c.sans = f.sans;
  c.issuer = f.issuer;
  c.org_name = f.org_name;
  c.province = f.province;
  c.city = f.city;
  c.country = f.country;
  c.not_before = f.not_before;
  c.not_after = f.not_after;
  c.fingerprint = f.fingerprint;
  c.sha256 = f.sha256;
  c.serial = f.serial;
  c.algorithm = std::string(pki::KeyAlgorithmName(f.algorithm));
  c.key_bits = f.key_bits;
}

Error NotFoundCertificate() {
  return Error(ErrorCode::kNotFound, "The specified certificate does not exist.");
}

}  // namespace

CertificateStatus StatusOf(const Certificate& entry, int64_t now) {
  if (entry.revoked) return CertificateStatus::kRevoked;
  if (now >= entry.not_after) return CertificateStatus::kExpired;
  if (entry.not_after - now <= kWillExpireSeconds) return CertificateStatus::kWillExpire;
  return CertificateStatus::kIssued;
}

Result<Certificate> Certificates::Upload(int64_t account_id, const cas::Upload& upload,
                                         const audit::Actor& by) {
  if (Status s = CheckName(upload.name); !s) return s.error();
  if (upload.cert_pem.empty()) return MissingParameter("Cert");
  if (upload.key_pem.empty()) return MissingParameter("Key");
  const int64_t now = clock_.NowSeconds();
  Result<pki::CheckedUpload> checked = pki::CheckUpload(upload.cert_pem, upload.key_pem, now);
  if (!checked) return checked.error();
  Certificate entry;
  entry.account_id = account_id;
  entry.name = upload.name;
  entry.upload = true;
  entry.resource_group_id = upload.resource_group_id;
  entry.tags_json = upload.tags_json;
  entry.chain_pem = std::move(checked->chain_pem);
  entry.sealed_key = box_.Seal(checked->key_pem, UploadKeyContext(account_id));
  entry.has_key = true;
  CopyFacts(checked->facts, entry);
  entry.created_at = now;
  return store_.InsertUpload(std::move(entry), audit::Succeeded(by, now, account_id, "CertId"),
                             max_uploads_);
}

Result<CertificateDetail> Certificates::Get(int64_t account_id, int64_t cert_id) {
  Result<std::optional<Certificate>> found = store_.FindCertificate(account_id, cert_id);
  if (!found) return found.error();
  if (!*found) return NotFoundCertificate();
  CertificateDetail detail;
  detail.entry = std::move(**found);
  const Certificate& e = detail.entry;
  if (e.upload) {
    Result<std::string> key = box_.Open(e.sealed_key, UploadKeyContext(account_id));
    if (!key) return key.error();
    detail.key_pem = std::move(*key);
  } else {
    Result<std::optional<Order>> order = orders_.FindOrder(account_id, e.order_id);
    if (!order) return order.error();
    if (*order && !(*order)->sealed_private_key.empty()) {
      Result<std::string> key =
          box_.Open((*order)->sealed_private_key, OrderKeyContext((*order)->id));
      if (!key) return key.error();
      detail.key_pem = std::move(*key);
    }
  }
  Result<pki::ReadChainResult> chain = pki::ReadChain(e.chain_pem);
  if (!chain)
    return InternalError("stored chain of certificate " + std::to_string(e.id) +
                         " unreadable: " + chain.error().message);
  detail.chain = std::move(chain->facts.chain);
  return detail;
}

Status Certificates::Delete(int64_t account_id, int64_t cert_id, const audit::Actor& by) {
  Result<std::optional<Certificate>> found = store_.FindCertificate(account_id, cert_id);
  if (!found) return found.error();
  if (!*found) return NotFoundCertificate();
  const Certificate& e = **found;
  const int64_t now = clock_.NowSeconds();
  const CertificateStatus status = StatusOf(e, now);
  if (!e.upload && status != CertificateStatus::kRevoked && status != CertificateStatus::kExpired) {
    return Error(ErrorCode::kDeleteFail,
                 "An issued certificate can be deleted once it is revoked or expired.");
  }
  Result<bool> deleted = store_.DeleteCertificate(
      account_id, cert_id,
      audit::Succeeded(by, now, account_id, "CertId", std::to_string(cert_id)));
  if (!deleted) return deleted.error();
  if (!*deleted) return NotFoundCertificate();  // deleted meanwhile
  return Ok{};
}

Result<CertificatePage> Certificates::List(int64_t account_id, CertificateQuery query) {
  query.now = clock_.NowSeconds();
  std::transform(query.keyword.begin(), query.keyword.end(), query.keyword.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return store_.ListCertificates(account_id, query);
}

Result<Certificate> Certificates::EntryForIssuedOrder(const Order& order, int64_t now,
                                                      const pki::CertificateFacts* facts) {
  pki::ReadChainResult read;
  if (facts) {
    // The CA's own PEM is canonical already: what ReadChain would re-encode it to.
    read.facts = *facts;
    read.chain_pem = order.certificate_pem + order.chain_pem;
  } else {
    Result<pki::ReadChainResult> parsed = pki::ReadChain(order.certificate_pem + order.chain_pem);
    if (!parsed) {
      return InternalError("issued certificate of order " + std::to_string(order.id) +
                           " unreadable: " + parsed.error().message);
    }
    read = std::move(*parsed);
  }
  Certificate entry;
  entry.id = order.id;
  entry.account_id = order.account_id;
  entry.name = std::string(kIssuedNamePrefix) + std::to_string(order.id);
  entry.upload = false;
  entry.order_id = order.id;
  entry.instance_id = "cas-" + std::to_string(order.id);
  entry.tags_json = order.tags_json.empty() ? "[]" : order.tags_json;
  entry.product_code = order.product_code;
  entry.has_key = !order.sealed_private_key.empty();
  entry.chain_pem = std::move(read.chain_pem);
  CopyFacts(read.facts, entry);
  entry.created_at = now;
  return entry;
}

}  // namespace certplan::cas
