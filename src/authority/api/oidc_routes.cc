// The OpenID Connect part of the Router (docs/api.md#openid-connect-endpoints): the
// authorization endpoint, userinfo and RP-initiated logout for browsers and relying parties,
// and the admin's client registry (/v1/admin/clients). The token endpoint's authorization_code
// and refresh_token grants are dispatched from oauth_routes.cc.
#include "absl/strings/str_split.h"
#include "authority/api/form_body.h"
#include "authority/api/internal/responses.h"
#include "authority/api/json_body.h"
#include "authority/api/router.h"
#include "authority/oauth/oidc_rules.h"
#include "authority/sso/login_session.h"
#include "authority/sso/page.h"
#include "core/ascii.h"
#include "core/status.h"
#include "core/units.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"
#include "tokens/scope.h"
#include "tokens/user_token.h"

namespace bulwark::authority::api {
namespace {

using internal::ErrorResponse;
using internal::JsonResponse;
using internal::MethodNotAllowed;
using nlohmann::json;

constexpr std::string_view kClientsPath = "/v1/admin/clients";

const std::vector<FieldSpec> kAuthorizeParams = {
    {"response_type", false, 64},   {"client_id", false, 256},
    {"redirect_uri", false, 2048},  {"scope", false, 1024},
    {"state", false, 2048},         {"nonce", false, 512},
    {"code_challenge", false, 128}, {"code_challenge_method", false, 16},
    {"prompt", false, 64},          {"max_age", false, 16},
    {"response_mode", false, 32},   {"request", false, 16 * 1024},
    {"request_uri", false, 2048}};
const std::vector<FieldSpec> kLogoutParams = {{"id_token_hint", false, 16 * 1024},
                                              {"post_logout_redirect_uri", false, 2048},
                                              {"state", false, 2048},
                                              {"client_id", false, 256}};

// An error or status page in the login pages' template (no external assets, no script).
http::Response MessagePage(int status, std::string_view title, std::string_view message) {
  return HtmlResponse(status, authority::Page{std::string(title), std::string(message), ""});
}

// Returns the parameters of a GET (its query) or a POST (its form body).
absl::StatusOr<oauth::Form> RequestParams(const http::Request& request,
                                          const std::vector<FieldSpec>& fields) {
  if (request.method == "POST") {
    std::string_view type = request.headers.Get("Content-Type").value_or("");
    if (!core::AsciiEqualsIgnoreCase(core::TrimOws(type.substr(0, type.find(';'))),
                                     "application/x-www-form-urlencoded")) {
      return absl::InvalidArgumentError("the body must be application/x-www-form-urlencoded");
    }
    return ParseFormFields(request.body, fields);
  }
  std::string_view target = request.target;
  std::size_t query = target.find('?');
  return ParseFormFields(query == std::string_view::npos ? "" : target.substr(query + 1), fields);
}

// Returns the browser's login session, nullopt when it has none; an error when the store fails.
absl::StatusOr<std::optional<LoginSessionRecord>> BrowserSession(Store& store,
                                                                 const http::Request& request,
                                                                 core::TimePoint now) {
  absl::StatusOr<LoginSessionRecord> session = FindActiveLoginSession(store, request.headers, now);
  if (session.ok()) {
    return std::optional<LoginSessionRecord>(*std::move(session));
  }
  if (session.status().code() == absl::StatusCode::kNotFound) {
    return std::optional<LoginSessionRecord>();
  }
  return session.status();
}

http::Response BearerError(int status, std::string_view error, std::string_view description) {
  http::Response response =
      JsonResponse(status, {{"error", error}, {"error_description", description}});
  response.headers.Add("WWW-Authenticate", fmt::format("Bearer error=\"{}\"", error));
  return response;
}

json ClientJson(const OidcClientRecord& c) {
  return {{"client_id", c.id},
          {"public", c.is_public},
          {"redirect_uris", c.redirect_uris},
          {"post_logout_redirect_uris", c.post_logout_redirect_uris},
          {"scopes", c.scopes},
          {"created_at", core::ToUnixSeconds(c.created_at)}};
}

std::vector<std::string> SplitSpaces(const std::string& text) {
  return absl::StrSplit(text, ' ', absl::SkipEmpty());
}

}  // namespace

std::optional<http::Response> Router::Oidc(const http::Request& request) {
  std::string_view path = request.Path();
  if (path == oauth::kAuthorizePath) {
    return OidcAuthorize(request);
  }
  if (path == "/oauth2/userinfo") {
    return OidcUserInfo(request);
  }
  if (path == "/oauth2/logout") {
    return OidcLogout(request);
  }
  return std::nullopt;
}

http::Response Router::OidcAuthorize(const http::Request& request) {
  if (request.method != "GET" && request.method != "POST") {
    return MethodNotAllowed("GET, POST");
  }
  absl::StatusOr<oauth::Form> params = RequestParams(request, kAuthorizeParams);
  if (!params.ok()) {
    return MessagePage(400, "Invalid authorization request",
                       std::string(params.status().message()));
  }
  absl::StatusOr<std::optional<LoginSessionRecord>> session =
      BrowserSession(service_.store(), request, service_.clock().Now());
  if (!session.ok()) {
    spdlog::error("reading a login session failed: {}", session.status().ToString());
    return MessagePage(500, "Internal error", "The authority could not read its sessions.");
  }
  // The login page comes back to the same request, as a GET.
  std::string return_to = request.target;
  if (request.method == "POST") {
    return_to = oauth::AppendQuery(
        oauth::kAuthorizePath,
        std::vector<std::pair<std::string, std::string>>(params->begin(), params->end()));
  }
  oauth::AuthorizeOutcome outcome = oauth_.oidc().Authorize(*params, *session, return_to);
  if (outcome.kind == oauth::AuthorizeOutcome::Kind::kErrorPage) {
    return MessagePage(400, "Invalid authorization request", outcome.message);
  }
  return Found(outcome.location);
}

http::Response Router::OidcUserInfo(const http::Request& request) {
  if (request.method != "GET" && request.method != "POST") {
    return MethodNotAllowed("GET, POST");
  }
  std::string_view value = request.headers.Get("Authorization").value_or("");
  if (value.size() < 7 || !core::AsciiEqualsIgnoreCase(value.substr(0, 7), "bearer ")) {
    http::Response response = JsonResponse(401, {{"error", "invalid_token"}});
    response.headers.Add("WWW-Authenticate", "Bearer");
    return response;
  }
  absl::StatusOr<crypto::VerifiedJwt> jwt = oauth_.VerifyOwnToken(core::TrimOws(value.substr(7)));
  if (!jwt.ok() ||
      !crypto::JoseTypeEquals(jwt->header.value("typ", ""), tokens::kAccessTokenType)) {
    return BearerError(401, "invalid_token", "the access token is invalid, expired or revoked");
  }
  absl::StatusOr<json> info = oauth_.oidc().UserInfo(jwt->claims);
  if (!info.ok()) {
    bool scope = info.status().code() == absl::StatusCode::kPermissionDenied;
    return BearerError(scope ? 403 : 401, scope ? "insufficient_scope" : "invalid_token",
                       std::string(info.status().message()));
  }
  return JsonResponse(200, *info);
}

http::Response Router::OidcLogout(const http::Request& request) {
  if (request.method != "GET" && request.method != "POST") {
    return MethodNotAllowed("GET, POST");
  }
  absl::StatusOr<oauth::Form> params = RequestParams(request, kLogoutParams);
  if (!params.ok()) {
    return MessagePage(400, "Invalid logout request", std::string(params.status().message()));
  }
  absl::StatusOr<std::optional<LoginSessionRecord>> session =
      BrowserSession(service_.store(), request, service_.clock().Now());
  if (!session.ok()) {
    spdlog::error("reading a login session failed: {}", session.status().ToString());
    return MessagePage(500, "Internal error", "The authority could not read its sessions.");
  }
  oauth::LogoutOutcome outcome = oauth_.oidc().Logout(*params, *session);
  if (!outcome.ok) {
    return MessagePage(400, "Invalid logout request", outcome.message);
  }
  http::Response response = outcome.location.empty()
                                ? MessagePage(200, "Signed out", "You are signed out.")
                                : Found(outcome.location);
  if (outcome.clear_cookie) {
    response.headers.Add("Set-Cookie", LoginCookieHeader("", core::Seconds(0)));
  }
  return response;
}

http::Response Router::OidcClients(const http::Request& request, const std::string& admin) {
  std::string_view path = request.Path();
  if (path == kClientsPath) {
    if (request.method == "POST") {
      return AddOidcClient(request, admin);
    }
    if (request.method != "GET") {
      return MethodNotAllowed("GET, POST");
    }
    auto clients = service_.store().ListOidcClients();
    if (!clients.ok()) return ErrorResponse(clients.status());
    json list = json::array();
    for (const OidcClientRecord& c : *clients) {
      list.push_back(ClientJson(c));
    }
    return JsonResponse(200, {{"clients", list}});
  }
  if (request.method != "DELETE") {
    return MethodNotAllowed("DELETE");
  }
  std::string id(path.substr(kClientsPath.size() + 1));  // after "/v1/admin/clients/"
  if (absl::Status s = oauth::CheckClientId(id); !s.ok()) return ErrorResponse(s);
  if (absl::Status s = oauth_.oidc().RemoveClient(id, admin); !s.ok()) return ErrorResponse(s);
  spdlog::info("OpenID Connect client {} removed by {}", id, admin);
  return JsonResponse(200, {{"client_id", id}, {"removed", true}});
}

http::Response Router::AddOidcClient(const http::Request& request, const std::string& admin) {
  auto fields = ParseStringFields(request.body, {{"client_id", true, 64},
                                                 {"redirect_uris", true, 16 * 1024},
                                                 {"post_logout_redirect_uris", false, 16 * 1024},
                                                 {"public", false, 8},
                                                 {"scopes", false, 1024}});
  if (!fields.ok()) return ErrorResponse(fields.status());
  std::string is_public = (*fields)["public"];
  if (!is_public.empty() && is_public != "true" && is_public != "false") {
    return ErrorResponse(
        absl::InvalidArgumentError("field 'public' must be \"true\" or \"false\""));
  }
  oauth::NewOidcClient client{(*fields)["client_id"],
                              SplitSpaces((*fields)["redirect_uris"]),
                              SplitSpaces((*fields)["post_logout_redirect_uris"]),
                              is_public == "true",
                              {}};
  if (!(*fields)["scopes"].empty()) {
    absl::StatusOr<std::vector<std::string>> scopes = tokens::ParseScope((*fields)["scopes"]);
    if (!scopes.ok()) {
      return ErrorResponse(
          absl::InvalidArgumentError(fmt::format("field 'scopes': {}", scopes.status().message())));
    }
    client.scopes = *std::move(scopes);
  }
  absl::StatusOr<oauth::RegisteredOidcClient> added = oauth_.oidc().AddClient(client, admin);
  if (!added.ok()) return ErrorResponse(added.status());
  spdlog::info("OpenID Connect client {} added by {}", client.id, admin);
  json answer = ClientJson(added->record);
  if (!added->secret.empty()) {
    answer["client_secret"] = added->secret;
  }
  return JsonResponse(201, answer);
}

}  // namespace bulwark::authority::api
