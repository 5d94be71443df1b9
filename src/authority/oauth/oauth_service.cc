#include "authority/oauth/oauth_service.h"

#include <arpa/inet.h>

#include <algorithm>

#include "absl/strings/cord.h"
#include "core/ascii.h"
#include "core/status.h"
#include "core/strict_json.h"
#include "crypto/bytes.h"
#include "crypto/digest.h"
#include "crypto/jwt.h"
#include "crypto/random.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"
#include "tokens/scope.h"
#include "tokens/txn_token.h"

namespace bulwark::authority::oauth {
namespace {

using crypto::internal::QuoteForMessage;
using nlohmann::json;

constexpr char kErrorPayload[] = "bulwark/oauth-error";
using tokens::kAccessTokenType;

std::optional<std::string> Get(const Form& form, const char* name) {
  auto it = form.find(name);
  return it == form.end() ? std::nullopt : std::optional<std::string>(it->second);
}

// Returns the string claim `name`, or "" when it is absent or not a string.
std::string StringClaim(const json& claims, const char* name) {
  auto it = claims.find(name);
  return it != claims.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string RandomId() { return crypto::Base64UrlEncode(crypto::RandomBytes(16)); }

// Parses the request_context parameter: a JSON object whose only member is req_ip, an IP literal.
absl::StatusOr<std::optional<std::string>> ParseRequestContext(const Form& form) {
  std::optional<std::string> text = Get(form, "request_context");
  if (!text) {
    return std::optional<std::string>();
  }
  absl::StatusOr<json> doc = core::ParseStrictJson(*text, 2);
  if (!doc.ok() || !doc->is_object()) {
    return InvalidRequest(
        "request_context must be a JSON object such as {\"req_ip\":\"192.0.2.1\"}");
  }
  for (const auto& item : doc->items()) {
    if (item.key() != "req_ip") {
      return InvalidRequest(fmt::format("request_context member {} is not supported (only req_ip)",
                                        QuoteForMessage(item.key())));
    }
  }
  auto ip = doc->find("req_ip");
  if (ip == doc->end()) {
    return std::optional<std::string>();
  }
  unsigned char buffer[16];
  if (!ip->is_string() || (inet_pton(AF_INET, ip->get<std::string>().c_str(), buffer) != 1 &&
                           inet_pton(AF_INET6, ip->get<std::string>().c_str(), buffer) != 1)) {
    return InvalidRequest("request_context.req_ip must be an IPv4 or IPv6 address");
  }
  return std::optional<std::string>(ip->get<std::string>());
}

// Least privilege for client_credentials: every requested scope must be listed for the client
// (mesh.yaml services.<name>.scopes). Refused, not silently narrowed: a client that asked for a
// scope and got a token without it would fail later, further from the misconfiguration.
absl::Status CheckWorkloadScope(const OAuthOptions& options, const identity::SpiffeId& client,
                                const std::vector<std::string>& requested) {
  auto it = options.workload_scopes.find(client.str());
  const std::vector<std::string> none;
  const std::vector<std::string>& allowed = it == options.workload_scopes.end() ? none : it->second;
  for (const std::string& scope : requested) {
    if (std::find(allowed.begin(), allowed.end(), scope) == allowed.end()) {
      return OAuthError(absl::StatusCode::kInvalidArgument, "invalid_scope",
                        fmt::format("scope {} may not be granted to {}: mesh.yaml lists the scopes "
                                    "of each service (services.<name>.scopes)",
                                    QuoteForMessage(scope), client.str()));
    }
  }
  return absl::OkStatus();
}

// A subject token must stand for a user. A workload's access token (client_credentials: a
// SPIFFE ID as `sub`, equal to its `client_id`, bound by `cnf`) would let the gateway mint
// transaction tokens in a workload's name; a sender-constrained token (`cnf`) would lose its
// binding in the exchange. invalid_grant.
absl::Status CheckSubjectIsAUser(const json& claims) {
  std::string sub = StringClaim(claims, "sub");
  if (core::AsciiEqualsIgnoreCase(std::string_view(sub).substr(0, 9), "spiffe://")) {
    return InvalidGrant(fmt::format(
        "subject_token names a workload ({}), not a user: workload tokens are not exchanged",
        QuoteForMessage(sub)));
  }
  if (claims.contains("cnf")) {
    return InvalidGrant(
        "subject_token is bound to a key or certificate (cnf): sender-constrained tokens are not "
        "exchanged");
  }
  if (StringClaim(claims, "client_id") == sub) {
    return InvalidGrant(
        "subject_token was issued to a client for itself (client_id == sub), not to a user");
  }
  return absl::OkStatus();
}

// Returns whether `caller` may introspect a token with `claims` (RFC 7662 §2.1 leaves it to the
// server): an admin, the token's client (client_id or sub), the workload that requested it
// (req_wl), or a workload it is meant for (named in aud, or in the trust domain named there).
bool MayIntrospect(const identity::SpiffeId& caller, const json& claims) {
  if (caller.IsAdmin() || StringClaim(claims, "client_id") == caller.str() ||
      StringClaim(claims, "sub") == caller.str() || StringClaim(claims, "req_wl") == caller.str()) {
    return true;
  }
  std::string domain = identity::TrustDomainId(caller.trust_domain());
  for (const std::string& aud : tokens::JwtAudiences(claims)) {
    if (aud == caller.str() || aud == domain) {
      return true;
    }
  }
  return false;
}

absl::StatusOr<std::vector<std::string>> RequestedScope(const Form& form) {
  std::optional<std::string> text = Get(form, "scope");
  if (!text) {
    return std::vector<std::string>();
  }
  absl::StatusOr<std::vector<std::string>> scope = tokens::ParseScope(*text);
  if (!scope.ok()) {
    return OAuthError(absl::StatusCode::kInvalidArgument, "invalid_scope",
                      std::string(scope.status().message()));
  }
  return scope;
}

}  // namespace

std::map<std::string, std::vector<std::string>, std::less<>> WorkloadScopes(
    const mesh::MeshConfig& mesh) {
  std::map<std::string, std::vector<std::string>, std::less<>> scopes;
  for (const mesh::ServiceConfig& service : mesh.services) {
    if (!service.scopes.empty()) {
      scopes[identity::ServiceId(mesh.trust_domain, service.name)] = service.scopes;
    }
  }
  return scopes;
}

absl::Status InvalidRequest(std::string message) {
  return OAuthError(absl::StatusCode::kInvalidArgument, "invalid_request", std::move(message));
}
absl::Status InvalidGrant(std::string message) {
  return OAuthError(absl::StatusCode::kInvalidArgument, "invalid_grant", std::move(message));
}
absl::Status InvalidClient(std::string message) {
  return OAuthError(absl::StatusCode::kUnauthenticated, "invalid_client", std::move(message));
}

absl::Status OAuthError(absl::StatusCode code, std::string_view error, std::string message) {
  absl::Status status(code, message);
  status.SetPayload(kErrorPayload, absl::Cord(std::string(error)));
  return status;
}

std::string OAuthErrorCode(const absl::Status& status) {
  if (auto payload = status.GetPayload(kErrorPayload)) {
    return std::string(*payload);
  }
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return "invalid_request";
    case absl::StatusCode::kUnauthenticated:
      return "invalid_client";
    default:
      return "server_error";
  }
}

absl::StatusOr<std::shared_ptr<const proxy::IssuerKeySources>> LoadSubjectIssuers(
    const std::vector<mesh::IssuerConfig>& issuers, std::string_view trust_domain,
    const std::string& base_dir) {
  BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<proxy::IssuerKeySources> sources,
                           proxy::IssuerKeySources::Start(issuers, trust_domain, base_dir, {}));
  return std::shared_ptr<const proxy::IssuerKeySources>(std::move(sources));
}

