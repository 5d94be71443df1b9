// JSON Web Keys (RFC 7517/7518/8037) for JOSE verification: parses public JWKs and JWK Sets
// strictly, pins one signature algorithm per key, and emits JWKs for our own P-256/Ed25519 keys
// with RFC 7638 thumbprints as kids. Sans-I/O; values are immutable and thread-safe to share.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "crypto/key.h"
#include "nlohmann/json.hpp"

namespace bulwark::crypto {

// The JWS algorithms bulwark verifies. ES256 and EdDSA are also signed; RS256 and PS256 exist
// only for external issuers' keys.
enum class JwsAlgorithm { kES256, kEdDSA, kRS256, kPS256 };

// Returns the registered JOSE name: "ES256", "EdDSA", "RS256" or "PS256".
std::string_view JwsAlgorithmName(JwsAlgorithm alg);
// Returns the algorithm whose JOSE name is exactly `name` (case-sensitive, RFC 7515 §4.1.1);
// nullopt for anything else, "none" and HMAC algorithms included.
std::optional<JwsAlgorithm> JwsAlgorithmFromName(std::string_view name);

// The JWK member that marks a delegated key: bulwark-specific (RFC 7517 §4: verifiers that do
// not understand it ignore it, so only bulwark's verifiers honour the restriction).
inline constexpr std::string_view kJwkDelegationMember = "bulwark_delegation";

// A key the authority publishes for one workload, valid only for tokens of one JOSE `typ` and
// only until it expires (docs/tokens.md#delegated-transaction-token-keys). In the JWK:
// "bulwark_delegation": {"workload": "<SPIFFE ID>", "typ": "<typ>", "exp": <NumericDate>}.
struct JwkDelegation {
  std::string workload;  // the key's owner; tokens it signs must name it
  std::string typ;       // the only token type it may sign, e.g. "txntoken+jwt"
  core::TimePoint expires_at;
};

// One verification key with the single algorithm it may be used with.
struct Jwk {
  std::string kid;  // may be empty only in a one-key set
  JwsAlgorithm alg;
  PublicKey key;
  std::optional<JwkDelegation> delegation;  // set only for a delegated key
};

// Limits applied to untrusted JWK Sets.
struct JwksLimits {
  std::size_t max_bytes = 64 * 1024;
  std::size_t max_keys = 32;
  std::size_t max_kid_bytes = 256;
};

// A JWK Set: keys with unique kids. Immutable after creation.
class Jwks {
 public:
  // Builds a set from `keys`, refusing (InvalidArgument) an empty set, duplicate kids and, when
  // there is more than one key, an empty kid.
  static absl::StatusOr<Jwks> FromKeys(std::vector<Jwk> keys);

  const std::vector<Jwk>& keys() const { return keys_; }
  // Returns the key with `kid`, or nullptr when there is none.
  const Jwk* Find(std::string_view kid) const;

 private:
  explicit Jwks(std::vector<Jwk> keys) : keys_(std::move(keys)) {}
  std::vector<Jwk> keys_;
};

// Parses one public JWK object. Accepts kty EC (crv P-256, x and y strict base64url of 32 bytes
// each; alg ES256, inferred when absent), OKP (crv Ed25519, x of 32 bytes; alg EdDSA, inferred)
// and RSA (n, e; modulus of 2048-8192 bits; alg RS256 or PS256, required). Refuses private or
// symmetric members (d, p, q, dp, dq, qi, oth, k), `use` other than "sig", `key_ops` other than
// ["verify"], an alg that does not fit the key, and wrong member types. A "bulwark_delegation"
// member must be an object of exactly workload and typ (non-empty strings) and exp (an integer
// NumericDate); it becomes Jwk::delegation. InvalidArgument, naming the member, on every refusal.
absl::StatusOr<Jwk> ParseJwk(const nlohmann::json& jwk, const JwksLimits& limits = {});
// Parses a JWK Set document {"keys": [...]}: strict JSON (no duplicate members), at most
// `limits.max_bytes` and `limits.max_keys`, each key as ParseJwk, kids as Jwks::FromKeys.
// Errors name the index of the offending key, e.g. "JWKS keys[2]: ...".
absl::StatusOr<Jwks> ParseJwks(std::string_view text, const JwksLimits& limits = {});

// Returns the RFC 7638 thumbprint of a P-256 or Ed25519 key: base64url(SHA-256 of the canonical
// required members). FailedPrecondition for RSA keys.
absl::StatusOr<std::string> JwkThumbprint(const PublicKey& key);
// Returns the JWK of our own P-256 (ES256) or Ed25519 (EdDSA) public key with kid = thumbprint.
absl::StatusOr<Jwk> JwkForKey(const PublicKey& key);
// Returns the public JWK JSON (kty, crv, x, [y], alg, use "sig", kid, [bulwark_delegation]) of a
// P-256 or Ed25519 key.
absl::StatusOr<nlohmann::json> JwkToJson(const Jwk& jwk);
// Returns {"keys": [...]} for a set of P-256 or Ed25519 keys.
absl::StatusOr<nlohmann::json> JwksToJson(const Jwks& jwks);

namespace internal {
// Returns `text` single-quoted for an error message: at most 64 bytes, non-printable bytes as
// '?', so that attacker-chosen strings cannot forge log lines. Shared by the JOSE files.
std::string QuoteForMessage(std::string_view text);
}  // namespace internal

}  // namespace bulwark::crypto
