// The keys a token issuer signs with, and where they come from: the IssuerKeys value (issuer
// identifier + JWKS) that verifiers read, the IssuerKeySource seam they read it through, and the
// sans-I/O half of fetching them from an external OpenID Connect issuer (the discovery URL, and
// parsing the discovery document). The fetching itself is proxy/issuer_keys_source.h.
// Values are immutable; the functions are pure and thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/jwk.h"

namespace bulwark::tokens {

// An issuer identifier and its token-signing keys, as fetched together.
struct IssuerKeys {
  std::string issuer;
  crypto::Jwks jwks;
};

// Where a verifier gets an issuer's keys (a seam: a background fetcher, a file read once, the
// authority's own published keys, fixed keys in tests).
struct IssuerKeySource {
  // Returns the current keys; null while none were fetched yet. Must be set.
  std::function<std::shared_ptr<const IssuerKeys>()> current;
  // Called when a token names a kid the keys lack; the source refetches at a bounded rate.
  // May be empty.
  std::function<void()> unknown_kid;
};

// The largest discovery document or JWKS fetched from an external issuer.
inline constexpr std::size_t kMaxIssuerDocumentBytes = 256 * 1024;

// Returns the OpenID Connect Discovery URL of `issuer`: issuer (any trailing '/' removed) +
// "/.well-known/openid-configuration" (OpenID Connect Discovery 1.0 §4).
std::string DiscoveryUrl(std::string_view issuer);

// Parses an OpenID Connect Discovery document (or RFC 8414 metadata) fetched for the issuer
// configured as `expected_issuer` and returns its `jwks_uri`. Refuses (DataLoss, naming the
// member): more than kMaxIssuerDocumentBytes, not a strict JSON object, an `issuer` that is not
// exactly `expected_issuer` (§4.3: a document may not speak for another issuer), a `jwks_uri`
// that is missing or not an https:// URL.
absl::StatusOr<std::string> ParseDiscoveryJwksUri(std::string_view document,
                                                  std::string_view expected_issuer);

// Parses an external issuer's JWK Set: crypto::ParseJwks (strict, at most 64 KiB and 32 keys)
// after dropping the keys no token of ours could be verified with, which providers publish
// beside their signing keys: `use` "enc" (encryption keys, as Keycloak's RSA-OAEP key), and an
// `alg` that is not a JWS algorithm bulwark verifies (ES384, RSA-OAEP, HS256, ...). Every other
// key must parse (a private or malformed key refuses the whole set). InvalidArgument when
// nothing usable is left.
absl::StatusOr<crypto::Jwks> ParseIssuerJwks(std::string_view text);

// Returns whether a token's verification failed only because its kid is not in the key set
// (the keys may have rotated since they were fetched: worth a rate-limited refetch).
bool IsUnknownKid(const absl::Status& status);

}  // namespace bulwark::tokens