OAuthService::OAuthService(AuthorityService& authority, TokenKeys& keys, OAuthOptions options)
    : authority_(authority),
      keys_(keys),
      options_(std::move(options)),
      subject_issuers_(options_.subject_issuers),
      oidc_(authority, keys,
            OidcOptions{.issuer = options_.issuer, .access_token_ttl = options_.access_token_ttl}) {
  for (tokens::TrustedIssuer& issuer : subject_issuers_) {
    if (issuer.self) {
      // Our own access tokens: the keys published now, under this issuer identifier.
      issuer.keys.current = [this] {
        return std::make_shared<const tokens::IssuerKeys>(
            tokens::IssuerKeys{options_.issuer, *keys_.Published()});
      };
      issuer.keys.unknown_kid = nullptr;
    }
  }
}

std::string OAuthService::TrustDomainId() const {
  return identity::TrustDomainId(authority_.ca().trust_domain());
}

json OAuthService::Metadata(bool openid) const {
  const std::string& iss = options_.issuer;
  json doc = {
      {"issuer", iss},
      {"authorization_endpoint", iss + "/oauth2/authorize"},
      {"token_endpoint", iss + "/oauth2/token"},
      {"jwks_uri", iss + "/oauth2/jwks"},
      {"introspection_endpoint", iss + "/oauth2/introspect"},
      {"revocation_endpoint", iss + "/oauth2/revoke"},
      {"grant_types_supported",
       {kGrantAuthorizationCode, kGrantRefreshToken, kGrantClientCredentials, kGrantTokenExchange}},
      // Workloads authenticate with their SVID, OpenID Connect clients with their secret or,
      // public ones, with PKCE alone.
      {"token_endpoint_auth_methods_supported",
       {"tls_client_auth", "client_secret_basic", "client_secret_post", "none"}},
      {"introspection_endpoint_auth_methods_supported", {"tls_client_auth"}},
      {"revocation_endpoint_auth_methods_supported", {"tls_client_auth"}},
      {"tls_client_certificate_bound_access_tokens", true},
      {"response_types_supported", {"code"}},
      {"response_modes_supported", {"query"}},
      {"code_challenge_methods_supported", {"S256"}},
      {"authorization_response_iss_parameter_supported", true},
      {"scopes_supported", {"openid", "profile", "email"}},
  };
  if (openid) {
    doc["userinfo_endpoint"] = iss + "/oauth2/userinfo";
    doc["end_session_endpoint"] = iss + "/oauth2/logout";
    doc["subject_types_supported"] = {"public"};
    doc["id_token_signing_alg_values_supported"] = {"ES256"};
    doc["prompt_values_supported"] = {"none", "login"};
    doc["claims_supported"] = {"iss",       "sub",   "aud",       "exp",   "iat",
                               "jti",       "nonce", "auth_time", "amr",   "azp",
                               "client_id", "scope", "cnf",       "email", "preferred_username",
                               "sid"};
  }
  return doc;
}

