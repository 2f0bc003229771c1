#include "pki/der.h"

#include <openssl/asn1.h>
#include <openssl/evp.h>

namespace certplan::pki {

std::optional<DerElement> ReadDer(std::string_view& in) {
  const auto* start = reinterpret_cast<const unsigned char*>(in.data());
  const unsigned char* p = start;
  long length = 0;
  int tag = 0, tag_class = 0;
  const int flags = ASN1_get_object(&p, &length, &tag, &tag_class, static_cast<long>(in.size()));
  // 0x80: malformed or longer than the input; 0x01: indefinite length (BER, not DER).
  if ((flags & 0x80) != 0 || (flags & 0x01) != 0) return std::nullopt;
  const size_t header = static_cast<size_t>(p - start);
  const size_t total = header + static_cast<size_t>(length);
  if (length < 0 || total > in.size()) return std::nullopt;
  DerElement e{tag, tag_class, (flags & V_ASN1_CONSTRUCTED) != 0, in.substr(0, total),
               in.substr(header, static_cast<size_t>(length))};
  in.remove_prefix(total);
  return e;
}

std::optional<DerElement> ReadDer(std::string_view& in, int tag, int tag_class) {
  std::optional<DerElement> e = ReadDer(in);
  if (!e || e->tag != tag || e->tag_class != tag_class) return std::nullopt;
  // DER (X.690 §10.2): SEQUENCE and SET are constructed, every other universal type primitive
  // (a constructed BIT STRING is BER, which OpenSSL's own decoder refuses).
  if (tag_class == V_ASN1_UNIVERSAL &&
      e->constructed != (tag == V_ASN1_SEQUENCE || tag == V_ASN1_SET)) {
    return std::nullopt;
  }
  return e;
}

AlgorPtr ParseAlgorithm(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  return AlgorPtr(d2i_X509_ALGOR(nullptr, &p, static_cast<long>(der.size())));
}

std::optional<std::string> PemBody(std::string_view pem, std::string_view label) {
  std::string begin = "-----BEGIN ", end = "-----END ";
  begin.append(label).append("-----");
  end.append(label).append("-----");
  const size_t b = pem.find(begin);
  if (b == std::string_view::npos) return std::nullopt;
  const size_t e = pem.find(end, b);
  if (e == std::string_view::npos) return std::nullopt;
  std::string b64;
  b64.reserve(e - b);
  for (char c : pem.substr(b + begin.size(), e - b - begin.size())) {
    if (c != '\n' && c != '\r' && c != ' ' && c != '\t') b64 += c;
  }
  return Base64Decode(b64);
}

std::optional<std::string> Base64Decode(std::string_view b64) {
  if (b64.empty() || b64.size() % 4 != 0) return std::nullopt;
  std::string der(b64.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(der.data()),
                                reinterpret_cast<const unsigned char*>(b64.data()),
                                static_cast<int>(b64.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the '=' padding as zero bytes: drop them.
  size_t pad = 0;
  if (b64.back() == '=') ++pad;
  if (b64.size() > 1 && b64[b64.size() - 2] == '=') ++pad;
  der.resize(static_cast<size_t>(n) - pad);
  return der;
}

}  // namespace certplan::pki
