// RAII handles for the OpenSSL objects that crypto/ uses internally, plus small BIO and key-type
// helpers shared by its .cc files. Private to crypto/ (includes OpenSSL headers). Thread-safe:
// stateless helpers only.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/key.h"

namespace bulwark::crypto::internal {

// Calls `Free` on the pointer; the deleter of every handle below.
template <auto Free>
struct OpenSslDeleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};

using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<BN_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, OpenSslDeleter<ECDSA_SIG_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, OpenSslDeleter<EVP_MD_CTX_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OpenSslDeleter<EVP_PKEY_CTX_free>>;
using EvpCipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, OpenSslDeleter<EVP_CIPHER_CTX_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, OpenSslDeleter<X509_NAME_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, OpenSslDeleter<X509_EXTENSION_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, OpenSslDeleter<X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OpenSslDeleter<X509_STORE_CTX_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, OpenSslDeleter<GENERAL_NAMES_free>>;
using BasicConstraintsPtr =
    std::unique_ptr<BASIC_CONSTRAINTS, OpenSslDeleter<BASIC_CONSTRAINTS_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, OpenSslDeleter<ASN1_INTEGER_free>>;

using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, OpenSslDeleter<GENERAL_NAME_free>>;
using Asn1StringPtr = std::unique_ptr<ASN1_STRING, OpenSslDeleter<ASN1_STRING_free>>;

// Returns a read-only memory BIO over `data`, which must outlive it; null on allocation failure.
BioPtr MemoryBio(std::string_view data);
// Returns everything written to the memory BIO `bio`.
std::string BioContents(BIO& bio);
// Returns the key type of `key` if bulwark accepts it; otherwise an InvalidArgument error naming
// the algorithm and size, e.g. "RSA 1024-bit keys are not accepted; use ECDSA P-256 or Ed25519".
absl::StatusOr<KeyType> SupportedKeyType(const EVP_PKEY& key);
// Builds subjectAltName entries: URIs, then DNS names, then IP addresses. Refuses empty or
// non-printable-ASCII URIs and DNS names and text that is not an IPv4 or IPv6 address.
absl::StatusOr<GeneralNamesPtr> BuildGeneralNames(const std::vector<std::string>& uris,
                                                  const std::vector<std::string>& dns_names,
                                                  const std::vector<std::string>& ips);
// Returns the IA5 string values (URI or DNS, per `gen_type`) among `names`, in order.
std::vector<std::string> GeneralNameStrings(const GENERAL_NAMES& names, int gen_type);

}  // namespace bulwark::crypto::internal
