#include "pki/secret_box.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>

#include <openssl/evp.h>

#include "core/free_with.h"
#include "core/hex.h"
#include "pki/random.h"

namespace certplan::pki {
namespace {

using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, FreeWith<&EVP_CIPHER_CTX_free>>;

constexpr char kVersion = 1;
constexpr size_t kNonceSize = 12;
constexpr size_t kTagSize = 16;
constexpr size_t kKeySize = 32;

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

Error BadKey(std::string why) {
  return Error(ErrorCode::kInvalidParameter, "The master key is not usable: " + why);
}

}  // namespace

Result<std::unique_ptr<SecretBox>> SecretBox::Create(std::string master_key) {
  if (master_key.size() != kKeySize) return BadKey("it must be 32 bytes.");
  return std::unique_ptr<SecretBox>(new SecretBox(std::move(master_key)));
}

std::string SecretBox::Seal(std::string_view plaintext, std::string_view context) const {
  const std::string nonce = RandomBytes(kNonceSize);
  std::string out(1 + kNonceSize + plaintext.size() + kTagSize, '\0');
  out[0] = kVersion;
  std::memcpy(out.data() + 1, nonce.data(), kNonceSize);
  auto* cipher = reinterpret_cast<unsigned char*>(out.data() + 1 + kNonceSize);
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  // These calls fail only on allocation failure or programmer error (fixed sizes above).
  EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key_), Bytes(nonce));
  EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(context), static_cast<int>(context.size()));
  EVP_EncryptUpdate(ctx.get(), cipher, &len, Bytes(plaintext), static_cast<int>(plaintext.size()));
  EVP_EncryptFinal_ex(ctx.get(), cipher + len, &len);
  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize, cipher + plaintext.size());
  return out;
}

Result<std::string> SecretBox::Open(std::string_view sealed, std::string_view context) const {
  if (sealed.size() < 1 + kNonceSize + kTagSize || sealed[0] != kVersion) {
    return InternalError("sealed secret: unknown format");
  }
  const std::string_view nonce = sealed.substr(1, kNonceSize);
  const std::string_view cipher =
      sealed.substr(1 + kNonceSize, sealed.size() - 1 - kNonceSize - kTagSize);
  std::string tag(sealed.substr(sealed.size() - kTagSize));
  std::string plain(cipher.size(), '\0');
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  auto* out = reinterpret_cast<unsigned char*>(plain.data());
  const bool ok =
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key_), Bytes(nonce)) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(context),
                        static_cast<int>(context.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), out, &len, Bytes(cipher), static_cast<int>(cipher.size())) ==
          1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), out + len, &len) == 1;
  if (!ok) return InternalError("sealed secret: authentication failed (wrong master key?)");
  return plain;
}

Result<std::string> LoadOrCreateMasterKey(std::string_view env_value, const std::string& key_file) {
  if (!env_value.empty()) {
    std::optional<std::string> key = HexDecode(env_value);
    if (!key || key->size() != kKeySize)
      return BadKey("CERTPLAN_MASTER_KEY must be 64 hex digits.");
    return *key;
  }
  struct stat st {};
  if (::stat(key_file.c_str(), &st) == 0) {
    if ((st.st_mode & 077) != 0) return BadKey(key_file + " is readable by others; chmod 600 it.");
    std::ifstream in(key_file, std::ios::binary);
    std::string hex((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!hex.empty() && (hex.back() == '\n' || hex.back() == ' ')) hex.pop_back();
    std::optional<std::string> key = HexDecode(hex);
    if (!key || key->size() != kKeySize) return BadKey(key_file + " must hold 64 hex digits.");
    return *key;
  }
  const std::string key = RandomBytes(kKeySize);
  // O_EXCL: if another process creates it first, fail rather than overwrite its key.
  const int fd = ::open(key_file.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return BadKey("cannot create " + key_file + ": " + std::strerror(errno));
  const std::string hex = HexEncode(key) + '\n';
  const bool written =
      ::write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written) return BadKey("cannot write " + key_file);
  return key;
}

}  // namespace certplan::pki
