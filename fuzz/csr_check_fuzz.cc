// CSR checking (pki/csr_check.cc, pki/der.cc): the PEM wrapper, the DER split of a PKCS#10
// request, its key and self-signature (one signature verification per well-formed input), the
// CN and the requested DNS names.
//
// Input: a DER request, which the target wraps in PEM as a client would send it; or, when it
// starts with "-----BEGIN", PEM text given as is (to reach the PEM reader too).
// CERTPLAN_FUZZ_PRINT=1 prints each outcome.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "fuzz_check.h"
#include "pki/csr_check.h"

namespace certplan::fuzz {
namespace {

std::string PemOf(std::string_view der) {
  std::string b64(4 * ((der.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                                reinterpret_cast<const unsigned char*>(der.data()),
                                static_cast<int>(der.size()));
  b64.resize(static_cast<size_t>(n));
  std::string pem = "-----BEGIN CERTIFICATE REQUEST-----\n";
  for (size_t i = 0; i < b64.size(); i += 64) pem += b64.substr(i, 64) + "\n";
  pem += "-----END CERTIFICATE REQUEST-----\n";
  return pem;
}

bool Within(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

// OpenSSL's own decoder and verifier agree with an accepted request.
bool OpenSslVerifies(std::string_view der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  X509_REQ* req = d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size()));
  if (!req) return false;
  EVP_PKEY* key = X509_REQ_get0_pubkey(req);
  const bool ok = key && X509_REQ_verify(req, key) == 1;
  X509_REQ_free(req);
  return ok;
}

int TestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const bool is_pem = input.starts_with("-----BEGIN");
  if (!is_pem) {
    if (std::optional<pki::CsrParts> parts = pki::SplitCsr(input)) {
      FUZZ_CHECK(Within(parts->signed_info, input) && Within(parts->subject, input) &&
                 Within(parts->public_key, input) && Within(parts->attributes, input) &&
                 Within(parts->signature_algorithm, input) && Within(parts->signature, input));
    }
  }
  const std::string pem = is_pem ? std::string(input) : PemOf(input);
  Result<pki::CsrFacts> facts = pki::CheckCsr(pem);
  if (std::getenv("CERTPLAN_FUZZ_PRINT")) {
    std::fprintf(stderr, "%s\n",
                 facts ? facts->common_name.c_str() : facts.error().message.c_str());
  }
  if (!facts) {
    FUZZ_CHECK(facts.error().code == ErrorCode::kCreateCertificateRequestFailed);
    return 0;
  }
  FUZZ_CHECK(!facts->common_name.empty());
  if (!is_pem) FUZZ_CHECK(OpenSslVerifies(input));
  return 0;
}

}  // namespace
}  // namespace certplan::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return certplan::fuzz::TestOneInput(data, size);
}
