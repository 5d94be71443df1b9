// JWS compact serialization (RFC 7515) with the RFC 8725 hardening: the header's alg must equal
// the verifying key's pinned algorithm, no key material or URLs are taken from the header, crit
// is refused, ECDSA signatures are raw R||S only. Sans-I/O pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/bytes.h"
#include "crypto/jwk.h"
#include "crypto/key.h"
#include "nlohmann/json.hpp"

namespace bulwark::crypto {

struct JwsLimits {
  std::size_t max_token_bytes = 16 * 1024;
};

// What a successful verification proved: the protected header, the payload bytes and the key.
struct VerifiedJws {
  nlohmann::json header;
  std::string payload;
  std::string kid;
  JwsAlgorithm alg;
  // The verifying key's delegation (Jwk::delegation): VerifyJwt enforces it; a caller of
  // VerifyJws alone must refuse delegated keys it does not expect.
  std::optional<JwkDelegation> delegation;
};

// Verifies a compact JWS `token` against `keys`. Refuses (Unauthenticated, saying exactly what
// was wrong): tokens over `limits.max_token_bytes`; JWE-shaped (5 segments) or any count other
// than 3; segments that are not strict base64url; a header that is not a strict JSON object;
// `jku`, `x5u`, `jwk` or `x5c` header members; any `crit`; a non-string or unknown `kid`; no
// `kid` unless the set has exactly one key; an `alg` that is not exactly the key's pinned
// algorithm ("none" and HMAC included); and signatures that do not verify.
absl::StatusOr<VerifiedJws> VerifyJws(std::string_view token, const Jwks& keys,
                                      const JwsLimits& limits = {});

// Verifies `signature` over `signing_input` with `key` under the JOSE rules: `alg` must equal
// key.alg exactly; ES256 takes exactly 64 bytes of raw R||S (r, s in [1, n-1]; DER is refused);
// EdDSA takes 64 bytes; RS256 is PKCS#1 v1.5 and PS256 is PSS, both with SHA-256. Unauthenticated
// on refusal. VerifyJws calls it; it is public so that test vectors can reach it directly.
absl::Status VerifyJwsSignature(std::string_view alg, std::string_view signing_input,
                                const Bytes& signature, const Jwk& key);

// Signs `payload` as a compact JWS with `key` (P-256: ES256 raw R||S; Ed25519: EdDSA). The
// protected header is `header` (an object, may be empty) plus "alg" and, when non-empty, "kid".
// InvalidArgument if `header` is not an object or already sets alg, kid, jku, x5u, jwk, x5c or
// crit.
absl::StatusOr<std::string> SignJws(const nlohmann::json& header, std::string_view payload,
                                    const PrivateKey& key, std::string_view kid);

}  // namespace bulwark::crypto
