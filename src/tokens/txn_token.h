// Transaction tokens (after draft-ietf-oauth-transaction-tokens): the short-lived JWTs that
// carry a user's identity and scope from service to service inside the trust domain. This file
// is the profile: the claims, building them, and verifying a token against a JWKS at a given
// time; the authority mints them (authority/oauth), sidecars verify them. Sans-I/O pure
// functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "crypto/jwk.h"
#include "crypto/key.h"
#include "nlohmann/json.hpp"

namespace bulwark::tokens {

// The JOSE `typ` of a transaction token (media type application/txntoken+jwt).
inline constexpr std::string_view kTxnTokenType = "txntoken+jwt";
// The RFC 8693 token type URI of a transaction token.
inline constexpr std::string_view kTxnTokenTypeUri = "urn:ietf:params:oauth:token-type:txn_token";
// No transaction token lives longer than this (exp - iat).
inline constexpr core::Seconds kMaxTxnTokenLifetime{60};

struct TxnTokenClaims {
  std::string issuer;                     // iss: the authority's issuer identifier
  std::string audience;                   // aud: the trust domain's SPIFFE ID, spiffe://<td>
  std::string txn;                        // the transaction id: 128 random bits, base64url
  std::string subject;                    // sub: tokens::Subject.subject ("<iss name>:<sub>")
  std::string subject_issuer;             // sub_iss: tokens::Subject.issuer, a mesh.yaml name
  std::vector<std::string> scope;         // possibly narrowed; may be empty
  std::string requesting_workload;        // req_wl: SPIFFE ID of the workload that asked
  std::optional<std::string> request_ip;  // rctx.req_ip: the end user's address, if known
  core::TimePoint issued_at;
  core::TimePoint expires_at;
};

// Returns the JWT claims object of `claims` (iss, aud, iat, exp, txn, sub, sub_iss, [scope],
// req_wl, [rctx]).
nlohmann::json TxnTokenClaimsToJson(const TxnTokenClaims& claims);

// Signs `claims` as a transaction token (typ txntoken+jwt) with `key` under `kid`: the one mint
// path of the authority's token exchange and the gateway's delegated key (proxy/txn_signer.h).
// InvalidArgument when the claims break the profile (an empty iss, aud, txn, sub or req_wl, or
// exp - iat outside (0, kMaxTxnTokenLifetime]).
absl::StatusOr<std::string> SignTransactionToken(const TxnTokenClaims& claims,
                                                 const crypto::PrivateKey& key,
                                                 std::string_view kid);

// Verifies a transaction token: the JWS and JWT rules of crypto::VerifyJwt against `jwks` at
// `now` (`skew` for exp, nbf and iat) with typ txntoken+jwt, iss == `issuer` and aud containing
// spiffe://<trust_domain>; then the profile: iat, txn, sub, sub_iss and req_wl present and
// non-empty strings (iat a number), exp - iat at most kMaxTxnTokenLifetime, req_wl a SPIFFE ID of
// `trust_domain`, scope (if any) a valid scope string, rctx (if any) an object whose req_ip is a
// string. A key the authority delegated (crypto::JwkDelegation, for txntoken+jwt) verifies only
// tokens whose req_wl is the key's owner, while the key is unexpired. Returns the claims;
// Unauthenticated saying what was wrong otherwise.
absl::StatusOr<TxnTokenClaims> VerifyTransactionToken(std::string_view token,
                                                      const crypto::Jwks& jwks,
                                                      std::string_view trust_domain,
                                                      std::string_view issuer, core::TimePoint now,
                                                      core::Seconds skew = core::Seconds(60));

}  // namespace bulwark::tokens
