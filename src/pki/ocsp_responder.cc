#include "pki/ocsp_responder.h"

#include <array>
#include <ctime>
#include <utility>
#include <vector>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "pki/certificate_signer.h"
#include "pki/openssl_handles.h"

namespace certplan::pki {
namespace {

template <typename T, auto kFree>
using Owned = std::unique_ptr<T, FreeWith<kFree>>;

std::string Digest(const EVP_MD* md, const unsigned char* data, size_t size) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data, size, out, &len, md, nullptr) != 1) return {};
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string_view Bytes(const ASN1_STRING* s) {
  return {reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
          static_cast<size_t>(ASN1_STRING_length(s))};
}

int64_t EpochOf(const ASN1_TIME* t) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

std::string SerialHexOf(const ASN1_INTEGER* serial) {
  BignumPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!bn) return {};
  char* hex = BN_bn2hex(bn.get());
  std::string out = hex ? hex : "";
  OPENSSL_free(hex);
  return out;
}

std::string ResponseDer(OCSP_RESPONSE* response) {
  unsigned char* der = nullptr;
  const int n = i2d_OCSP_RESPONSE(response, &der);
  if (n <= 0) return {};
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

int ResponseStatus(OcspOutcome outcome) {
  switch (outcome) {
    case OcspOutcome::kSuccessful: return OCSP_RESPONSE_STATUS_SUCCESSFUL;
    case OcspOutcome::kMalformedRequest: return OCSP_RESPONSE_STATUS_MALFORMEDREQUEST;
    case OcspOutcome::kInternalError: return OCSP_RESPONSE_STATUS_INTERNALERROR;
    case OcspOutcome::kTryLater: return OCSP_RESPONSE_STATUS_TRYLATER;
    case OcspOutcome::kUnauthorized: return OCSP_RESPONSE_STATUS_UNAUTHORIZED;
  }
  return OCSP_RESPONSE_STATUS_INTERNALERROR;
}

// The length of the request's nonce (RFC 8954: an OCTET STRING inside the extension's value;
// older clients put the bytes there bare), or -1 when the request has none.
int NonceLength(OCSP_REQUEST* request) {
  const int index = OCSP_REQUEST_get_ext_by_NID(request, NID_id_pkix_OCSP_Nonce, -1);
  if (index < 0) return -1;
  const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(OCSP_REQUEST_get_ext(request, index));
  const unsigned char* p = ASN1_STRING_get0_data(value);
  const unsigned char* end = p + ASN1_STRING_length(value);
  Owned<ASN1_OCTET_STRING, &ASN1_OCTET_STRING_free> inner(
      d2i_ASN1_OCTET_STRING(nullptr, &p, ASN1_STRING_length(value)));
  ERR_clear_error();
  if (inner && p == end) return ASN1_STRING_length(inner.get());
  return ASN1_STRING_length(value);
}

// The issuer's name and key hashed with one algorithm, as a CertID carries them.
struct IssuerHashes {
  int nid = 0;
  std::string name_hash;
  std::string key_hash;
};

}  // namespace

struct OcspResponder::State {
  X509Ptr responder;
  PkeyPtr key;
  std::unique_ptr<CertificateSigner> signer;
  std::array<IssuerHashes, 4> issuer_hashes;
  OcspLimits limits;

  const IssuerHashes* HashesFor(int nid) const {
    for (const IssuerHashes& h : issuer_hashes) {
      if (h.nid == nid) return &h;
    }
    return nullptr;
  }
};

OcspResponder::OcspResponder(std::unique_ptr<State> state) : state_(std::move(state)) {
  responder_not_after_ = EpochOf(X509_get0_notAfter(state_->responder.get()));
}

OcspResponder::~OcspResponder() = default;

std::string_view OcspOutcomeName(OcspOutcome outcome) {
  switch (outcome) {
    case OcspOutcome::kSuccessful: return "successful";
    case OcspOutcome::kMalformedRequest: return "malformedRequest";
    case OcspOutcome::kInternalError: return "internalError";
    case OcspOutcome::kTryLater: return "tryLater";
    case OcspOutcome::kUnauthorized: return "unauthorized";
  }
  return "internalError";
}