absl::StatusOr<identity::SpiffeId> OAuthService::AuthenticateClient(
    const Form& form, const std::optional<crypto::Certificate>& peer) {
  if (!peer) {
    return InvalidClient(
        "clients authenticate with their SVID as TLS client certificate (tls_client_auth, RFC "
        "8705); none was presented");
  }
  absl::StatusOr<identity::SpiffeId> client = authority_.AuthenticatePeer(*peer);
  if (!client.ok()) {
    return InvalidClient(std::string(client.status().message()));
  }
  if (std::optional<std::string> id = Get(form, "client_id"); id && *id != client->str()) {
    return InvalidClient(fmt::format("client_id {} is not the SPIFFE ID of the client certificate",
                                     QuoteForMessage(*id)));
  }
  return client;
}

absl::StatusOr<json> OAuthService::Token(const Form& form,
                                         const std::optional<crypto::Certificate>& peer) {
  BULWARK_ASSIGN_OR_RETURN(identity::SpiffeId client, AuthenticateClient(form, peer));
  std::string grant = Get(form, "grant_type").value_or("");
  if (grant == kGrantClientCredentials) {
    return ClientCredentials(form, client, *peer);
  }
  if (grant == kGrantTokenExchange) {
    return TokenExchange(form, client);
  }
  return OAuthError(absl::StatusCode::kInvalidArgument, "unsupported_grant_type",
                    fmt::format("grant_type {} is not supported (authorization_code, "
                                "refresh_token, client_credentials or {})",
                                QuoteForMessage(grant), kGrantTokenExchange));
}

absl::StatusOr<json> OAuthService::ClientCredentials(const Form& form,
                                                     const identity::SpiffeId& client,
                                                     const crypto::Certificate& cert) {
  std::optional<std::string> audience = Get(form, "audience");
  std::optional<std::string> resource = Get(form, "resource");
  if (audience && resource) {
    return OAuthError(absl::StatusCode::kInvalidArgument, "invalid_target",
                      "give audience or resource, not both");
  }
  BULWARK_ASSIGN_OR_RETURN(std::vector<std::string> scope, RequestedScope(form));
  BULWARK_RETURN_IF_ERROR(CheckWorkloadScope(options_, client, scope));
  long long now = core::ToUnixSeconds(authority_.clock().Now());
  long long exp = now + options_.access_token_ttl.count();
  json claims = {{"iss", options_.issuer},
                 {"sub", client.str()},
                 {"client_id", client.str()},
                 {"aud", audience.value_or(resource.value_or(TrustDomainId()))},
                 {"iat", now},
                 {"exp", exp},
                 {"jti", RandomId()},
                 {"cnf", {{"x5t#S256", crypto::Base64UrlEncode(crypto::Sha256(cert.ToDer()))}}}};
  if (!scope.empty()) {
    claims["scope"] = tokens::JoinScope(scope);
  }
  BULWARK_ASSIGN_OR_RETURN(std::string token, keys_.Sign(kAccessTokenType, claims));
  spdlog::info("access token {} for {} (aud {})", claims["jti"].get<std::string>(), client.str(),
               claims["aud"].get<std::string>());
  json response = {{"access_token", token},
                   {"token_type", "Bearer"},
                   {"expires_in", options_.access_token_ttl.count()}};
  if (!scope.empty()) {
    response["scope"] = claims["scope"];
  }
  return response;
}

