#include "auth/crypto.h"

#include <memory>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/free_with.h"

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

// A per-thread HMAC context for one digest, its digest set once (setting it by name on every
// init fetched the digest again). The key it was last initialised with is kept, so a request
// signed with the same secret as the one before re-initialises from the keyed state (the two
// key blocks are hashed once per key, not once per request).
struct KeyedHmac {
  MacCtxPtr ctx;
  std::string key;  // the key ctx holds; meaningful only when keyed
  bool keyed = false;
};

KeyedHmac& HmacContext(const char* digest) {
  static const MacPtr hmac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  auto make = [](const char* name) {
    KeyedHmac k;
    k.ctx.reset(EVP_MAC_CTX_new(hmac.get()));
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(name), 0),
        OSSL_PARAM_construct_end()};
    EVP_MAC_CTX_set_params(k.ctx.get(), params);
    return k;
  };
  thread_local KeyedHmac sha256 = make("SHA256");
  thread_local KeyedHmac sm3 = make("SM3");
  thread_local KeyedHmac sha1 = make("SHA1");
  const std::string_view n(digest);
  return n == "SM3" ? sm3 : n == "SHA1" ? sha1 : sha256;
}

// Raw HMAC of `data` under `key` with the named digest; returns the length written to `out`.
size_t Hmac(const char* digest, std::string_view key, std::string_view data,
            unsigned char (&out)[EVP_MAX_MD_SIZE]) {
  KeyedHmac& h = HmacContext(digest);
  EVP_MAC_CTX* ctx = h.ctx.get();
  // The same key as last time: the keyed state is reused. CRYPTO_memcmp, so comparing two
  // secrets takes the same time wherever they differ.
  const bool same = h.keyed && h.key.size() == key.size() &&
                    CRYPTO_memcmp(h.key.data(), key.data(), key.size()) == 0;
  size_t len = 0;
  if (same) {
    EVP_MAC_init(ctx, nullptr, 0, nullptr);
  } else {
    h.keyed = EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                           nullptr) == 1;
    if (h.keyed) {
      OPENSSL_cleanse(h.key.data(), h.key.size());
      h.key.assign(key);
    }
  }
  EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  EVP_MAC_final(ctx, out, &len, EVP_MAX_MD_SIZE);
  return len;
}

}  // namespace

namespace {

HexText ToHex(const unsigned char* bytes, size_t len) {
  static constexpr char kHex[] = "0123456789abcdef";
  HexText out;
  for (size_t i = 0; i < len; ++i) {
    out.text[2 * i] = kHex[bytes[i] >> 4];
    out.text[2 * i + 1] = kHex[bytes[i] & 15];
  }
  out.size = 2 * len;
  return out;
}

HexText ComputeHexDigest(Digest digest, std::string_view data) {
  unsigned char md[kMaxDigestBytes];
  const size_t len = RawDigest(digest, {data}, md);
  return ToHex(md, len);
}

}  // namespace

HexText HexDigestText(Digest digest, std::string_view data) {
  if (data.empty()) {
    // The digest of no bytes (every GET's body): the same every time.
    static const HexText empty_sha256 = ComputeHexDigest(Digest::kSha256, {});
    static const HexText empty_sm3 = ComputeHexDigest(Digest::kSm3, {});
    return digest == Digest::kSm3 ? empty_sm3 : empty_sha256;
  }
  return ComputeHexDigest(digest, data);
}

std::string HexDigest(Digest digest, std::string_view data) {
  return std::string(HexDigestText(digest, data).view());
}

size_t RawDigest(Digest digest, std::initializer_list<std::string_view> pieces,
                 unsigned char (&out)[kMaxDigestBytes]) {
  static_assert(kMaxDigestBytes >= EVP_MAX_MD_SIZE);
  thread_local MdCtxPtr ctx(EVP_MD_CTX_new());
  unsigned int len = 0;
  EVP_DigestInit_ex(ctx.get(), FetchedMd(Name(digest)), nullptr);
  for (std::string_view piece : pieces) EVP_DigestUpdate(ctx.get(), piece.data(), piece.size());
  EVP_DigestFinal_ex(ctx.get(), out, &len);
  return len;
}

HexText HexHmacText(Digest digest, std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  const size_t len = Hmac(Name(digest), key, data, md);
  return ToHex(md, len);
}

std::string HexHmac(Digest digest, std::string_view key, std::string_view data) {
  return std::string(HexHmacText(digest, key, data).view());
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
