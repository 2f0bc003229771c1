#include "pki/random.h"

#include <cstdlib>

#include <openssl/rand.h>

#include "core/log.h"

namespace certplan::pki {

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    log::Error("RAND_bytes failed: the CSPRNG is not seeded");
    std::abort();
  }
  return out;
}

std::string RandomString(size_t n, std::string_view alphabet) {
  const size_t limit = 256 - 256 % alphabet.size();
  std::string out;
  out.reserve(n);
  while (out.size() < n) {
    for (unsigned char c : RandomBytes(n)) {
      if (c < limit && out.size() < n) out += alphabet[c % alphabet.size()];
    }
  }
  return out;
}

}  // namespace certplan::pki
