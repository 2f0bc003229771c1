#include "pki/certificate_chain.h"

#include <time.h>

#include <algorithm>
#include <cctype>
#include <optional>

#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>

#include "pki/openssl_handles.h"
#include "pki/public_key.h"

namespace certplan::pki {
namespace {

// The leaf and its issuers up to a root: real chains have 2–4; the bound keeps what one upload
// makes the server hold and parse small.
constexpr size_t kMaxChainCertificates = 10;

// One PEM block as PEM_read_bio hands it out; the three buffers are OPENSSL_malloc'd.
struct PemBlock {
  std::string name;
  std::string header;
  std::string der;
};

// Every PEM block of `text`, in order; nullopt when something other than whitespace stands
// between, before or after the blocks, or a block does not decode.
std::optional<std::vector<PemBlock>> ReadPemBlocks(std::string_view text) {
  std::vector<PemBlock> blocks;
  size_t at = 0;
  while (true) {
    while (at < text.size() && std::isspace(static_cast<unsigned char>(text[at]))) ++at;
    if (at == text.size()) break;
    if (text.compare(at, 11, "-----BEGIN ") != 0) return std::nullopt;
    const size_t end_marker = text.find("-----END ", at);
    if (end_marker == std::string_view::npos) return std::nullopt;
    const size_t end_line = text.find("-----", end_marker + 9);
    if (end_line == std::string_view::npos) return std::nullopt;
    const size_t next = end_line + 5;
    BioPtr bio = ReadBio(text.substr(at, next - at));
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long len = 0;
    ERR_clear_error();
    if (PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1) return std::nullopt;
    blocks.push_back(PemBlock{
        name, header, std::string(reinterpret_cast<const char*>(data), static_cast<size_t>(len))});
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    at = next;
  }
  return blocks;
}

std::string UpperHex(const unsigned char* bytes, size_t n) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[bytes[i] >> 4]);
    out.push_back(kDigits[bytes[i] & 15]);
  }
  return out;
}

std::string LowerHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// The text of the first `nid` entry of a name, as UTF-8; empty when absent.
std::string NameEntry(const X509_NAME* name, int nid) {
  const int index = X509_NAME_get_index_by_NID(name, nid, -1);
  if (index < 0) return {};
  const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  const int n = ASN1_STRING_to_UTF8(&utf8, value);
  if (n < 0) return {};
  std::string out(reinterpret_cast<const char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

std::optional<int64_t> EpochSeconds(const ASN1_TIME* t) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
  return static_cast<int64_t>(timegm(&tm));
}

// The DER INTEGER content octets of the serial (a leading 00 kept, as CAS shows it, §7.4).
std::string SerialHex(X509* cert) {
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
  unsigned char* der = nullptr;
  const int n = i2d_ASN1_INTEGER(serial, &der);
  if (n <= 2) {
    OPENSSL_free(der);
    return {};
  }
  // Skip the tag and the length octets (short or long form).
  size_t header = 2;
  if (der[1] & 0x80) header += der[1] & 0x7f;
  std::string out = LowerHex(std::string_view(reinterpret_cast<const char*>(der) + header,
                                              static_cast<size_t>(n) - header));
  OPENSSL_free(der);
  return out;
}

struct KeyKind {
  KeyAlgorithm algorithm;
  int bits;
};

// RSA ≥ 2048, EC on P-256/P-384, SM2; anything else is refused (§7.3).
Result<KeyKind> ClassifyKey(EVP_PKEY* key) {
  const int bits = EVP_PKEY_get_bits(key);
  if (EVP_PKEY_is_a(key, "RSA")) {
    if (bits < 2048) {
      return Error(
          ErrorCode::kCertificateAlgorithmNotSupported,
          "RSA keys must have at least 2048 bits; this one has " + std::to_string(bits) + ".");
    }
    return KeyKind{KeyAlgorithm::kRsa, bits};
  }
  if (EVP_PKEY_is_a(key, "SM2")) return KeyKind{KeyAlgorithm::kSm2, bits};
  if (EVP_PKEY_is_a(key, "EC")) {
    char curve[64] = {};
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, "group", curve, sizeof curve, &len) == 1) {
      const std::string_view name(curve, len);
      if (name == "prime256v1" || name == "P-256" || name == "secp384r1" || name == "P-384") {
        return KeyKind{KeyAlgorithm::kEcc, bits};
      }
      if (name == "SM2") return KeyKind{KeyAlgorithm::kSm2, bits};
      return Error(ErrorCode::kCertificateAlgorithmNotSupported,
                   "EC keys must be on P-256 or P-384; this one is on " + std::string(name) + ".");
    }
  }
  return Error(ErrorCode::kCertificateAlgorithmNotSupported,
               "The key algorithm is not supported: use RSA (2048 bits or more), ECDSA P-256 or "
               "P-384.");
}

Error FormatError(std::string_view why) {
  return Error(ErrorCode::kCertificateFormatError,
               "The certificate is not a PEM X.509 certificate chain: " + std::string(why));
}

