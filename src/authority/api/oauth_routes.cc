// The OAuth 2.0 part of the Router: metadata, JWKS, token, introspection and revocation
// endpoints (docs/api.md#oauth-20-endpoints). Bodies are application/x-www-form-urlencoded and
// parsed strictly; errors are RFC 6749 §5.2 JSON objects.
#include "authority/api/form_body.h"
#include "authority/api/internal/responses.h"
#include "authority/api/router.h"
#include "authority/oauth/oauth_service.h"
#include "core/ascii.h"
#include "core/units.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace bulwark::authority::api {
namespace {

using internal::JsonResponse;
using internal::MethodNotAllowed;
using nlohmann::json;

// Parameter limits: a subject token up to the JOSE layer's 16 KiB, everything else short.
const std::vector<FieldSpec> kTokenParams = {{"grant_type", true, 128},
                                             {"client_id", false, 2048},
                                             {"scope", false, 1024},
                                             {"audience", false, 2048},
                                             {"resource", false, 2048},
                                             {"subject_token", false, 16 * 1024},
                                             {"subject_token_type", false, 128},
                                             {"requested_token_type", false, 128},
                                             {"actor_token", false, 16 * 1024},
                                             {"request_context", false, 1024},
                                             // OpenID Connect clients' grants
                                             {"code", false, 256},
                                             {"redirect_uri", false, 2048},
                                             {"code_verifier", false, 256},
                                             {"refresh_token", false, 256},
                                             {"client_secret", false, 256}};
const std::vector<FieldSpec> kTokenOnlyParams = {
    {"token", true, 16 * 1024}, {"token_type_hint", false, 64}, {"client_id", false, 2048}};

// Returns the RFC 6749 §5.2 error response for `status`: 401 for invalid_client, 500 (without
// details) for anything unexpected, 400 otherwise.
http::Response OAuthErrorResponse(const absl::Status& status) {
  std::string error = oauth::OAuthErrorCode(status);
  std::string description(status.message());
  int code = error == "invalid_client" ? 401 : error == "server_error" ? 500 : 400;
  if (code == 500) {
    spdlog::error("internal error: {}", status.ToString());
    description = "internal error; see the authority's log";
  }
  http::Response response =
      JsonResponse(code, {{"error", error}, {"error_description", description}});
  response.headers.Add("Pragma", "no-cache");
  return response;
}

absl::StatusOr<oauth::Form> ParseForm(const http::Request& request,
                                      const std::vector<FieldSpec>& fields) {
  std::string_view type = request.headers.Get("Content-Type").value_or("");
  if (!core::AsciiEqualsIgnoreCase(core::TrimOws(type.substr(0, type.find(';'))),
                                   "application/x-www-form-urlencoded")) {
    return absl::InvalidArgumentError(
        "the body must be application/x-www-form-urlencoded (RFC 6749 §3.2)");
  }
  return ParseFormFields(request.body, fields);
}

http::Response OAuthJson(const json& body) {
  http::Response response = JsonResponse(200, body);
  response.headers.Add("Pragma", "no-cache");
  return response;
}

// A public, cacheable document (the metadata and the JWKS), cached for `max_age`.
http::Response Published(std::string body, std::string_view content_type, core::Seconds max_age) {
  http::Response response;
  response.headers.Add("Content-Type", std::string(content_type));
  response.headers.Add("Cache-Control", fmt::format("public, max-age={}", max_age.count()));
  response.body = std::move(body);
  return response;
}

// Returns the path of an issuer URL ("https://host:port/path" -> "/path"; "" without one).
std::string_view IssuerPath(std::string_view issuer) {
  std::size_t scheme = issuer.find("://");
  std::size_t slash =
      scheme == std::string_view::npos ? std::string_view::npos : issuer.find('/', scheme + 3);
  return slash == std::string_view::npos ? std::string_view() : issuer.substr(slash);
}

}  // namespace