Result<std::unique_ptr<OcspResponder>> OcspResponder::Create(std::string_view issuer_pem,
                                                             std::string_view responder_pem,
                                                             std::string_view key_pem,
                                                             OcspLimits limits) {
  Result<X509Ptr> issuer = ParseCertificatePem(issuer_pem);
  if (!issuer) return InvalidParameter("ocsp", "the issuer certificate is unreadable.");
  Result<X509Ptr> responder = ParseCertificatePem(responder_pem);
  if (!responder) return InvalidParameter("ocsp", "the responder certificate is unreadable.");
  Result<PkeyPtr> key = ParsePrivateKeyPem(key_pem);
  if (!key) return InvalidParameter("ocsp", "the responder key is unreadable.");
  ERR_clear_error();
  const bool matches = X509_check_private_key(responder->get(), key->get()) == 1;
  const bool issued = X509_check_issued(issuer->get(), responder->get()) == X509_V_OK &&
                      X509_verify(responder->get(), X509_get0_pubkey(issuer->get())) == 1;
  const bool signs_ocsp = (X509_get_extended_key_usage(responder->get()) & XKU_OCSP_SIGN) != 0;
  ERR_clear_error();
  if (!matches)
    return InvalidParameter("ocsp", "the responder key does not match its certificate.");
  if (!issued || !signs_ocsp) {
    return InvalidParameter("ocsp",
                            "the responder certificate is not an OCSP signing certificate "
                            "of the issuer.");
  }
  Result<std::unique_ptr<CertificateSigner>> signer = CertificateSigner::For(key->get());
  if (!signer) return signer.error();
  auto state = std::make_unique<State>();
  // CertIDs hash the issuer's DER name and its key bits (RFC 6960 §4.1.1).
  unsigned char* name_der = nullptr;
  const int name_len = i2d_X509_NAME(X509_get_subject_name(issuer->get()), &name_der);
  const ASN1_BIT_STRING* key_bits = X509_get0_pubkey_bitstr(issuer->get());
  if (name_len <= 0 || !key_bits) {
    OPENSSL_free(name_der);
    return OpenSslError("issuer name or key");
  }
  const std::array<int, 4> nids{NID_sha1, NID_sha256, NID_sha384, NID_sha512};
  for (size_t i = 0; i < nids.size(); ++i) {
    const EVP_MD* md = EVP_get_digestbynid(nids[i]);
    state->issuer_hashes[i] = {nids[i], Digest(md, name_der, static_cast<size_t>(name_len)),
                               Digest(md, key_bits->data, static_cast<size_t>(key_bits->length))};
  }
  OPENSSL_free(name_der);
  state->responder = std::move(*responder);
  state->key = std::move(*key);
  state->signer = std::move(*signer);
  state->limits = limits;
  return std::unique_ptr<OcspResponder>(new OcspResponder(std::move(state)));
}

OcspAnswer OcspResponder::Unsuccessful(OcspOutcome outcome, std::string detail) const {
  OcspResponsePtr response(OCSP_response_create(ResponseStatus(outcome), nullptr));
  return OcspAnswer{outcome, response ? ResponseDer(response.get()) : std::string(),
                    std::move(detail)};
}