struct ParsedChain {
  std::vector<X509Ptr> certs;
  std::string pem;
};

Result<ParsedChain> ParseChain(std::string_view pem) {
  std::optional<std::vector<PemBlock>> blocks = ReadPemBlocks(pem);
  if (!blocks) return FormatError("the text is not PEM.");
  if (blocks->empty()) return FormatError("no certificate was given.");
  if (blocks->size() > kMaxChainCertificates) {
    return FormatError("a chain holds at most " + std::to_string(kMaxChainCertificates) +
                       " certificates.");
  }
  ParsedChain chain;
  for (const PemBlock& block : *blocks) {
    if (block.name != "CERTIFICATE" && block.name != "X509 CERTIFICATE" &&
        block.name != "TRUSTED CERTIFICATE") {
      return FormatError("a " + block.name + " block stands where a certificate must.");
    }
    const auto* p = reinterpret_cast<const unsigned char*>(block.der.data());
    X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(block.der.size())));
    if (!cert || p != reinterpret_cast<const unsigned char*>(block.der.data()) + block.der.size()) {
      return FormatError("a CERTIFICATE block does not hold one DER certificate.");
    }
    chain.pem += CertificatePem(cert.get());
    chain.certs.push_back(std::move(cert));
  }
  return chain;
}

// Everything but the key and the chain elements, from the leaf.
Result<CertificateFacts> LeafFacts(X509* leaf) {
  CertificateFacts facts;
  const X509_NAME* subject = X509_get_subject_name(leaf);
  const X509_NAME* issuer = X509_get_issuer_name(leaf);
  facts.common_name = NameEntry(subject, NID_commonName);
  facts.org_name = NameEntry(subject, NID_organizationName);
  facts.province = NameEntry(subject, NID_stateOrProvinceName);
  facts.city = NameEntry(subject, NID_localityName);
  facts.country = NameEntry(subject, NID_countryName);
  facts.issuer = NameEntry(issuer, NID_organizationName);
  if (facts.issuer.empty()) facts.issuer = NameEntry(issuer, NID_commonName);
  GeneralNamesPtr sans(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf, NID_subject_alt_name, nullptr, nullptr)));
  if (sans) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans.get()); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans.get(), i);
      if (gn->type != GEN_DNS) continue;
      const ASN1_IA5STRING* dns = gn->d.dNSName;
      std::string name(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                       static_cast<size_t>(ASN1_STRING_length(dns)));
      // A DNS name is printable ASCII without commas (RFC 5280 §4.2.1.6, preferred name
      // syntax); anything else could not be listed or matched as a name.
      const bool printable = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return c > 0x20 && c < 0x7f && c != ',';
      });
      if (!printable) return FormatError("a DNS subjectAltName is not a host name.");
      facts.sans.push_back(std::move(name));
    }
  }
  std::optional<ChainElement> own = ChainElementOf(leaf);
  if (!own) return FormatError("a validity date cannot be read.");
  facts.not_before = own->not_before;
  facts.not_after = own->not_after;
  facts.chain.push_back(std::move(*own));
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (X509_digest(leaf, EVP_sha1(), md, &md_len) != 1) return OpenSslError("X509_digest sha1");
  facts.fingerprint = UpperHex(md, md_len);
  if (X509_digest(leaf, EVP_sha256(), md, &md_len) != 1) return OpenSslError("X509_digest sha256");
  facts.sha256 = UpperHex(md, md_len);
  facts.serial = SerialHex(leaf);
  return facts;
}

Result<CertificateFacts> Facts(const std::vector<X509Ptr>& certs) {
  X509* leaf = certs.front().get();
  Result<CertificateFacts> facts = LeafFacts(leaf);
  if (!facts) return facts.error();
  for (size_t i = 1; i < certs.size(); ++i) {
    std::optional<ChainElement> element = ChainElementOf(certs[i].get());
    if (!element) return FormatError("a validity date cannot be read.");
    facts->chain.push_back(std::move(*element));
  }
  EVP_PKEY* key = X509_get0_pubkey(leaf);
  if (!key) return FormatError("the certificate's public key cannot be read.");
  Result<KeyKind> kind = ClassifyKey(key);
  if (!kind) return kind.error();
  facts->algorithm = kind->algorithm;
  facts->key_bits = kind->bits;
  return facts;
}

// A password callback that refuses: an encrypted key is a format error, never a prompt.
int NoPassword(char*, int, int, void*) { return -1; }

