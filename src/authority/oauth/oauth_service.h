// The authority's OAuth 2.0 operations as plain calls, independent of HTTP: server metadata
// (RFC 8414 / OIDC Discovery), the token endpoint (client_credentials with RFC 8705
// tls_client_auth and certificate-bound access tokens; RFC 8693 token exchange into transaction
// tokens), introspection (RFC 7662) and revocation (RFC 7009). The API layer
// (api/oauth_routes.cc) maps form bodies to these calls and their Status to RFC 6749 §5.2
// errors (OAuthErrorCode). See docs/tokens.md. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "authority/oauth/oidc_provider.h"
#include "authority/oauth/token_keys.h"
#include "authority/service.h"
#include "crypto/jwk.h"
#include "crypto/jwt.h"
#include "crypto/x509.h"
#include "mesh/config.h"
#include "nlohmann/json.hpp"
#include "proxy/issuer_keys_source.h"
#include "tokens/user_token.h"

namespace bulwark::authority::oauth {

inline constexpr std::string_view kGrantClientCredentials = "client_credentials";
inline constexpr std::string_view kGrantTokenExchange =
    "urn:ietf:params:oauth:grant-type:token-exchange";
inline constexpr std::string_view kTokenTypeAccessToken =
    "urn:ietf:params:oauth:token-type:access_token";
inline constexpr std::string_view kTokenTypeJwt = "urn:ietf:params:oauth:token-type:jwt";
// SPIFFE ID path of the one workload that may exchange user tokens.
inline constexpr std::string_view kGatewayPath = "/gateway";

// Loads gateway.issuers for the token exchange (proxy::IssuerKeySources: file: JWKS read now,
// https:// JWKS and discovery fetched in the background; relative paths against `base_dir`).
// The `self` issuer's keys are bound by OAuthService to its own published keys. InvalidArgument
// naming the issuer for a JWKS or CA file that cannot be read or parsed.
absl::StatusOr<std::shared_ptr<const proxy::IssuerKeySources>> LoadSubjectIssuers(
    const std::vector<mesh::IssuerConfig>& issuers, std::string_view trust_domain,
    const std::string& base_dir);

struct OAuthOptions {
  std::string issuer;  // "https://host:port", no trailing slash
  core::Seconds access_token_ttl{300};
  core::Seconds txn_token_ttl{60};  // at most tokens::kMaxTxnTokenLifetime
  // The signers of the user tokens the gateway exchanges (gateway.issuers); a `self` entry's
  // keys are bound by OAuthService to the authority's published keys and issuer.
  std::vector<tokens::TrustedIssuer> subject_issuers;
  // Keeps the key fetchers of subject_issuers running (null when they need none).
  std::shared_ptr<const proxy::IssuerKeySources> subject_key_sources;
  // The scopes client_credentials may grant each workload, by SPIFFE ID (mesh.yaml
  // services.<name>.scopes). A workload not listed may be granted none.
  std::map<std::string, std::vector<std::string>, std::less<>> workload_scopes;
};

// Returns the workload_scopes of `mesh`: each service's SPIFFE ID and its `scopes`, for the
// services that list any.
std::map<std::string, std::vector<std::string>, std::less<>> WorkloadScopes(
    const mesh::MeshConfig& mesh);

// Form (a form body: parameter name to value) is declared in oidc_provider.h.

class OAuthService {
 public:
  OAuthService(AuthorityService& authority, TokenKeys& keys, OAuthOptions options);

  // Returns the authorization server metadata; with `openid`, the OIDC Discovery document.
  nlohmann::json Metadata(bool openid) const;
  // The token endpoint. `peer` is the client certificate verified by the TLS handshake. Returns
  // the RFC 6749 §5.1 / RFC 8693 §2.2.1 response body, or a Status carrying the §5.2 error.
  absl::StatusOr<nlohmann::json> Token(const Form& form,
                                       const std::optional<crypto::Certificate>& peer);
  // RFC 7662: {"active": true, ...claims} for an unexpired, unrevoked token this authority
  // signed (for any audience) when the caller is entitled to it (MayIntrospect), {"active":
  // false} for anything else, not revealing which (§2.2). The caller must present an SVID.
  absl::StatusOr<nlohmann::json> Introspect(const Form& form,
                                            const std::optional<crypto::Certificate>& peer);
  // RFC 7009: revokes the access token in `form` (for any audience) until its expiry. OK for
  // tokens that are not this authority's, malformed or expired (nothing to revoke). Only the
  // token's client or an admin may revoke it; transaction tokens are not revocable
  // (unsupported_token_type).
  absl::Status Revoke(const Form& form, const std::optional<crypto::Certificate>& peer);

  // Verifies a token this authority signed (access or transaction token) and checks it is not
  // revoked; returns the verified JWT. Unauthenticated otherwise.
  absl::StatusOr<crypto::VerifiedJwt> VerifyOwnToken(std::string_view token);

  TokenKeys& keys() { return keys_; }
  const OAuthOptions& options() const { return options_; }
  // The OpenID Connect provider (authorization_code and refresh_token grants, ...).
  OidcProvider& oidc() { return oidc_; }

 private:
  absl::StatusOr<identity::SpiffeId> AuthenticateClient(
      const Form& form, const std::optional<crypto::Certificate>& peer);
  absl::StatusOr<nlohmann::json> ClientCredentials(const Form& form,
                                                   const identity::SpiffeId& client,
                                                   const crypto::Certificate& cert);
  absl::StatusOr<nlohmann::json> TokenExchange(const Form& form, const identity::SpiffeId& client);
  // Verifies a user's token against gateway.issuers (tokens::VerifyUserToken) and, for the
  // authority's own tokens, that it is not revoked. invalid_grant errors.
  absl::StatusOr<tokens::VerifiedUserToken> VerifySubjectToken(std::string_view token);
  std::string TrustDomainId() const;

  AuthorityService& authority_;
  TokenKeys& keys_;
  const OAuthOptions options_;
  std::vector<tokens::TrustedIssuer> subject_issuers_;  // options_' with `self` bound
  OidcProvider oidc_;
};

// Returns a Status of `code` carrying the RFC 6749 §5.2 (or RFC 8693/7009) `error` code.
absl::Status OAuthError(absl::StatusCode code, std::string_view error, std::string message);
// The three errors every grant answers with: invalid_request and invalid_grant (InvalidArgument),
// invalid_client (Unauthenticated).
absl::Status InvalidRequest(std::string message);
absl::Status InvalidGrant(std::string message);
absl::Status InvalidClient(std::string message);
// Returns the RFC error code a Status carries, or one derived from its code (InvalidArgument:
// invalid_request, Unauthenticated: invalid_client, anything unexpected: server_error).
std::string OAuthErrorCode(const absl::Status& status);

}  // namespace bulwark::authority::oauth