OcspAnswer OcspResponder::Answer(std::string_view request_der, int64_t now, int64_t valid_for,
                                 const OcspLookup& lookup) const {
  ERR_clear_error();
  if (request_der.size() > state_->limits.max_request_bytes) {
    return Unsuccessful(OcspOutcome::kMalformedRequest,
                        "a request of " + std::to_string(request_der.size()) +
                            " bytes, more than " +
                            std::to_string(state_->limits.max_request_bytes));
  }
  const auto* p = reinterpret_cast<const unsigned char*>(request_der.data());
  const unsigned char* end = p + request_der.size();
  OcspRequestPtr request(d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(request_der.size())));
  if (!request || p != end) {
    ERR_clear_error();
    return Unsuccessful(OcspOutcome::kMalformedRequest, "not one DER OCSPRequest");
  }
  const int count = OCSP_request_onereq_count(request.get());
  if (count <= 0) return Unsuccessful(OcspOutcome::kMalformedRequest, "no certificate ID");
  if (static_cast<size_t>(count) > state_->limits.max_certificate_ids) {
    return Unsuccessful(OcspOutcome::kMalformedRequest,
                        std::to_string(count) + " certificate IDs, more than " +
                            std::to_string(state_->limits.max_certificate_ids));
  }
  const int nonce = NonceLength(request.get());
  if (nonce == 0 || (nonce > 0 && static_cast<size_t>(nonce) > state_->limits.max_nonce_bytes)) {
    return Unsuccessful(OcspOutcome::kMalformedRequest,
                        "a nonce of " + std::to_string(nonce) + " bytes");
  }
  // Every CertID is checked before any is looked up: one of another issuer refuses the lot.
  std::vector<std::pair<OCSP_CERTID*, std::string>> ids;
  ids.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    OCSP_CERTID* id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(request.get(), i));
    ASN1_OCTET_STRING* name_hash = nullptr;
    ASN1_OCTET_STRING* key_hash = nullptr;
    ASN1_OBJECT* md = nullptr;
    ASN1_INTEGER* serial = nullptr;
    if (OCSP_id_get0_info(&name_hash, &md, &key_hash, &serial, id) != 1) {
      return Unsuccessful(OcspOutcome::kMalformedRequest, "an unreadable certificate ID");
    }
    const IssuerHashes* expected = state_->HashesFor(OBJ_obj2nid(md));
    if (!expected) {
      return Unsuccessful(OcspOutcome::kUnauthorized,
                          "a certificate ID hashed with an "
                          "unsupported algorithm");
    }
    if (Bytes(name_hash) != expected->name_hash || Bytes(key_hash) != expected->key_hash) {
      return Unsuccessful(OcspOutcome::kUnauthorized, "a certificate ID of another issuer");
    }
    ids.emplace_back(id, SerialHexOf(serial));
  }
  Asn1TimePtr this_update(ASN1_TIME_set(nullptr, static_cast<time_t>(now)));
  Asn1TimePtr next_update(ASN1_TIME_set(nullptr, static_cast<time_t>(now + valid_for)));
  OcspBasicResponsePtr basic(OCSP_BASICRESP_new());
  if (!this_update || !next_update || !basic) {
    return Unsuccessful(OcspOutcome::kInternalError, OpenSslError("OCSP response").detail);
  }
  for (const auto& [id, serial_hex] : ids) {
    Result<OcspCertStatus> status = lookup(serial_hex);
    if (!status) {
      const bool later = status.error().code == ErrorCode::kServiceUnavailable;
      return Unsuccessful(later ? OcspOutcome::kTryLater : OcspOutcome::kInternalError,
                          status.error().message + " " + status.error().detail);
    }
    int cert_status = V_OCSP_CERTSTATUS_UNKNOWN;
    int reason = OCSP_REVOKED_STATUS_NOSTATUS;
    Asn1TimePtr revoked_at;
    if (status->state == OcspCertState::kGood) cert_status = V_OCSP_CERTSTATUS_GOOD;
    if (status->state == OcspCertState::kRevoked) {
      cert_status = V_OCSP_CERTSTATUS_REVOKED;
      if (status->reason != 0) reason = status->reason;
      revoked_at.reset(ASN1_TIME_set(nullptr, static_cast<time_t>(status->revoked_at)));
      if (!revoked_at) return Unsuccessful(OcspOutcome::kInternalError, "ASN1_TIME_set");
    }
    if (!OCSP_basic_add1_status(basic.get(), id, cert_status, reason, revoked_at.get(),
                                this_update.get(), next_update.get())) {
      return Unsuccessful(OcspOutcome::kInternalError,
                          OpenSslError("OCSP_basic_add1_status").detail);
    }
  }
  MdCtxPtr ctx = state_->signer->Context();
  // The responder ID by key hash (RFC 6960 §4.2.2.3), the responder certificate included so a
  // client can check the delegation (§4.2.2.2).
  if (OCSP_copy_nonce(basic.get(), request.get()) <= 0 || !ctx ||
      OCSP_basic_sign_ctx(basic.get(), state_->responder.get(), ctx.get(), nullptr,
                          OCSP_RESPID_KEY) != 1) {
    return Unsuccessful(OcspOutcome::kInternalError, OpenSslError("OCSP_basic_sign_ctx").detail);
  }
  OcspResponsePtr response(OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic.get()));
  std::string der = response ? ResponseDer(response.get()) : std::string();
  if (der.empty()) return Unsuccessful(OcspOutcome::kInternalError, "OCSP_response_create");
  return OcspAnswer{OcspOutcome::kSuccessful, std::move(der), {}};
}

}  // namespace certplan::pki
