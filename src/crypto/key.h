// Asymmetric keys: ECDSA P-256 and Ed25519, as RAII wrappers over OpenSSL EVP_PKEY, plus RSA
// public keys for verifying external JOSE signatures only (never for identities or CSRs).
// Objects are immutable after creation; const methods are safe to call from several threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/bytes.h"

struct evp_pkey_st;

namespace bulwark::crypto {

// kRsa exists only as a PublicKey built by FromRsaComponents (external JWKS verification); PEM,
// DER and EVP imports, key generation and CSRs refuse RSA.
enum class KeyType { kP256, kEd25519, kRsa };

// Returns "P-256", "Ed25519" or "RSA".
std::string_view KeyTypeName(KeyType type);

struct EvpPkeyDeleter {
  void operator()(evp_pkey_st* key) const;
};
using EvpPkeyPtr = std::unique_ptr<evp_pkey_st, EvpPkeyDeleter>;

class PublicKey {
 public:
  // Parses a PEM "PUBLIC KEY" (SubjectPublicKeyInfo). Only P-256 and Ed25519 are accepted.
  static absl::StatusOr<PublicKey> FromPem(std::string_view pem);
  // Parses a DER SubjectPublicKeyInfo. Only P-256 and Ed25519 are accepted.
  static absl::StatusOr<PublicKey> FromDer(const Bytes& der);
  // Builds a P-256 key from its affine coordinates (32 bytes each, as in a JWK); validates the
  // point is on the curve.
  static absl::StatusOr<PublicKey> FromP256Coordinates(const Bytes& x, const Bytes& y);
  // Builds an Ed25519 key from its 32 raw bytes.
  static absl::StatusOr<PublicKey> FromEd25519Raw(const Bytes& raw);
  // Builds an RSA public key from its big-endian modulus and public exponent (as in a JWK), for
  // verification only. Refuses a modulus outside [2048, 8192] bits, leading zero octets and
  // keys that fail OpenSSL's public-key check.
  static absl::StatusOr<PublicKey> FromRsaComponents(const Bytes& n, const Bytes& e);
  // Takes ownership of `key` after checking its type is supported (P-256 or Ed25519).
  static absl::StatusOr<PublicKey> FromEvp(EvpPkeyPtr key);

  PublicKey(const PublicKey& other);
  PublicKey& operator=(const PublicKey& other);
  PublicKey(PublicKey&&) noexcept = default;
  PublicKey& operator=(PublicKey&&) noexcept = default;

  KeyType type() const { return type_; }
  // Returns the PEM SubjectPublicKeyInfo.
  std::string ToPem() const;
  // Returns the DER SubjectPublicKeyInfo.
  Bytes ToDer() const;
  // For P-256: the 32-byte big-endian x and y coordinates. Fails for other key types.
  absl::Status P256Coordinates(Bytes& x, Bytes& y) const;
  // For Ed25519: the 32 raw public bytes. Fails for other key types.
  absl::StatusOr<Bytes> Ed25519Raw() const;
  // Verifies `signature` over `message`. P-256: ECDSA with SHA-256, signature in DER
  // (kDer) or raw 64-byte R||S (kRaw, as JOSE uses it; r and s must be in [1, n-1]).
  // Ed25519: pure EdDSA, 64-byte signature; `format` is ignored. RSA keys refuse
  // (FailedPrecondition): use VerifyRsa, which names the padding.
  enum class SignatureFormat { kDer, kRaw };
  absl::Status Verify(std::string_view message, const Bytes& signature,
                      SignatureFormat format = SignatureFormat::kDer) const;
  // Verifies an RSA signature with SHA-256 over `message`: PKCS#1 v1.5 (RS256) or PSS with
  // MGF1-SHA-256 and a 32-byte salt (PS256). FailedPrecondition for non-RSA keys.
  enum class RsaPadding { kPkcs1v15, kPss };
  absl::Status VerifyRsa(std::string_view message, const Bytes& signature,
                         RsaPadding padding) const;
  // Returns the RSA modulus size in bits (0 for other key types).
  int RsaBits() const;
  // Returns whether both keys are the same public key.
  bool Equals(const PublicKey& other) const;
  // Returns the underlying key for the TLS module; ownership stays here.
  evp_pkey_st* raw() const { return key_.get(); }

 private:
  // The verification context of this key, set up on first use and copied for each Verify.
  class VerifyCache;

  PublicKey(EvpPkeyPtr key, KeyType type);
  EvpPkeyPtr key_;
  KeyType type_;
  std::shared_ptr<VerifyCache> verify_cache_;  // shared by copies: the key is the same object
};

class PrivateKey {
 public:
  // Generates a fresh key of `type` (P-256 or Ed25519; RSA is refused).
  static absl::StatusOr<PrivateKey> Generate(KeyType type);
  // Parses an unencrypted PKCS#8 PEM "PRIVATE KEY" (or a SEC1 "EC PRIVATE KEY"). Only P-256 and
  // Ed25519 are accepted.
  static absl::StatusOr<PrivateKey> FromPem(std::string_view pem);

  PrivateKey(PrivateKey&&) noexcept = default;
  PrivateKey& operator=(PrivateKey&&) noexcept = default;

  KeyType type() const { return type_; }
  // Returns the unencrypted PKCS#8 PEM. The caller must protect it (0600 file or envelope).
  std::string ToPem() const;
  // Returns the public half.
  PublicKey Public() const;
  // Signs `message`: P-256 ECDSA with SHA-256 (DER or raw R||S), Ed25519 pure EdDSA.
  absl::StatusOr<Bytes> Sign(std::string_view message, PublicKey::SignatureFormat format =
                                                           PublicKey::SignatureFormat::kDer) const;
  evp_pkey_st* raw() const { return key_.get(); }

 private:
  PrivateKey(EvpPkeyPtr key, KeyType type) : key_(std::move(key)), type_(type) {}
  EvpPkeyPtr key_;
  KeyType type_;
};

}  // namespace bulwark::crypto
