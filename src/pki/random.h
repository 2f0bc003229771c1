#pragma once

#include <string>
#include <string_view>

namespace certplan::pki {

// `n` bytes from the OS-seeded CSPRNG (OpenSSL RAND_bytes). Aborts the process if the
// generator cannot be seeded: nothing that needs secrets can run safely without it.
std::string RandomBytes(size_t n);

// `n` characters drawn uniformly from `alphabet` (rejection sampling, no modulo bias).
std::string RandomString(size_t n, std::string_view alphabet);

}  // namespace certplan::pki
