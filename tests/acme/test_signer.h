// A JWS signer for the ACME tests (OpenSSL, real keys): what an ACME client sends, and the
// deliberately broken variants a client never should.
#pragma once

#include <string>

#include <nlohmann/json.hpp>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "acme/base64url.h"
#include "pki/openssl_handles.h"

namespace certplan::acme::testing {

struct TestKey {
  pki::PkeyPtr key;
  nlohmann::json jwk;
  std::string alg;
};

inline std::string BnBytes(EVP_PKEY* key, const char* param, int pad) {
  BIGNUM* bn = nullptr;
  EVP_PKEY_get_bn_param(key, param, &bn);
  std::string out(pad > 0 ? pad : BN_num_bytes(bn), '\0');
  if (pad > 0) {
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), pad);
  } else {
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  }
  BN_free(bn);
  return out;
}

inline TestKey EcKey(const char* curve = "P-256") {
  TestKey k;
  k.key.reset(EVP_EC_gen(curve));
  const int size = std::string(curve) == "P-256" ? 32 : 48;
  k.jwk = {{"kty", "EC"},
           {"crv", curve},
           {"x", Base64UrlEncode(BnBytes(k.key.get(), OSSL_PKEY_PARAM_EC_PUB_X, size))},
           {"y", Base64UrlEncode(BnBytes(k.key.get(), OSSL_PKEY_PARAM_EC_PUB_Y, size))}};
  k.alg = size == 32 ? "ES256" : "ES384";
  return k;
}

inline TestKey RsaKey(unsigned bits = 2048) {
  TestKey k;
  k.key.reset(EVP_RSA_gen(bits));
  k.jwk = {{"kty", "RSA"},
           {"n", Base64UrlEncode(BnBytes(k.key.get(), OSSL_PKEY_PARAM_RSA_N, 0))},
           {"e", Base64UrlEncode(BnBytes(k.key.get(), OSSL_PKEY_PARAM_RSA_E, 0))}};
  k.alg = "RS256";
  return k;
}

inline TestKey Ed25519Key() {
  TestKey k;
  k.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  std::string x(32, '\0');
  size_t len = 32;
  EVP_PKEY_get_raw_public_key(k.key.get(), reinterpret_cast<unsigned char*>(x.data()), &len);
  k.jwk = {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", Base64UrlEncode(x)}};
  k.alg = "EdDSA";
  return k;
}

// The signature over `input`: raw r‖s for ECDSA unless `der`.
inline std::string Sign(const TestKey& k, const std::string& input, bool der = false) {
  const EVP_MD* md = k.alg == "EdDSA" ? nullptr : k.alg == "ES384" ? EVP_sha384() : EVP_sha256();
  pki::MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, k.key.get());
  size_t len = 0;
  EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                 input.size());
  std::string sig(len, '\0');
  EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                 reinterpret_cast<const unsigned char*>(input.data()), input.size());
  sig.resize(len);
  if (der || (k.alg != "ES256" && k.alg != "ES384")) return sig;
  const int half = k.alg == "ES256" ? 32 : 48;
  const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG* parsed = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
  std::string raw(2 * half, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(parsed), reinterpret_cast<unsigned char*>(raw.data()), half);
  BN_bn2binpad(ECDSA_SIG_get0_s(parsed), reinterpret_cast<unsigned char*>(raw.data()) + half, half);
  ECDSA_SIG_free(parsed);
  return raw;
}

// A flattened JWS body. `header` gets alg (unless set); payload "" is POST-as-GET.
inline std::string JwsBody(const TestKey& k, nlohmann::json header, const std::string& payload,
                           bool der = false) {
  if (!header.contains("alg")) header["alg"] = k.alg;
  const std::string prot = Base64UrlEncode(header.dump());
  const std::string body = Base64UrlEncode(payload);
  return nlohmann::json{{"protected", prot},
                        {"payload", body},
                        {"signature", Base64UrlEncode(Sign(k, prot + "." + body, der))}}
      .dump();
}

}  // namespace certplan::acme::testing
