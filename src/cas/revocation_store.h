#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cas/revocation.h"
#include "core/result.h"

namespace certplan::cas {

// An issued certificate looked up by serial, for an OCSP answer.
struct IssuedSerial {
  int64_t order_id = 0;
  std::string chain_pem;  // the order's issuing chain (its first certificate is the issuer)
  int64_t not_after = 0;
  std::optional<Revocation> revocation;  // set once the order is revoked
};

// A cheap summary of an issuer's revocation records: it changes whenever one is added (records
// are only ever added), so a node can tell another node revoked something.
struct RevocationsVersion {
  int64_t count = 0;
  int64_t latest = 0;  // the greatest revoked_at
  bool operator==(const RevocationsVersion&) const = default;
};

// The revocation records as the CRL publisher and the OCSP responder read them (a port: store/
// implements it, cli/ wires it). Records are written by OrderStore::ApplyTransition(s) with the
// revocation (Transition::revocation). Each method is one read; implementations are
// thread-safe and return kInternal or kServiceUnavailable on storage failures.
class RevocationStore {
 public:
  virtual ~RevocationStore() = default;

  // The records of `issuer_key_id` (and those with no issuer recorded) whose certificate is
  // still valid at `now` (not_after > now), by serial. Served from an index by issuer.
  virtual Result<std::vector<Revocation>> ListRevocations(std::string_view issuer_key_id,
                                                          int64_t now) = 0;
  // Count and latest time of the same records, expired ones included.
  virtual Result<RevocationsVersion> VersionOfRevocations(std::string_view issuer_key_id) = 0;
  // The issued (certificate or revoked) order whose certificate has this serial (upper-case hex,
  // as Order::serial_hex), through an index by serial; nullopt when there is none.
  virtual Result<std::optional<IssuedSerial>> FindIssuedSerial(std::string_view serial_hex) = 0;
};

}  // namespace certplan::cas
