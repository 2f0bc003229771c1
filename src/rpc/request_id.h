#pragma once

#include <string>

namespace certplan::rpc {

// A new upper-case UUID (version 4) for the RequestId of one answer. Not a secret: it comes
// from a per-thread PRNG seeded from the OS, so it costs nanoseconds.
std::string NewRequestId();

}  // namespace certplan::rpc
