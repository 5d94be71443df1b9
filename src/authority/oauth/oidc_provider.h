// The authority's OpenID Connect provider as plain calls, independent of HTTP (docs/sso.md#the-
// openid-connect-provider): client registration, the authorization endpoint (code flow, PKCE
// S256 only, exact redirect URIs, RFC 9207 `iss`), the authorization_code and refresh_token
// grants (ID token, RFC 9068 access token, rotated refresh tokens with a grace window and family
// revocation on reuse), userinfo and RP-initiated logout. api/oidc_routes.cc maps HTTP to these
// calls. Thread-safe (state lives in the store).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "authority/oauth/token_keys.h"
#include "authority/service.h"
#include "authority/store/store.h"
#include "crypto/jwt.h"
#include "nlohmann/json.hpp"

namespace bulwark::authority::oauth {

inline constexpr std::string_view kGrantAuthorizationCode = "authorization_code";
inline constexpr std::string_view kGrantRefreshToken = "refresh_token";

struct OidcOptions {
  std::string issuer;
  core::Seconds code_ttl{60};
  core::Seconds access_token_ttl{300};
  core::Seconds id_token_ttl{300};
  core::Seconds refresh_token_ttl{24 * 3600};
  // How long a rotated refresh token still works, so that concurrent refreshes both succeed.
  core::Seconds refresh_grace{10};
  // The scopes a client gets when `client add` lists none.
  std::vector<std::string> default_scopes = {"openid", "profile", "email"};
};

// A client to register (the CLI's `client add`).
struct NewOidcClient {
  std::string id;
  std::vector<std::string> redirect_uris;
  std::vector<std::string> post_logout_redirect_uris;
  bool is_public = false;
  std::vector<std::string> scopes;  // empty: OidcOptions::default_scopes
};

struct RegisteredOidcClient {
  OidcClientRecord record;
  std::string secret;  // shown once; empty for a public client
};

// What the authorization endpoint answers.
struct AuthorizeOutcome {
  enum class Kind {
    kRedirect,   // 302 to `location` (the client's redirect URI with code or error)
    kLogin,      // 302 to `location`: the login page with return_to
    kErrorPage,  // an HTML error page (`message`): the redirect URI cannot be trusted
  };
  Kind kind = Kind::kErrorPage;
  std::string location;
  std::string message;
};

// What the logout endpoint answers.
struct LogoutOutcome {
  bool ok = false;       // false: an error page with `message`
  std::string location;  // where to redirect after logout; empty: a "signed out" page
  bool clear_cookie = false;
  std::string message;
};

// A form body or a query: parameter name to value (see api/form_body.h).
using Form = std::map<std::string, std::string>;

class OidcProvider {
 public:
  OidcProvider(AuthorityService& authority, TokenKeys& keys, OidcOptions options);

  // Registers a client: checks the id, redirect URIs (CheckRedirectUri) and scopes (must include
  // openid), makes a 256-bit secret for a confidential client and stores its SHA-256.
  absl::StatusOr<RegisteredOidcClient> AddClient(const NewOidcClient& client,
                                                 const std::string& actor);
  // Removes a client and revokes its refresh families. NotFound for an unknown id.
  absl::Status RemoveClient(const std::string& id, const std::string& actor);

  // The authorization endpoint for request `params` (the query or the form). `session` is the
  // browser's login session, if any; `return_to` is the request's path and query, for the login
  // redirect.
  AuthorizeOutcome Authorize(const Form& params, const std::optional<LoginSessionRecord>& session,
                             std::string_view return_to);

  // The token endpoint's authorization_code and refresh_token grants. `authorization` is the
  // request's Authorization header, if any (client_secret_basic). Returns the RFC 6749 §5.1 body,
  // or a Status carrying the §5.2 error (OAuthError).
  absl::StatusOr<nlohmann::json> Token(const Form& form,
                                       std::optional<std::string_view> authorization);

  // RFC 7009 revocation by an OpenID Connect client (`authorization`: client_secret_basic): a
  // refresh token of the client revokes its whole family, the grant and its access tokens (the
  // gateway's logout). An unknown token, or another client's, is ignored (RFC 7009 §2.2).
  // Errors: the client's authentication, as for Token.
  absl::Status Revoke(const Form& form, std::optional<std::string_view> authorization);

  // The userinfo response for a verified access token's claims: sub, and email with the email
  // scope, preferred_username with profile. Unauthenticated when the token is not an OIDC
  // client's user token with the openid scope or the user is gone or disabled.
  absl::StatusOr<nlohmann::json> UserInfo(const nlohmann::json& access_claims);

  // RP-initiated logout: verifies id_token_hint (signed by this issuer; it may have expired),
  // checks post_logout_redirect_uri against the hint's client exactly, and ends `session` when it
  // belongs to the hint's user.
  LogoutOutcome Logout(const Form& params, const std::optional<LoginSessionRecord>& session);

  const OidcOptions& options() const { return options_; }

 private:
  absl::StatusOr<OidcClientRecord> AuthenticateClient(
      const Form& form, std::optional<std::string_view> authorization);
  absl::StatusOr<nlohmann::json> RedeemCode(const Form& form, const OidcClientRecord& client);
  absl::StatusOr<nlohmann::json> Refresh(const Form& form, const OidcClientRecord& client);
  // Signs the access and ID tokens and returns the response with `refresh_token`; `record` is
  // the refresh token's record, whose access_jti is filled in.
  absl::StatusOr<nlohmann::json> IssueTokens(RefreshTokenRecord& record, const std::string& nonce,
                                             const std::string& refresh_token);
  absl::Status CheckUserActive(const std::string& user);
  void RevokeFamily(const std::string& family, const std::string& client, std::string_view why);
  std::string TrustDomainId() const;

  AuthorityService& authority_;
  TokenKeys& keys_;
  const OidcOptions options_;
};

}  // namespace bulwark::authority::oauth