absl::StatusOr<json> OAuthService::TokenExchange(const Form& form,
                                                 const identity::SpiffeId& client) {
  if (client.path() != kGatewayPath) {
    return OAuthError(absl::StatusCode::kPermissionDenied, "unauthorized_client",
                      fmt::format("only the gateway ({}{}) may exchange tokens, not {}",
                                  TrustDomainId(), kGatewayPath, client.str()));
  }
  if (Get(form, "requested_token_type") != tokens::kTxnTokenTypeUri) {
    return InvalidRequest(
        fmt::format("requested_token_type must be {}: transaction tokens are "
                    "the only tokens this exchange issues",
                    tokens::kTxnTokenTypeUri));
  }
  std::optional<std::string> subject = Get(form, "subject_token");
  std::optional<std::string> subject_type = Get(form, "subject_token_type");
  if (!subject || (subject_type != kTokenTypeAccessToken && subject_type != kTokenTypeJwt)) {
    return InvalidRequest(fmt::format("subject_token is required, with subject_token_type {} or {}",
                                      kTokenTypeAccessToken, kTokenTypeJwt));
  }
  if (Get(form, "actor_token")) {
    return InvalidRequest("actor_token (delegation) is not supported");
  }
  if (Get(form, "resource") ||
      (Get(form, "audience") && Get(form, "audience") != TrustDomainId())) {
    return OAuthError(
        absl::StatusCode::kInvalidArgument, "invalid_target",
        fmt::format("a transaction token's audience is the trust domain, {}", TrustDomainId()));
  }
  BULWARK_ASSIGN_OR_RETURN(std::optional<std::string> req_ip, ParseRequestContext(form));
  BULWARK_ASSIGN_OR_RETURN(std::vector<std::string> requested, RequestedScope(form));
  BULWARK_ASSIGN_OR_RETURN(tokens::VerifiedUserToken user, VerifySubjectToken(*subject));
  BULWARK_RETURN_IF_ERROR(CheckSubjectIsAUser(user.claims));
  const std::vector<std::string>& granted = user.subject.scope;
  tokens::TxnTokenClaims txn;
  if (!requested.empty()) {
    absl::StatusOr<std::vector<std::string>> narrowed = tokens::NarrowScope(granted, requested);
    if (!narrowed.ok()) {
      return OAuthError(absl::StatusCode::kInvalidArgument, "invalid_scope",
                        std::string(narrowed.status().message()));
    }
    txn.scope = *std::move(narrowed);
  } else {
    txn.scope = granted;
  }
  core::TimePoint now = authority_.clock().Now();
  core::Seconds ttl = std::min(options_.txn_token_ttl, tokens::kMaxTxnTokenLifetime);
  // Never outlive the user's token.
  core::TimePoint user_expires = user.expires_at;
  if (user_expires <= now) {
    return OAuthError(absl::StatusCode::kInvalidArgument, "invalid_grant",
                      "the subject token has expired");
  }
  ttl = std::min(ttl, std::chrono::duration_cast<core::Seconds>(user_expires - now));
  txn.issuer = options_.issuer;
  txn.audience = TrustDomainId();
  txn.txn = RandomId();
  // Qualified for external issuers ("<name>:<sub>"), with the issuer's name in sub_iss.
  txn.subject = user.subject.subject;
  txn.subject_issuer = user.subject.issuer;
  txn.requesting_workload = client.str();
  txn.request_ip = req_ip;
  txn.issued_at = now;
  txn.expires_at = now + ttl;
  BULWARK_ASSIGN_OR_RETURN(std::string token, keys_.SignTxn(txn));
  json response = {{"access_token", token},
                   {"issued_token_type", tokens::kTxnTokenTypeUri},
                   {"token_type", "N_A"},
                   {"expires_in", ttl.count()}};
  if (!txn.scope.empty()) {
    response["scope"] = tokens::JoinScope(txn.scope);
  }
  return response;
}

