#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "pki/openssl_handles.h"

namespace certplan::pki {

// One DER element: its tag and class as OpenSSL numbers them (V_ASN1_SEQUENCE,
// V_ASN1_UNIVERSAL, …), the whole encoding and its contents.
struct DerElement {
  int tag = 0;
  int tag_class = 0;
  bool constructed = false;
  std::string_view whole;
  std::string_view contents;
};

// Reads the next element off the front of `in` (definite lengths only, as DER requires) and
// advances `in` past it. nullopt when `in` does not start with a complete element.
std::optional<DerElement> ReadDer(std::string_view& in);

// Reads the next element and checks its tag and class, and for a universal tag the form DER
// prescribes (constructed for SEQUENCE and SET, primitive otherwise); nullopt otherwise.
std::optional<DerElement> ReadDer(std::string_view& in, int tag, int tag_class);

// An AlgorithmIdentifier (a signature's or a public key's); nullptr when malformed.
AlgorPtr ParseAlgorithm(std::string_view der);

// Standard base64 (RFC 4648 §4, '=' padding required; no whitespace); nullopt when malformed.
std::optional<std::string> Base64Decode(std::string_view b64);

// The DER bytes inside the first `-----BEGIN <label>-----` block of `pem`; nullopt when there is
// no such block or its base64 is malformed. A plain base64 decode: OpenSSL 3.0's PEM readers go
// through the generic decoder framework, which costs more than a signature check.
std::optional<std::string> PemBody(std::string_view pem, std::string_view label);

}  // namespace certplan::pki
