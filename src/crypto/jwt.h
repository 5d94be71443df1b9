// JSON Web Tokens (RFC 7519) on top of the hardened JWS layer: strict claims, exp/nbf/iat with a
// bounded skew against a caller-supplied time (the clock is never read here), exact iss, aud and
// explicit typing (RFC 8725 §3.11). Sans-I/O pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "crypto/jwk.h"
#include "crypto/key.h"
#include "nlohmann/json.hpp"

namespace bulwark::crypto {

// What a token must satisfy besides its signature.
struct JwtExpectations {
  std::string issuer;    // required: exact match of the `iss` claim
  std::string audience;  // required: `aud` (string or array of strings) must contain it
  // When non-empty, the header `typ` must equal it, case-insensitively and ignoring an
  // "application/" prefix on either side (e.g. "at+jwt", "txn+jwt").
  std::string typ;
  core::Seconds skew{60};  // tolerated clock difference for exp, nbf and iat
  std::size_t max_token_bytes = 16 * 1024;
  // Whether a delegated key (Jwk::delegation) may verify the token: only when its typ is
  // expect.typ, while the key is unexpired and for a token that does not outlive it. The caller
  // must then check that the token names VerifiedJwt::delegated_to. When false (the default), a
  // token signed with a delegated key is refused: fail closed for every other use of a JWKS.
  bool accept_delegated = false;
};

struct VerifiedJwt {
  nlohmann::json header;
  nlohmann::json claims;
  std::string kid;
  // The owner (JwkDelegation::workload) of the delegated key that verified the token; nullopt
  // for an ordinary key.
  std::optional<std::string> delegated_to;
};

// Verifies `token` as a JWS (see VerifyJws) and then its claims at time `now`. Refuses
// (Unauthenticated, saying exactly what was wrong): a payload that is not a strict JSON object;
// `exp` missing or not a number; now >= exp + skew; `nbf` or `iat` not numbers, nbf > now + skew,
// iat > now + skew; `iss` other than expect.issuer; `aud` missing, malformed or without
// expect.audience; a missing or different `typ` when expect.typ is set; a delegated key unless
// expect.accept_delegated allows it (see there). InvalidArgument when `expect` lacks an issuer or
// audience.
absl::StatusOr<VerifiedJwt> VerifyJwt(std::string_view token, const Jwks& keys,
                                      const JwtExpectations& expect, core::TimePoint now);

// Signs `claims` (a JSON object) as a JWT with `key` (ES256 for P-256, EdDSA for Ed25519). The
// header is `header_extra` plus "alg" and, when non-empty, "kid"; "typ" defaults to "JWT".
// InvalidArgument when claims is not an object or header_extra is refused by SignJws.
absl::StatusOr<std::string> SignJwt(const nlohmann::json& header_extra,
                                    const nlohmann::json& claims, const PrivateKey& key,
                                    std::string_view kid);

// Returns whether two JOSE `typ` values name the same media type (RFC 7515 §4.1.9): ASCII
// case-insensitive, an "application/" prefix ignored.
bool JoseTypeEquals(std::string_view a, std::string_view b);

}  // namespace bulwark::crypto