absl::StatusOr<tokens::VerifiedUserToken> OAuthService::VerifySubjectToken(std::string_view token) {
  absl::StatusOr<tokens::VerifiedUserToken> user =
      tokens::VerifyUserToken(token, subject_issuers_, authority_.clock().Now());
  if (!user.ok()) {
    return InvalidGrant(fmt::format("subject_token: {}", user.status().message()));
  }
  if (std::string jti = StringClaim(user->claims, "jti"); user->self && !jti.empty()) {
    BULWARK_ASSIGN_OR_RETURN(bool revoked, authority_.store().IsTokenRevoked(jti));
    if (revoked) {
      return InvalidGrant("subject_token has been revoked");
    }
  }
  return user;
}

absl::StatusOr<crypto::VerifiedJwt> OAuthService::VerifyOwnToken(std::string_view token) {
  BULWARK_ASSIGN_OR_RETURN(json peeked, tokens::PeekJwtClaims(token));
  // Every audience this authority signs for is its own: the signature decides, not the audience.
  std::vector<std::string> audiences = tokens::JwtAudiences(peeked);
  crypto::JwtExpectations expect;
  expect.issuer = options_.issuer;
  expect.audience = audiences.empty() ? TrustDomainId() : audiences.front();
  BULWARK_ASSIGN_OR_RETURN(
      crypto::VerifiedJwt jwt,
      crypto::VerifyJwt(token, *keys_.Published(), expect, authority_.clock().Now()));
  std::string type = StringClaim(jwt.header, "typ");
  if (!crypto::JoseTypeEquals(type, kAccessTokenType) &&
      !crypto::JoseTypeEquals(type, tokens::kTxnTokenType)) {
    return absl::UnauthenticatedError("not an access or transaction token");
  }
  if (std::string jti = StringClaim(jwt.claims, "jti"); !jti.empty()) {
    BULWARK_ASSIGN_OR_RETURN(bool revoked, authority_.store().IsTokenRevoked(jti));
    if (revoked) {
      return absl::UnauthenticatedError("revoked");
    }
  }
  return jwt;
}

absl::StatusOr<json> OAuthService::Introspect(const Form& form,
                                              const std::optional<crypto::Certificate>& peer) {
  BULWARK_ASSIGN_OR_RETURN(identity::SpiffeId caller, AuthenticateClient(form, peer));
  absl::StatusOr<crypto::VerifiedJwt> jwt = VerifyOwnToken(Get(form, "token").value_or(""));
  if (!jwt.ok() || !MayIntrospect(caller, jwt->claims)) {
    return json{{"active", false}};
  }
  json out = jwt->claims;
  out["active"] = true;
  if (crypto::JoseTypeEquals(StringClaim(jwt->header, "typ"), kAccessTokenType)) {
    out["token_type"] = "Bearer";
  }
  return out;
}

absl::Status OAuthService::Revoke(const Form& form,
                                  const std::optional<crypto::Certificate>& peer) {
  BULWARK_ASSIGN_OR_RETURN(identity::SpiffeId caller, AuthenticateClient(form, peer));
  absl::StatusOr<crypto::VerifiedJwt> jwt = VerifyOwnToken(Get(form, "token").value_or(""));
  if (!jwt.ok()) {
    return absl::OkStatus();  // RFC 7009 §2.2: invalid tokens do not cause an error
  }
  if (!crypto::JoseTypeEquals(StringClaim(jwt->header, "typ"), kAccessTokenType)) {
    return OAuthError(absl::StatusCode::kInvalidArgument, "unsupported_token_type",
                      "transaction tokens live at most 60 s and are not revocable");
  }
  std::string owner = StringClaim(jwt->claims, "client_id");
  if (owner != caller.str() && !caller.IsAdmin()) {
    return OAuthError(absl::StatusCode::kPermissionDenied, "unauthorized_client",
                      "only the client the token was issued to, or an admin, may revoke it");
  }
  std::string jti = StringClaim(jwt->claims, "jti");
  core::TimePoint now = authority_.clock().Now();
  RevokedTokenRecord record{
      jti, owner, now,
      core::FromUnixSeconds(static_cast<long long>(jwt->claims["exp"].get<double>()))};
  AuditEntry audit{
      0, now, caller.str(), "token.revoke", jti, fmt::format("access token of {}", owner)};
  return authority_.store().RevokeToken(record, audit).status();
}

}  // namespace bulwark::authority::oauth
