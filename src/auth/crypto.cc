#include "auth/crypto.h"

#include <memory>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/free_with.h"
#include "core/hex.h"

namespace certplan::auth {
namespace {

using MdPtr = std::unique_ptr<EVP_MD, FreeWith<&EVP_MD_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, FreeWith<&EVP_MD_CTX_free>>;
using MacPtr = std::unique_ptr<EVP_MAC, FreeWith<&EVP_MAC_free>>;
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, FreeWith<&EVP_MAC_CTX_free>>;

const char* Name(Digest digest) { return digest == Digest::kSm3 ? "SM3" : "SHA256"; }

// OpenSSL 3 looks an algorithm up by name on every implicit use (EVP_sha256() in EVP_Digest,
// the one-shot HMAC()); fetching once and keeping per-thread contexts skips that work, which
// cost more than hashing a canonical request.
const EVP_MD* FetchedMd(const char* name) {
  static const MdPtr sha256(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  static const MdPtr sm3(EVP_MD_fetch(nullptr, "SM3", nullptr));
  static const MdPtr sha1(EVP_MD_fetch(nullptr, "SHA1", nullptr));
  const std::string_view n(name);
  return n == "SM3" ? sm3.get() : n == "SHA1" ? sha1.get() : sha256.get();
}

EVP_MAC_CTX* HmacContext() {
  static const MacPtr hmac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  thread_local MacCtxPtr ctx(EVP_MAC_CTX_new(hmac.get()));
  return ctx.get();
}

// Raw HMAC of `data` under `key` with the named digest; returns the length written to `out`.
size_t Hmac(const char* digest, std::string_view key, std::string_view data,
            unsigned char (&out)[EVP_MAX_MD_SIZE]) {
  EVP_MAC_CTX* ctx = HmacContext();
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest), 0),
      OSSL_PARAM_construct_end()};
  size_t len = 0;
  EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params);
  EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  EVP_MAC_final(ctx, out, &len, EVP_MAX_MD_SIZE);
  return len;
}

}  // namespace

std::string HexDigest(Digest digest, std::string_view data) {
  thread_local MdCtxPtr ctx(EVP_MD_CTX_new());
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestInit_ex(ctx.get(), FetchedMd(Name(digest)), nullptr);
  EVP_DigestUpdate(ctx.get(), data.data(), data.size());
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  return HexEncode(std::string_view(reinterpret_cast<char*>(md), len));
}

std::string HexHmac(Digest digest, std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  const size_t len = Hmac(Name(digest), key, data, md);
  return HexEncode(std::string_view(reinterpret_cast<char*>(md), len));
}

std::string Base64HmacSha1(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  const size_t len = Hmac("SHA1", key, data, md);
  unsigned char b64[64];
  const int n = EVP_EncodeBlock(b64, md, static_cast<int>(len));
  return std::string(reinterpret_cast<char*>(b64), static_cast<size_t>(n));
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace certplan::auth
