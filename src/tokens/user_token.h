// Users' bearer tokens from mesh.yaml's gateway.issuers: which issuer a token claims, verifying
// it against that issuer's keys and profile, and the Subject it vouches for. One verifier for
// the gateway's bearer authentication (proxy/bearer_auth.h) and the authority's token exchange
// (authority/oauth), so that both accept exactly the same tokens. Sans-I/O (keys come through
// tokens::IssuerKeySource); thread-safe when the key sources are.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "mesh/config.h"
#include "nlohmann/json.hpp"
#include "tokens/issuer_keys.h"
#include "tokens/subject.h"

namespace bulwark::tokens {

// The JOSE `typ` of an OAuth 2.0 access token in JWT form (RFC 9068).
inline constexpr std::string_view kAccessTokenType = "at+jwt";

// One gateway.issuers entry, ready to verify with.
struct TrustedIssuer {
  std::string name;   // the mesh.yaml name: sub_iss, and the prefix of a qualified sub
  bool self = false;  // the authority's own access tokens
  // The `iss` its tokens carry. Empty for `self`: the issuer of the current keys.
  std::string issuer;
  std::vector<std::string> audiences;  // accepted `aud` values; for self the trust domain's ID
  std::vector<std::string> algorithms;
  IssuerKeySource keys;
};

// Returns the TrustedIssuer of `config` with `keys`; a `self` issuer accepts the audience
// spiffe://<trust_domain>, the audience of the authority's access tokens.
TrustedIssuer TrustedIssuerFromConfig(const mesh::IssuerConfig& config,
                                      std::string_view trust_domain, IssuerKeySource keys);

struct VerifiedUserToken {
  Subject subject;
  nlohmann::json header;
  nlohmann::json claims;
  core::TimePoint expires_at;  // exp
  bool self = false;           // issued by the authority (then `jti` may be revoked)
};

// Returns the claims of a compact JWS without verifying anything: only to choose which issuer
// or audience to verify against, never to trust. InvalidArgument when it is not
// header.payload.signature with a strict base64url JSON object as payload.
absl::StatusOr<nlohmann::json> PeekJwtClaims(std::string_view token);

// Returns the audiences `claims` names: `aud` as a string, or the strings of an array.
std::vector<std::string> JwtAudiences(const nlohmann::json& claims);

// Returns the first audience of `claims` (`aud`, a string or an array) that is in `accepted`,
// else the first of `accepted` (so that verification fails with the audience error). `accepted`
// must not be empty.
std::string ChooseAudience(const nlohmann::json& claims, const std::vector<std::string>& accepted);

// Verifies user token `token` at `now`: picks the issuer whose `iss` equals the token's exactly,
// then crypto::VerifyJwt against its current keys (every JWS/JWT rule: signature, exp/nbf/iat
// within `skew`, aud one of its audiences), its algorithm in the issuer's `algorithms`, and the
// token type: for `self` typ must be at+jwt (RFC 9068); for external issuers typ may be absent,
// JWT or at+jwt (others, such as a transaction token's txntoken+jwt or an ID token profile's,
// are refused). `sub` must be a non-empty string. The Subject: issuer = the issuer's name; sub
// as the issuer wrote it for `self`, "<name>:<sub>" for every other issuer, so that a foreign
// user never passes for a local one of the same name; scope from `scope` (space-separated, RFC
// 6749 §3.3) or `scp` (an array of strings). Unauthenticated with the precise reason otherwise
// (the keys not fetched yet, an unknown kid, ...); on an unknown kid the issuer's
// keys.unknown_kid is called first.
absl::StatusOr<VerifiedUserToken> VerifyUserToken(std::string_view token,
                                                  const std::vector<TrustedIssuer>& issuers,
                                                  core::TimePoint now,
                                                  core::Seconds skew = core::Seconds(60));

}  // namespace bulwark::tokens
