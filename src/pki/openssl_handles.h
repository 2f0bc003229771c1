#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/free_with.h"
#include "core/result.h"

namespace certplan::pki {

using BioPtr = std::unique_ptr<BIO, FreeWith<&BIO_free_all>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, FreeWith<&EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, FreeWith<&X509_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, FreeWith<&X509_REQ_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, FreeWith<&X509_NAME_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, FreeWith<&ASN1_INTEGER_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, FreeWith<&BN_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, FreeWith<&GENERAL_NAMES_free>>;
using AlgorPtr = std::unique_ptr<X509_ALGOR, FreeWith<&X509_ALGOR_free>>;
using Asn1ObjectPtr = std::unique_ptr<ASN1_OBJECT, FreeWith<&ASN1_OBJECT_free>>;
using MdPtr = std::unique_ptr<EVP_MD, FreeWith<&EVP_MD_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, FreeWith<&EVP_MD_CTX_free>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, FreeWith<&X509_CRL_free>>;
using X509RevokedPtr = std::unique_ptr<X509_REVOKED, FreeWith<&X509_REVOKED_free>>;
using Asn1TimePtr = std::unique_ptr<ASN1_TIME, FreeWith<&ASN1_TIME_free>>;
using OcspRequestPtr = std::unique_ptr<OCSP_REQUEST, FreeWith<&OCSP_REQUEST_free>>;
using OcspResponsePtr = std::unique_ptr<OCSP_RESPONSE, FreeWith<&OCSP_RESPONSE_free>>;
using OcspBasicResponsePtr = std::unique_ptr<OCSP_BASICRESP, FreeWith<&OCSP_BASICRESP_free>>;
using ExtensionsPtr =
    std::unique_ptr<STACK_OF(X509_EXTENSION), FreeWith<+[](STACK_OF(X509_EXTENSION) * s) {
                      sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
                    }>>;

// A memory BIO reading `text` (the BIO borrows it).
BioPtr ReadBio(std::string_view text);
// Everything written to a memory BIO, as a string.
std::string BioText(BIO* bio);
// kInternal carrying the drained OpenSSL error queue in its detail.
Error OpenSslError(std::string_view what);

Result<X509Ptr> ParseCertificatePem(std::string_view pem);
Result<PkeyPtr> ParsePrivateKeyPem(std::string_view pem);
std::string CertificatePem(X509* cert);
std::string PrivateKeyPem(EVP_PKEY* key);  // PKCS#8, unencrypted
std::string PublicKeyPem(EVP_PKEY* key);

}  // namespace certplan::pki