Result<PkeyPtr> ParseUploadKey(std::string_view pem) {
  auto refuse = [](std::string_view why) {
    return Error(ErrorCode::kPrivateKeyFormatError,
                 "The private key cannot be read: " + std::string(why));
  };
  std::optional<std::vector<PemBlock>> blocks = ReadPemBlocks(pem);
  if (!blocks) return refuse("the text is not PEM.");
  const PemBlock* key_block = nullptr;
  for (const PemBlock& block : *blocks) {
    if (block.name == "EC PARAMETERS") continue;  // `openssl ecparam -genkey` writes it first
    if (block.name == "ENCRYPTED PRIVATE KEY" || !block.header.empty()) {
      return refuse("it is encrypted; upload it unencrypted.");
    }
    if (block.name != "PRIVATE KEY" && block.name != "RSA PRIVATE KEY" &&
        block.name != "EC PRIVATE KEY") {
      return refuse("a " + block.name + " block stands where a private key must.");
    }
    if (key_block) return refuse("more than one private key was given.");
    key_block = &block;
  }
  if (!key_block) return refuse("no private key was given.");
  ERR_clear_error();
  BioPtr bio = ReadBio(pem);
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, &NoPassword, nullptr));
  if (!key) return refuse("OpenSSL does not read it as an RSA or EC key.");
  return key;
}

}  // namespace

std::string_view KeyAlgorithmName(KeyAlgorithm algorithm) {
  switch (algorithm) {
    case KeyAlgorithm::kRsa: return "RSA";
    case KeyAlgorithm::kEcc: return "ECC";
    case KeyAlgorithm::kSm2: return "SM2";
  }
  return "RSA";
}

Result<ReadChainResult> ReadChain(std::string_view pem) {
  Result<ParsedChain> chain = ParseChain(pem);
  if (!chain) return chain.error();
  Result<CertificateFacts> facts = Facts(chain->certs);
  if (!facts) return facts.error();
  return ReadChainResult{std::move(*facts), std::move(chain->pem)};
}

std::optional<ChainElement> ChainElementOf(X509* cert) {
  std::optional<int64_t> nb = EpochSeconds(X509_get0_notBefore(cert));
  std::optional<int64_t> na = EpochSeconds(X509_get0_notAfter(cert));
  if (!nb || !na) return std::nullopt;
  return ChainElement{NameEntry(X509_get_subject_name(cert), NID_commonName),
                      NameEntry(X509_get_issuer_name(cert), NID_commonName), *nb, *na};
}

Result<CertificateFacts> FactsOfBuilt(X509* leaf, std::string_view spki_der,
                                      const std::vector<ChainElement>& issuers) {
  Result<CertificateFacts> facts = LeafFacts(leaf);
  if (!facts) return facts.error();
  facts->chain.insert(facts->chain.end(), issuers.begin(), issuers.end());
  // EC keys on the curves certplan certifies are named by their SubjectPublicKeyInfo alone;
  // anything else (RSA: its size is in the modulus) is decoded.
  std::optional<PublicKeyInfo> info = ReadPublicKeyInfo(spki_der);
  if (info && info->algorithm == NID_X9_62_id_ecPublicKey &&
      (info->curve == NID_X9_62_prime256v1 || info->curve == NID_secp384r1)) {
    facts->algorithm = KeyAlgorithm::kEcc;
    facts->key_bits = info->curve == NID_X9_62_prime256v1 ? 256 : 384;
    return facts;
  }
  PkeyPtr key = DecodePublicKey(spki_der);
  if (!key) return FormatError("the certificate's public key cannot be read.");
  Result<KeyKind> kind = ClassifyKey(key.get());
  if (!kind) return kind.error();
  facts->algorithm = kind->algorithm;
  facts->key_bits = kind->bits;
  return facts;
}

Result<CheckedUpload> CheckUpload(std::string_view cert_pem, std::string_view key_pem,
                                  int64_t now) {
  Result<ParsedChain> chain = ParseChain(cert_pem);
  if (!chain) return chain.error();
  Result<PkeyPtr> key = ParseUploadKey(key_pem);
  if (!key) return key.error();
  X509* leaf = chain->certs.front().get();
  EVP_PKEY* leaf_key = X509_get0_pubkey(leaf);
  if (!leaf_key) return FormatError("the certificate's public key cannot be read.");
  if (EVP_PKEY_eq(leaf_key, key->get()) != 1) {
    return Error(ErrorCode::kCertificateKeyMismatch,
                 "The private key does not belong to the certificate.");
  }
  Result<CertificateFacts> facts = Facts(chain->certs);
  if (!facts) return facts.error();
  // Each certificate must be issued and signed by the one after it; a chain may stop anywhere.
  for (size_t i = 0; i + 1 < chain->certs.size(); ++i) {
    X509* child = chain->certs[i].get();
    X509* parent = chain->certs[i + 1].get();
    EVP_PKEY* parent_key = X509_get0_pubkey(parent);
    ERR_clear_error();
    if (X509_check_issued(parent, child) != X509_V_OK || !parent_key ||
        X509_verify(child, parent_key) != 1) {
      ERR_clear_error();
      return Error(ErrorCode::kCertificateChainNotMatch, "Certificate " + std::to_string(i + 1) +
                                                             " of the chain is not signed by "
                                                             "certificate " +
                                                             std::to_string(i + 2) +
                                                             ": give the leaf first, then its "
                                                             "issuers in order.");
    }
  }
  if (now > facts->not_after) {
    return Error(ErrorCode::kCertificateExpired, "The certificate has expired.");
  }
  return CheckedUpload{std::move(*facts), std::move(chain->pem), PrivateKeyPem(key->get())};
}

}  // namespace certplan::pki