std::optional<http::Response> Router::OAuth(const http::Request& request,
                                            const http::ConnectionInfo& conn) {
  std::string_view path = request.Path();
  const std::string& method = request.method;
  bool openid = path.ends_with("/.well-known/openid-configuration");
  if (openid || path.starts_with("/.well-known/oauth-authorization-server")) {
    // RFC 8414 §3 and OIDC Discovery §4 place the documents around the issuer's path.
    std::string_view issuer_path = IssuerPath(oauth_.options().issuer);
    if (path != (openid ? fmt::format("{}/.well-known/openid-configuration", issuer_path)
                        : fmt::format("/.well-known/oauth-authorization-server{}", issuer_path))) {
      return std::nullopt;
    }
    if (method != "GET") {
      return MethodNotAllowed("GET");
    }
    return Published(oauth_.Metadata(openid).dump(), "application/json",
                     oauth_.keys().options().jwks_max_age);
  }
  if (path == "/oauth2/jwks") {
    if (method != "GET") {
      return MethodNotAllowed("GET");
    }
    return Published(*oauth_.keys().PublishedJson(), "application/jwk-set+json",
                     oauth_.keys().options().jwks_max_age);
  }
  if (path != "/oauth2/token" && path != "/oauth2/introspect" && path != "/oauth2/revoke") {
    return std::nullopt;
  }
  if (method != "POST") {
    return MethodNotAllowed("POST");
  }
  absl::StatusOr<oauth::Form> form =
      ParseForm(request, path == "/oauth2/token" ? kTokenParams : kTokenOnlyParams);
  if (!form.ok()) {
    return OAuthErrorResponse(form.status());
  }
  if (path == "/oauth2/token") {
    std::string grant = form->contains("grant_type") ? form->at("grant_type") : "";
    bool oidc = grant == oauth::kGrantAuthorizationCode || grant == oauth::kGrantRefreshToken;
    absl::StatusOr<json> answer =
        oidc ? oauth_.oidc().Token(*form, request.headers.Get("Authorization"))
             : oauth_.Token(*form, conn.peer_certificate);
    return answer.ok() ? OAuthJson(*answer) : OAuthErrorResponse(answer.status());
  }
  if (path == "/oauth2/introspect") {
    absl::StatusOr<json> answer = oauth_.Introspect(*form, conn.peer_certificate);
    return answer.ok() ? OAuthJson(*answer) : OAuthErrorResponse(answer.status());
  }
  // An OpenID Connect client authenticates with client_secret_basic; workloads with mTLS.
  std::optional<std::string_view> basic = request.headers.Get("Authorization");
  absl::Status revoked = basic.has_value() ? oauth_.oidc().Revoke(*form, basic)
                                           : oauth_.Revoke(*form, conn.peer_certificate);
  return revoked.ok() ? OAuthJson(json::object()) : OAuthErrorResponse(revoked);
}

http::Response Router::RotateTokenKeys(const std::string& admin) {
  absl::StatusOr<oauth::TokenKeyRotation> rotation = oauth_.keys().Rotate(/*force=*/true, admin);
  if (!rotation.ok()) {
    return internal::ErrorResponse(rotation.status());
  }
  json keys = json::array();
  for (const oauth::TokenKeyInfo& key : oauth_.keys().List()) {
    keys.push_back({{"kid", key.kid},
                    {"state", TokenKeyStateName(key.state)},
                    {"activate_at", core::ToUnixSeconds(key.activate_at)},
                    {"retire_at", core::ToUnixSeconds(key.retire_at)},
                    {"remove_at", core::ToUnixSeconds(key.remove_at)}});
  }
  json answer = {
      {"activated", rotation->activated}, {"current_kid", rotation->current_kid}, {"keys", keys}};
  if (rotation->next) {
    answer["next_kid"] = rotation->next->kid;
    answer["next_activates_at"] = core::ToUnixSeconds(rotation->next->activate_at);
  }
  return JsonResponse(200, answer);
}

}  // namespace bulwark::authority::api
