#include "authority/oauth/oidc_provider.h"

#include <algorithm>

#include "authority/oauth/oauth_service.h"
#include "authority/oauth/oidc_rules.h"
#include "authority/sso/login_session.h"
#include "core/status.h"
#include "crypto/bytes.h"
#include "crypto/digest.h"
#include "crypto/jwk.h"
#include "crypto/random.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"
#include "tokens/scope.h"
#include "tokens/user_token.h"

namespace bulwark::authority::oauth {
namespace {

using crypto::internal::QuoteForMessage;
using nlohmann::json;

std::string Get(const Form& params, const char* name) {
  auto it = params.find(name);
  return it == params.end() ? "" : it->second;
}

bool Contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// 256 random bits, base64url: codes, refresh tokens, client secrets.
std::string RandomSecret() { return crypto::Base64UrlEncode(crypto::RandomBytes(32)); }

crypto::Bytes Hash(std::string_view secret) { return crypto::Sha256(secret); }

AuthorizeOutcome ErrorPage(std::string message) {
  return {AuthorizeOutcome::Kind::kErrorPage, "", std::move(message)};
}

}  // namespace

OidcProvider::OidcProvider(AuthorityService& authority, TokenKeys& keys, OidcOptions options)
    : authority_(authority), keys_(keys), options_(std::move(options)) {}

std::string OidcProvider::TrustDomainId() const {
  return identity::TrustDomainId(authority_.ca().trust_domain());
}

absl::StatusOr<RegisteredOidcClient> OidcProvider::AddClient(const NewOidcClient& client,
                                                             const std::string& actor) {
  BULWARK_RETURN_IF_ERROR(CheckClientId(client.id));
  if (client.redirect_uris.empty()) {
    return absl::InvalidArgumentError("a client needs at least one redirect URI");
  }
  for (const auto* list : {&client.redirect_uris, &client.post_logout_redirect_uris}) {
    for (const std::string& uri : *list) {
      BULWARK_RETURN_IF_ERROR(CheckRedirectUri(uri));
    }
  }
  std::vector<std::string> scopes = client.scopes.empty() ? options_.default_scopes : client.scopes;
  if (!Contains(scopes, "openid")) {
    return absl::InvalidArgumentError("a client's scopes must include openid");
  }
  RegisteredOidcClient out;
  out.record = {client.id,
                {},
                client.is_public,
                client.redirect_uris,
                client.post_logout_redirect_uris,
                scopes,
                authority_.clock().Now()};
  if (!client.is_public) {
    out.secret = RandomSecret();
    out.record.secret_hash = Hash(out.secret);
  }
  AuditEntry audit{
      0,
      out.record.created_at,
      actor,
      "oidc-client.add",
      client.id,
      fmt::format("{} redirect_uris {} scopes '{}'", client.is_public ? "public" : "confidential",
                  fmt::join(client.redirect_uris, " "), tokens::JoinScope(scopes))};
  BULWARK_RETURN_IF_ERROR(authority_.store().CreateOidcClient(out.record, audit));
  return out;
}

absl::Status OidcProvider::RemoveClient(const std::string& id, const std::string& actor) {
  AuditEntry audit{0, authority_.clock().Now(), actor, "oidc-client.remove", id, ""};
  return authority_.store().DeleteOidcClient(id, audit);
}

AuthorizeOutcome OidcProvider::Authorize(const Form& params,
                                         const std::optional<LoginSessionRecord>& session,
                                         std::string_view return_to) {
  std::string client_id = Get(params, "client_id");
  if (client_id.empty()) {
    return ErrorPage("The request has no client_id.");
  }
  absl::StatusOr<OidcClientRecord> client = authority_.store().FindOidcClient(client_id);
  if (!client.ok()) {
    return ErrorPage(client.status().code() == absl::StatusCode::kNotFound
                         ? fmt::format("Unknown client {}.", QuoteForMessage(client_id))
                         : "The authority could not read its clients; see its log.");
  }
  // Exact match only: no prefix, no normalization (a registered URI is the only place a code or
  // an error may be sent; anything else gets this page, never a redirect).
  std::string redirect_uri = Get(params, "redirect_uri");
  if (!Contains(client->redirect_uris, redirect_uri) || redirect_uri.empty()) {
    return ErrorPage(fmt::format("The redirect_uri {} is not registered for client {}.",
                                 QuoteForMessage(redirect_uri), QuoteForMessage(client_id)));
  }
  std::string state = Get(params, "state");
  auto redirect = [&](std::vector<std::pair<std::string, std::string>> answer) {
    if (!state.empty()) {
      answer.emplace_back("state", state);
    }
    answer.emplace_back("iss", options_.issuer);  // RFC 9207
    return AuthorizeOutcome{AuthorizeOutcome::Kind::kRedirect, AppendQuery(redirect_uri, answer),
                            ""};
  };
  auto error = [&](std::string code, std::string description) {
    spdlog::info("authorize for client {} refused: {} ({})", client_id, code, description);
    return redirect({{"error", std::move(code)}, {"error_description", std::move(description)}});
  };
  if (Get(params, "response_type") != "code") {
    return error("unsupported_response_type", "response_type must be code");
  }
  std::string mode = Get(params, "response_mode");
  if (!mode.empty() && mode != "query") {
    return error("invalid_request", "response_mode must be query");
  }
  if (!Get(params, "request").empty() || !Get(params, "request_uri").empty()) {
    return error("request_not_supported", "request objects are not supported");
  }
  std::string challenge = Get(params, "code_challenge");
  if (challenge.empty()) {
    return error("invalid_request",
                 "PKCE is required: send code_challenge with code_challenge_method=S256");
  }
  if (Get(params, "code_challenge_method") != "S256") {
    return error("invalid_request", "code_challenge_method must be S256 (plain is refused)");
  }
  if (absl::Status s = CheckCodeChallenge(challenge); !s.ok()) {
    return error("invalid_request", std::string(s.message()));
  }
  absl::StatusOr<std::vector<std::string>> scope = tokens::ParseScope(Get(params, "scope"));
  if (!scope.ok() || !Contains(*scope, "openid")) {
    return error("invalid_scope", "scope must be a valid scope string that includes openid");
  }
  for (const std::string& s : *scope) {
    if (!Contains(client->scopes, s)) {
      return error("invalid_scope", fmt::format("scope {} is not allowed for this client", s));
    }
  }
  absl::StatusOr<std::vector<std::string>> prompt = tokens::ParseScope(Get(params, "prompt"));
  bool no_prompt = prompt.ok() && Contains(*prompt, "none");
  if (no_prompt && prompt->size() > 1) {
    return error("invalid_request", "prompt=none cannot be combined with other values");
  }
  if (!session) {
    if (no_prompt) {
      return error("login_required", "the user is not signed in");
    }
    return {AuthorizeOutcome::Kind::kLogin,
            AppendQuery(kLoginPath, {{"return_to", std::string(return_to)}}), ""};
  }
  std::string code = RandomSecret();
  core::TimePoint now = authority_.clock().Now();
  AuthCodeRecord record{Hash(code),
                        client_id,
                        redirect_uri,
                        challenge,
                        Get(params, "nonce"),
                        session->user,
                        session->auth_time,
                        session->amr,
                        *scope,
                        RandomSecret(),
                        now + options_.code_ttl,
                        std::nullopt};
  if (absl::Status s = authority_.store().CreateAuthCode(record); !s.ok()) {
    spdlog::error("storing an authorization code failed: {}", s.ToString());
    return error("server_error", "internal error; see the authority's log");
  }
  spdlog::info("authorization code for client {} and user {}", client_id, session->user);
  return redirect({{"code", code}});
}

absl::StatusOr<OidcClientRecord> OidcProvider::AuthenticateClient(
    const Form& form, std::optional<std::string_view> authorization) {
  std::string id = Get(form, "client_id");
  std::string secret = Get(form, "client_secret");
  if (authorization) {
    if (!secret.empty()) {
      return InvalidRequest("use one client authentication method, not Basic and client_secret");
    }
    absl::StatusOr<std::pair<std::string, std::string>> basic =
        ParseBasicCredentials(*authorization);
    if (!basic.ok()) {
      return InvalidClient(std::string(basic.status().message()));
    }
    if (!id.empty() && id != basic->first) {
      return InvalidClient("client_id differs from the Basic credentials' client id");
    }
    std::tie(id, secret) = *std::move(basic);
  }
  if (id.empty()) {
    return InvalidClient(
        "client authentication is required (client_secret_basic, client_secret_post, or "
        "client_id for a public client)");
  }
  absl::StatusOr<OidcClientRecord> client = authority_.store().FindOidcClient(id);
  if (!client.ok()) {
    if (client.status().code() == absl::StatusCode::kNotFound) {
      return InvalidClient("client authentication failed");
    }
    return client.status();
  }
  if (client->is_public) {
    if (!secret.empty()) {
      return InvalidClient("a public client has no secret");
    }
    return client;
  }
  if (secret.empty() || !crypto::ConstantTimeEquals(Hash(secret), client->secret_hash)) {
    return InvalidClient("client authentication failed");
  }
  return client;
}

absl::StatusOr<json> OidcProvider::Token(const Form& form,
                                         std::optional<std::string_view> authorization) {
  BULWARK_ASSIGN_OR_RETURN(OidcClientRecord client, AuthenticateClient(form, authorization));
  if (Get(form, "grant_type") == kGrantAuthorizationCode) {
    return RedeemCode(form, client);
  }
  return Refresh(form, client);
}

absl::Status OidcProvider::Revoke(const Form& form, std::optional<std::string_view> authorization) {
  BULWARK_ASSIGN_OR_RETURN(OidcClientRecord client, AuthenticateClient(form, authorization));
  absl::StatusOr<RefreshTokenRecord> record =
      authority_.store().FindRefreshToken(Hash(Get(form, "token")));
  if (!record.ok()) {
    return record.status().code() == absl::StatusCode::kNotFound ? absl::OkStatus()
                                                                 : record.status();
  }
  if (record->client_id == client.id) {
    RevokeFamily(record->family, client.id, "the client revoked its refresh token (RFC 7009)");
  }
  return absl::OkStatus();
}

absl::Status OidcProvider::CheckUserActive(const std::string& name) {
  absl::StatusOr<UserRecord> user = authority_.store().FindUser(name);
  if (!user.ok() && user.status().code() != absl::StatusCode::kNotFound) {
    return user.status();
  }
  if (!user.ok() || user->deleted_at || user->disabled) {
    return InvalidGrant(fmt::format("the user {} is disabled or deleted", name));
  }
  return absl::OkStatus();
}

void OidcProvider::RevokeFamily(const std::string& family, const std::string& client,
                                std::string_view why) {
  AuditEntry audit{0,      authority_.clock().Now(), client, "oidc.family-revoke",
                   family, std::string(why)};
  if (absl::Status s = authority_.store().RevokeRefreshFamily(family, audit); !s.ok()) {
    spdlog::error("revoking refresh family of client {} failed: {}", client, s.ToString());
  }
  spdlog::warn("client {}: {}; its refresh family and access tokens are revoked", client, why);
}

absl::StatusOr<json> OidcProvider::RedeemCode(const Form& form, const OidcClientRecord& client) {
  std::string code = Get(form, "code");
  std::string verifier = Get(form, "code_verifier");
  if (code.empty() || verifier.empty()) {
    return InvalidRequest("code and code_verifier (PKCE) are required");
  }
  core::TimePoint now = authority_.clock().Now();
  absl::StatusOr<AuthCodeRecord> grant = authority_.store().ConsumeAuthCode(Hash(code), now);
  if (!grant.ok()) {
    if (grant.status().code() == absl::StatusCode::kNotFound) {
      return InvalidGrant("unknown authorization code");
    }
    return grant.status();
  }
  if (grant->used_at) {
    // RFC 6749 §4.1.2: someone holds a copy of the code; revoke what the first use issued.
    RevokeFamily(grant->family, grant->client_id, "authorization code used twice");
    return InvalidGrant(
        "the authorization code was used already; the tokens issued for it are revoked");
  }
  if (grant->expires_at <= now) {
    return InvalidGrant("the authorization code has expired");
  }
  if (grant->client_id != client.id) {
    return InvalidGrant("the authorization code was issued to another client");
  }
  if (Get(form, "redirect_uri") != grant->redirect_uri) {
    return InvalidGrant("redirect_uri differs from the authorization request's");
  }
  if (!VerifyPkce(verifier, grant->code_challenge)) {
    return InvalidGrant("code_verifier does not match the code_challenge (PKCE S256)");
  }
  BULWARK_RETURN_IF_ERROR(CheckUserActive(grant->user));
  std::string refresh = RandomSecret();
  RefreshTokenRecord record{Hash(refresh),
                            grant->family,
                            client.id,
                            grant->user,
                            grant->scope,
                            grant->auth_time,
                            grant->amr,
                            now,
                            now + options_.refresh_token_ttl,
                            std::nullopt,
                            "",
                            now};
  BULWARK_ASSIGN_OR_RETURN(json response, IssueTokens(record, grant->nonce, refresh));
  if (absl::Status s = authority_.store().CreateRefreshToken(record); !s.ok()) {
    if (s.code() == absl::StatusCode::kFailedPrecondition) {
      return InvalidGrant(std::string(s.message()));  // the code was replayed meanwhile
    }
    return s;
  }
  spdlog::info("OIDC tokens (access {}) for user {} and client {}", record.access_jti, record.user,
               client.id);
  return response;
}

absl::StatusOr<json> OidcProvider::Refresh(const Form& form, const OidcClientRecord& client) {
  std::string token = Get(form, "refresh_token");
  if (token.empty()) {
    return InvalidRequest("refresh_token is required");
  }
  core::TimePoint now = authority_.clock().Now();
  absl::StatusOr<RefreshTokenRecord> old = authority_.store().FindRefreshToken(Hash(token));
  if (!old.ok()) {
    if (old.status().code() == absl::StatusCode::kNotFound) {
      return InvalidGrant("unknown refresh token");
    }
    return old.status();
  }
  if (old->client_id != client.id) {
    return InvalidGrant("the refresh token was issued to another client");
  }
  if (old->expires_at <= now) {
    return InvalidGrant("the refresh token has expired");
  }
  std::vector<std::string> scope = old->scope;
  if (std::string asked = Get(form, "scope"); !asked.empty()) {
    absl::StatusOr<std::vector<std::string>> parsed = tokens::ParseScope(asked);
    absl::StatusOr<std::vector<std::string>> narrowed =
        parsed.ok() ? tokens::NarrowScope(old->scope, *parsed) : parsed.status();
    if (!narrowed.ok()) {
      return OAuthError(absl::StatusCode::kInvalidArgument, "invalid_scope",
                        std::string(narrowed.status().message()));
    }
    scope = *std::move(narrowed);
  }
  BULWARK_RETURN_IF_ERROR(CheckUserActive(old->user));
  std::string refresh = RandomSecret();
  RefreshTokenRecord next{Hash(refresh), old->family, client.id,
                          old->user,     scope,       old->auth_time,
                          old->amr,      now,         now + options_.refresh_token_ttl,
                          std::nullopt,  "",          now};
  // No nonce on a refreshed ID token (OIDC Core §12.2).
  BULWARK_ASSIGN_OR_RETURN(json response, IssueTokens(next, "", refresh));
  AuditEntry audit{0,           now,
                   client.id,   "oidc.family-revoke",
                   old->family, "refresh token reused after its grace window"};
  BULWARK_ASSIGN_OR_RETURN(
      RefreshRotation rotation,
      authority_.store().RotateRefreshToken(Hash(token), now, options_.refresh_grace, next, audit));
  if (rotation == RefreshRotation::kReused) {
    spdlog::warn("client {}: a rotated refresh token was reused; its family is revoked", client.id);
    return InvalidGrant(
        "the refresh token was rotated already and is reused: every token of its grant is "
        "revoked");
  }
  if (rotation == RefreshRotation::kFamilyRevoked) {
    return InvalidGrant("the refresh token's grant was revoked");
  }
  spdlog::info("OIDC tokens refreshed (access {}) for user {} and client {}", next.access_jti,
               next.user, client.id);
  return response;
}

absl::StatusOr<json> OidcProvider::IssueTokens(RefreshTokenRecord& record, const std::string& nonce,
                                               const std::string& refresh_token) {
  long long now = core::ToUnixSeconds(record.created_at);
  long long access_exp = now + options_.access_token_ttl.count();
  std::string jti = crypto::Base64UrlEncode(crypto::RandomBytes(16));
  // RFC 9068; aud is the trust domain's ID, which a gateway's `issuer: self` accepts.
  json access = {{"iss", options_.issuer},
                 {"sub", record.user},
                 {"aud", TrustDomainId()},
                 {"client_id", record.client_id},
                 {"scope", tokens::JoinScope(record.scope)},
                 {"jti", jti},
                 {"iat", now},
                 {"exp", access_exp}};
  BULWARK_ASSIGN_OR_RETURN(std::string access_token, keys_.Sign(tokens::kAccessTokenType, access));
  json id = {{"iss", options_.issuer},
             {"sub", record.user},
             {"aud", record.client_id},
             {"azp", record.client_id},
             {"iat", now},
             {"exp", now + options_.id_token_ttl.count()},
             {"auth_time", core::ToUnixSeconds(record.auth_time)},
             {"amr", record.amr}};
  if (!nonce.empty()) {
    id["nonce"] = nonce;
  }
  BULWARK_ASSIGN_OR_RETURN(std::string id_token, keys_.Sign("JWT", id));
  record.access_jti = jti;
  record.access_expires_at = core::FromUnixSeconds(access_exp);
  return json{{"access_token", access_token},
              {"token_type", "Bearer"},
              {"expires_in", options_.access_token_ttl.count()},
              {"id_token", id_token},
              {"refresh_token", refresh_token},
              {"scope", access["scope"]}};
}

absl::StatusOr<json> OidcProvider::UserInfo(const json& claims) {
  std::string client_id = claims.value("client_id", "");
  std::string sub = claims.value("sub", "");
  absl::StatusOr<OidcClientRecord> client = authority_.store().FindOidcClient(client_id);
  if (!client.ok()) {
    return absl::UnauthenticatedError("not an access token of an OpenID Connect client");
  }
  absl::StatusOr<std::vector<std::string>> scope = tokens::ScopeClaim(claims);
  if (!scope.ok() || !Contains(*scope, "openid")) {
    return absl::PermissionDeniedError("the access token lacks the openid scope");
  }
  absl::StatusOr<UserRecord> user = authority_.store().FindUser(sub);
  if (!user.ok() || user->disabled || user->deleted_at) {
    return absl::UnauthenticatedError("the token's user is unknown, disabled or deleted");
  }
  json out = {{"sub", user->name}};
  if (Contains(*scope, "email") && !user->email.empty()) {
    out["email"] = user->email;
  }
  if (Contains(*scope, "profile")) {
    out["preferred_username"] = user->name;
  }
  return out;
}

LogoutOutcome OidcProvider::Logout(const Form& params,
                                   const std::optional<LoginSessionRecord>& session) {
  auto fail = [](std::string message) { return LogoutOutcome{false, "", false, message}; };
  std::string hint = Get(params, "id_token_hint");
  if (hint.empty()) {
    // Without proof of which client asks, a cross-site link could sign anyone out, and a
    // post-logout redirect could be an open redirect.
    return fail("The logout request has no id_token_hint.");
  }
  absl::StatusOr<json> peeked = tokens::PeekJwtClaims(hint);
  if (!peeked.ok() || !(*peeked)["aud"].is_string() || !(*peeked)["iat"].is_number()) {
    return fail("The id_token_hint is not an ID token of this provider.");
  }
  std::string client_id = (*peeked)["aud"].get<std::string>();
  crypto::JwtExpectations expect;
  expect.issuer = options_.issuer;
  expect.audience = client_id;
  expect.typ = "JWT";
  // The hint may have expired (OIDC RP-Initiated Logout §2): verify it as of its own iat, never
  // later than now; the signature, issuer and audience still decide.
  core::TimePoint at =
      std::min(authority_.clock().Now(),
               core::FromUnixSeconds(static_cast<long long>((*peeked)["iat"].get<double>())));
  absl::StatusOr<crypto::VerifiedJwt> jwt = crypto::VerifyJwt(hint, *keys_.Published(), expect, at);
  if (!jwt.ok() || !jwt->claims.contains("azp")) {
    return fail("The id_token_hint is not an ID token of this provider.");
  }
  if (std::string asked = Get(params, "client_id"); !asked.empty() && asked != client_id) {
    return fail("client_id does not match the id_token_hint.");
  }
  absl::StatusOr<OidcClientRecord> client = authority_.store().FindOidcClient(client_id);
  if (!client.ok()) {
    return fail("The id_token_hint names an unknown client.");
  }
  std::string post = Get(params, "post_logout_redirect_uri");
  if (!post.empty() && !Contains(client->post_logout_redirect_uris, post)) {
    return fail(fmt::format("The post_logout_redirect_uri {} is not registered for client {}.",
                            QuoteForMessage(post), QuoteForMessage(client_id)));
  }
  LogoutOutcome out{true, "", false, ""};
  std::string user = jwt->claims.value("sub", "");
  if (session && session->user == user) {
    core::TimePoint now = authority_.clock().Now();
    AuditEntry audit{0, now, client_id, "logout", user, "RP-initiated logout"};
    if (absl::Status s =
            authority_.store().EndLoginSessions(session->hash, "", now, audit).status();
        !s.ok()) {
      spdlog::error("ending a login session failed: {}", s.ToString());
      return fail("The session could not be ended; see the authority's log.");
    }
    out.clear_cookie = true;
  }
  if (!post.empty()) {
    std::string state = Get(params, "state");
    out.location = state.empty() ? post : AppendQuery(post, {{"state", state}});
  }
  return out;
}

}  // namespace bulwark::authority::oauth
