// The relying party's flows: login redirect, callback, refresh, logout and the session endpoint.
// Browser-facing errors are pages in the login pages' template (authority/sso/page.h).
#include "proxy/session_rp.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "authority/oauth/oidc_rules.h"
#include "authority/sso/page.h"
#include "core/ascii.h"
#include "core/status.h"
#include "core/strict_json.h"
#include "crypto/digest.h"
#include "crypto/jwt.h"
#include "crypto/random.h"
#include "fmt/format.h"
#include "http/client.h"
#include "http/cookie.h"
#include "identity/spiffe_id.h"
#include "proxy/gateway_headers.h"
#include "proxy/handlers.h"
#include "spdlog/spdlog.h"
#include "tokens/user_token.h"

// GCC 12 at -O2 reports -Wmismatched-new-delete for asio's coroutine frames when it inlines one
// awaited coroutine of this file into another (a false positive: the frame's operator new and
// delete are asio's matching pair).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace bulwark::proxy {
namespace {

using nlohmann::json;
using Params = std::vector<std::pair<std::string, std::string>>;

std::string RandomToken() { return crypto::Base64UrlEncode(crypto::RandomBytes(32)); }

// Returns `params` as an application/x-www-form-urlencoded body.
std::string FormBody(const Params& params) {
  return authority::oauth::AppendQuery("", params).substr(1);  // without the leading '?'
}

// RFC 6749 §2.3.1: id and secret each form-urlencoded, joined by ':', then base64.
std::string BasicCredentials(std::string_view id, std::string_view secret) {
  std::string pair = FormBody({{std::string(id), std::string(secret)}});
  pair[pair.find('=')] = ':';  // the encoded id holds no '='
  return "Basic " + crypto::Base64Encode(crypto::ToBytes(pair));
}

http::Response Page(int status, std::string_view title, std::string_view message,
                    bool offer_login = true) {
  return authority::HtmlResponse(
      status,
      authority::Page{
          std::string(title), std::string(message),
          offer_login ? fmt::format("<p><a href=\"{}\">Sign in again</a></p>\n", kLoginPath) : ""});
}

std::string DeleteCookie(std::string_view name) {
  return SetCookieValue(name, "", core::Seconds(0));
}

bool IsReservedPath(std::string_view path) { return path.starts_with(kReservedPrefix); }

}  // namespace

SessionAction DecideSession(const SessionState& session, const mesh::SessionConfig& config,
                            core::TimePoint now, core::Seconds margin) {
  if (now >= session.created_at + config.lifetime || now >= session.expires_at) {
    return SessionAction::kEnd;
  }
  if (now - session.refreshed_at >= config.recheck || session.access_expires_at - now <= margin) {
    return SessionAction::kRefresh;
  }
  return SessionAction::kUse;
}

bool IsBrowserNavigation(const http::Request& request) {
  if (std::optional<std::string_view> mode = request.headers.Get("Sec-Fetch-Mode")) {
    return core::AsciiEqualsIgnoreCase(core::TrimOws(*mode), "navigate");
  }
  if (request.method != "GET" && request.method != "HEAD") {
    return false;
  }
  std::string accept =
      absl::AsciiStrToLower(std::string(request.headers.Get("Accept").value_or("")));
  return accept.find("text/html") != std::string::npos;
}

std::string SafeLocalReturnTo(std::string_view return_to) {
  return authority::SafeReturnTo(return_to, "/");
}

absl::StatusOr<std::string> CheckCallback(const http::Request& request, const LoginState& login,
                                          std::string_view issuer) {
  std::string state = request.QueryParam("state").value_or("");
  if (state.empty() ||
      !crypto::ConstantTimeEquals(crypto::ToBytes(state), crypto::ToBytes(login.state))) {
    return absl::InvalidArgumentError(
        "This sign-in answer does not belong to the sign-in this browser started.");
  }
  if (request.QueryParam("iss").value_or("") != issuer) {
    return absl::InvalidArgumentError(
        "This sign-in answer does not come from the authority this gateway trusts.");
  }
  if (std::optional<std::string> error = request.QueryParam("error")) {
    return absl::InvalidArgumentError(
        fmt::format("The authority did not sign you in ({}).", *error));
  }
  std::optional<std::string> code = request.QueryParam("code");
  if (!code.has_value() || code->empty()) {
    return absl::InvalidArgumentError("The sign-in answer has no code.");
  }
  return *code;
}

absl::StatusOr<std::unique_ptr<SessionRelyingParty>> SessionRelyingParty::Create(
    SessionRpOptions options, const core::Clock& clock, BackChannel back_channel,
    std::vector<crypto::Certificate> roots) {
  if (options.cookie_key.size() != 32) {
    return absl::InvalidArgumentError("the session cookie key must be 32 bytes");
  }
  if (options.client_secret.empty() || options.issuer.empty() || options.public_url.empty() ||
      options.authority_url.empty()) {
    return absl::InvalidArgumentError(
        "a session relying party needs a client secret, the issuer, the authority's URL and the "
        "public URL");
  }
  while (options.public_url.ends_with("/")) {
    options.public_url.pop_back();
  }
  if (!back_channel) {
    auto client = std::make_shared<http::ClientOptions>();
    client->roots = std::move(roots);
    client->expected_server_id =
        fmt::format("{}/authority", identity::TrustDomainId(options.trust_domain));
    back_channel = [client](
                       std::string url,
                       http::Request request) -> asio::awaitable<absl::StatusOr<http::Response>> {
      co_return co_await http::AsyncSend(url, std::move(request), *client);
    };
  }
  return std::unique_ptr<SessionRelyingParty>(
      new SessionRelyingParty(std::move(options), clock, std::move(back_channel)));
}

http::Response SessionRelyingParty::StartLogin(std::string_view return_to) const {
  LoginState login{RandomToken(), RandomToken(), RandomToken(), SafeLocalReturnTo(return_to),
                   clock_.Now() + kLoginStateLifetime};
  absl::StatusOr<std::string> sealed = SealLogin(options_.cookie_key, login);
  if (!sealed.ok()) {
    spdlog::error("gateway: cannot seal a login cookie: {}", sealed.status().message());
    return Page(500, "Sign-in unavailable", "The gateway could not start a sign-in.", false);
  }
  std::string challenge =
      crypto::Base64UrlEncode(crypto::Sha256(std::string_view(login.code_verifier)));
  std::string location = authority::oauth::AppendQuery(
      options_.issuer + "/oauth2/authorize",
      {{"response_type", "code"},
       {"client_id", options_.config.client_id},
       {"redirect_uri", options_.public_url + std::string(kCallbackPath)},
       {"scope", absl::StrJoin(options_.config.scopes, " ")},
       {"state", login.state},
       {"nonce", login.nonce},
       {"code_challenge", challenge},
       {"code_challenge_method", "S256"}});
  http::Response response = authority::Found(location);
  response.headers.Add("Set-Cookie",
                       SetCookieValue(kLoginStateCookie, *sealed, kLoginStateLifetime));
  return response;
}

std::optional<http::Response> SessionRelyingParty::LoginRedirect(
    const http::Request& request, std::string_view original_target) const {
  if (!IsBrowserNavigation(request)) {
    return std::nullopt;
  }
  return StartLogin(original_target);
}

asio::awaitable<std::optional<http::Response>> SessionRelyingParty::HandleReserved(
    const http::Request& request) {
  std::string_view path = request.Path();
  if (!IsReservedPath(path)) {
    co_return std::nullopt;
  }
  bool get = request.method == "GET" || request.method == "HEAD";
  if (path == kCallbackPath && get) {
    co_return co_await Callback(request);
  }
  if (path == kLoginPath && get) {
    co_return StartLogin(request.QueryParam("return_to").value_or("/"));
  }
  if (path == kSessionPath && get) {
    co_return co_await SessionInfo(request);
  }
  if (path == kLogoutPath && request.method == "POST") {
    co_return co_await Logout(request);
  }
  if (path == kCallbackPath || path == kLoginPath || path == kSessionPath || path == kLogoutPath) {
    http::Response response =
        JsonError(405, "method_not_allowed", fmt::format("{} is not allowed here", request.method));
    response.headers.Set("Allow", path == kLogoutPath ? "POST" : "GET, HEAD");
    co_return response;
  }
  co_return std::nullopt;
}

asio::awaitable<http::Response> SessionRelyingParty::Callback(const http::Request& request) {
  std::optional<std::string> cookie = http::FindCookie(request.headers, kLoginStateCookie);
  absl::StatusOr<LoginState> login = cookie.has_value()
                                         ? OpenLogin(options_.cookie_key, *cookie, clock_.Now())
                                         : absl::UnauthenticatedError("no login cookie");
  if (!login.ok()) {
    spdlog::info("gateway: callback refused: {}", login.status().message());
    http::Response response = Page(400, "Sign-in expired",
                                   "No sign-in is in progress in this browser, or it took too "
                                   "long. Start again.");
    response.headers.Add("Set-Cookie", DeleteCookie(kLoginStateCookie));
    co_return response;
  }
  absl::StatusOr<std::string> code = CheckCallback(request, *login, options_.issuer);
  if (!code.ok()) {
    spdlog::info("gateway: callback refused: {}", code.status().message());
    http::Response response = Page(400, "Sign-in failed", std::string(code.status().message()));
    response.headers.Add("Set-Cookie", DeleteCookie(kLoginStateCookie));
    co_return response;
  }
  // The login cookie is spent whatever happens next: a replayed callback finds none.
  std::string spent = DeleteCookie(kLoginStateCookie);
  Params form;
  form.emplace_back("grant_type", "authorization_code");
  form.emplace_back("code", *code);
  form.emplace_back("redirect_uri", options_.public_url + std::string(kCallbackPath));
  form.emplace_back("code_verifier", login->code_verifier);
  absl::StatusOr<json> answer = co_await TokenCall(form);
  absl::StatusOr<SessionState> session =
      answer.ok() ? SessionFromTokens(*answer, login->nonce, nullptr) : answer.status();
  if (session.ok()) {
    co_await AddUserInfo(*session);
  }
  absl::StatusOr<std::string> set_cookie =
      session.ok() ? SessionCookie(*session) : session.status();
  if (!set_cookie.ok()) {
    spdlog::warn("gateway: sign-in failed at the token step: {}", set_cookie.status().message());
    http::Response response =
        Page(set_cookie.status().code() == absl::StatusCode::kPermissionDenied ? 400 : 502,
             "Sign-in failed", "The authority did not complete the sign-in.");
    response.headers.Add("Set-Cookie", spent);
    co_return response;
  }
  spdlog::info("gateway: {} signed in (session until {})", session->sub,
               core::ToUnixSeconds(session->expires_at));
  http::Response response = authority::SeeOther(login->return_to);
  response.headers.Add("Set-Cookie", *set_cookie);
  response.headers.Add("Set-Cookie", spent);
  co_return response;
}

asio::awaitable<absl::StatusOr<json>> SessionRelyingParty::TokenCall(const Params& form) {
  http::Request request;
  request.method = "POST";
  request.headers.Add("Content-Type", "application/x-www-form-urlencoded");
  request.headers.Add("Accept", "application/json");
  request.headers.Add("Authorization",
                      BasicCredentials(options_.config.client_id, options_.client_secret));
  request.body = FormBody(form);
  absl::StatusOr<http::Response> response =
      co_await back_channel_(options_.authority_url + "/oauth2/token", std::move(request));
  if (!response.ok()) {
    co_return absl::UnavailableError(
        fmt::format("the authority's token endpoint: {}", response.status().message()));
  }
  absl::StatusOr<json> body = core::ParseStrictJson(response->body);
  if (!body.ok() || !body->is_object()) {
    co_return absl::UnavailableError(fmt::format(
        "the authority's token endpoint answered {} without a JSON object", response->status));
  }
  if (response->status != 200) {
    // An OAuth error (RFC 6749 §5.2): the grant is refused, not the authority unreachable.
    co_return absl::PermissionDeniedError(
        fmt::format("{}: {}", body->value("error", "error"), body->value("error_description", "")));
  }
  co_return *std::move(body);
}

absl::StatusOr<SessionState> SessionRelyingParty::SessionFromTokens(
    const json& answer, std::optional<std::string_view> nonce, const SessionState* previous) const {
  auto text = [&answer](const char* field) {
    auto it = answer.find(field);
    return it != answer.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string id_token = text("id_token");
  std::string access_token = text("access_token");
  std::string refresh_token = text("refresh_token");
  if (id_token.empty() || access_token.empty() || refresh_token.empty()) {
    return absl::UnavailableError("the token response lacks an ID, access or refresh token");
  }
  std::shared_ptr<const tokens::IssuerKeys> keys = options_.keys.current();
  if (keys == nullptr) {
    return absl::UnavailableError("the authority's token keys are not fetched yet");
  }
  core::TimePoint now = clock_.Now();
  crypto::JwtExpectations expect;
  expect.issuer = options_.issuer;
  expect.audience = options_.config.client_id;
  expect.typ = "JWT";
  absl::StatusOr<crypto::VerifiedJwt> id = crypto::VerifyJwt(id_token, keys->jwks, expect, now);
  if (!id.ok()) {
    return absl::UnauthenticatedError(
        fmt::format("the ID token is refused: {}", id.status().message()));
  }
  const json& claims = id->claims;
  if (claims.contains("azp") && claims["azp"] != options_.config.client_id) {
    return absl::UnauthenticatedError("the ID token's azp is another client");
  }
  if (nonce.has_value() && (!claims.contains("nonce") || claims["nonce"] != *nonce)) {
    return absl::UnauthenticatedError("the ID token's nonce is not this login's");
  }
  std::string sub = claims.value("sub", "");
  tokens::TrustedIssuer self{options_.subject_issuer,
                             true,
                             "",
                             {identity::TrustDomainId(options_.trust_domain)},
                             {"ES256"},
                             options_.keys};
  absl::StatusOr<tokens::VerifiedUserToken> access =
      tokens::VerifyUserToken(access_token, {self}, now);
  if (!access.ok()) {
    return absl::UnauthenticatedError(
        fmt::format("the access token is refused: {}", access.status().message()));
  }
  if (sub.empty() || access->subject.subject != sub ||
      (previous != nullptr && previous->sub != sub)) {
    return absl::UnauthenticatedError("the ID token and the access token name other users");
  }
  SessionState session;
  session.sub = sub;
  session.sid = claims.contains("sid") && claims["sid"].is_string()
                    ? claims["sid"].get<std::string>()
                    : (previous != nullptr ? previous->sid : "");
  session.scope = access->subject.scope;
  session.access_token = std::move(access_token);
  session.refresh_token = std::move(refresh_token);
  session.id_token = std::move(id_token);
  session.access_expires_at = access->expires_at;
  session.refreshed_at = now;
  session.created_at = previous != nullptr ? previous->created_at : now;
  session.expires_at = previous != nullptr ? previous->expires_at : now + options_.config.lifetime;
  if (previous != nullptr) {
    session.name = previous->name;
    session.email = previous->email;
  }
  return session;
}

asio::awaitable<void> SessionRelyingParty::AddUserInfo(SessionState& session) {
  http::Request request;
  request.method = "GET";
  request.headers.Add("Accept", "application/json");
  request.headers.Add("Authorization", "Bearer " + session.access_token);
  absl::StatusOr<http::Response> response =
      co_await back_channel_(options_.authority_url + "/oauth2/userinfo", std::move(request));
  absl::StatusOr<json> body = response.ok() && response->status == 200
                                  ? core::ParseStrictJson(response->body)
                                  : absl::UnavailableError("no userinfo");
  if (!body.ok() || !body->is_object() || body->value("sub", "") != session.sub) {
    spdlog::info("gateway: no userinfo for {}: the session shows sub only", session.sub);
    co_return;
  }
  if (auto it = body->find("preferred_username"); it != body->end() && it->is_string()) {
    session.name = it->get<std::string>();
  }
  if (auto it = body->find("email"); it != body->end() && it->is_string()) {
    session.email = it->get<std::string>();
  }
}

absl::StatusOr<std::string> SessionRelyingParty::SessionCookie(const SessionState& session) const {
  BULWARK_ASSIGN_OR_RETURN(std::string sealed, SealSession(options_.cookie_key, session));
  auto left = std::chrono::duration_cast<core::Seconds>(session.expires_at - clock_.Now());
  return SetCookieValue(kSessionCookie, sealed, std::max(left, core::Seconds(1)));
}

tokens::Subject SessionRelyingParty::SubjectOf(const SessionState& session) const {
  return tokens::Subject{options_.subject_issuer, session.sub, session.scope};
}

asio::awaitable<SessionLoad> SessionRelyingParty::Load(const http::Request& request) {
  SessionLoad load;
  std::optional<std::string> cookie = http::FindCookie(request.headers, kSessionCookie);
  if (!cookie.has_value()) {
    load.session = absl::UnauthenticatedError("no session cookie");
    co_return load;
  }
  core::TimePoint now = clock_.Now();
  absl::StatusOr<SessionState> session = OpenSession(options_.cookie_key, *cookie, now);
  if (!session.ok()) {
    load.session = session.status();
    load.set_cookies.push_back(DeleteCookie(kSessionCookie));
    co_return load;
  }
  if (IsSignedOut(*session)) {
    // A copy of the cookie of a session signed out here: refused at once, not at its recheck.
    load.session = absl::UnauthenticatedError("the session was signed out");
    load.set_cookies.push_back(DeleteCookie(kSessionCookie));
    co_return load;
  }
  switch (DecideSession(*session, options_.config, now, options_.refresh_margin)) {
    case SessionAction::kUse:
      load.session = *std::move(session);
      co_return load;
    case SessionAction::kEnd:
      load.session = absl::UnauthenticatedError("the session has reached its lifetime");
      load.set_cookies.push_back(DeleteCookie(kSessionCookie));
      co_return load;
    case SessionAction::kRefresh:
      break;
  }
  Params form;
  form.emplace_back("grant_type", "refresh_token");
  form.emplace_back("refresh_token", session->refresh_token);
  absl::StatusOr<json> answer = co_await TokenCall(form);
  if (!answer.ok() && answer.status().code() == absl::StatusCode::kUnavailable &&
      session->access_expires_at > clock_.Now()) {
    // The authority cannot be reached: the access token it issued is still good until its exp.
    spdlog::warn("gateway: cannot refresh the session of {} yet: {}", session->sub,
                 answer.status().message());
    load.session = *std::move(session);
    co_return load;
  }
  absl::StatusOr<SessionState> next =
      answer.ok() ? SessionFromTokens(*answer, std::nullopt, &*session) : answer.status();
  absl::StatusOr<std::string> set_cookie = next.ok() ? SessionCookie(*next) : next.status();
  if (!set_cookie.ok()) {
    spdlog::info("gateway: the session of {} ends: the refresh failed: {}", session->sub,
                 set_cookie.status().message());
    load.session = absl::UnauthenticatedError(
        fmt::format("the refresh failed: {}", set_cookie.status().message()));
    load.set_cookies.push_back(DeleteCookie(kSessionCookie));
    co_return load;
  }
  load.set_cookies.push_back(*std::move(set_cookie));
  load.session = *std::move(next);
  co_return load;
}

asio::awaitable<SessionCheck> SessionRelyingParty::Check(const http::Request& request) {
  SessionLoad load = co_await Load(request);
  SessionCheck check;
  check.set_cookies = std::move(load.set_cookies);
  if (load.session.ok()) {
    check.subject = SubjectOf(*load.session);
  } else {
    check.subject = load.session.status();
  }
  co_return check;
}

asio::awaitable<http::Response> SessionRelyingParty::SessionInfo(const http::Request& request) {
  SessionLoad load = co_await Load(request);
  http::Response response;
  if (!load.session.ok()) {
    response = JsonError(401, "unauthorized", "no session");
  } else {
    json info = {{"sub", load.session->sub},
                 {"expires_at", core::ToUnixSeconds(load.session->expires_at)}};
    if (!load.session->name.empty()) {
      info["name"] = load.session->name;
    }
    if (!load.session->email.empty()) {
      info["email"] = load.session->email;
    }
    response.status = 200;
    response.body = info.dump();
    response.headers.Add("Content-Type", "application/json");
  }
  response.headers.Set("Cache-Control", "no-store");
  for (std::string& cookie : load.set_cookies) {
    response.headers.Add("Set-Cookie", std::move(cookie));
  }
  co_return response;
}

asio::awaitable<http::Response> SessionRelyingParty::Logout(const http::Request& request) {
  std::optional<std::string> cookie = http::FindCookie(request.headers, kSessionCookie);
  absl::StatusOr<SessionState> session =
      cookie.has_value() ? OpenSession(options_.cookie_key, *cookie, clock_.Now())
                         : absl::UnauthenticatedError("no session cookie");
  std::string location = "/";
  if (session.ok()) {
    RememberSignedOut(*session);
    http::Request revoke;
    revoke.method = "POST";
    revoke.headers.Add("Content-Type", "application/x-www-form-urlencoded");
    revoke.headers.Add("Authorization",
                       BasicCredentials(options_.config.client_id, options_.client_secret));
    revoke.body =
        FormBody({{"token", session->refresh_token}, {"token_type_hint", "refresh_token"}});
    absl::StatusOr<http::Response> revoked =
        co_await back_channel_(options_.authority_url + "/oauth2/revoke", std::move(revoke));
    if (!revoked.ok() || revoked->status != 200) {
      spdlog::warn("gateway: revoking the refresh token of {} at logout failed: {}", session->sub,
                   revoked.ok() ? fmt::format("status {}", revoked->status)
                                : std::string(revoked.status().message()));
    }
    location =
        authority::oauth::AppendQuery(options_.issuer + "/oauth2/logout",
                                      {{"id_token_hint", session->id_token},
                                       {"post_logout_redirect_uri", options_.public_url + "/"},
                                       {"client_id", options_.config.client_id}});
    spdlog::info("gateway: {} signed out", session->sub);
  }
  http::Response response = authority::SeeOther(location);
  response.headers.Add("Set-Cookie", DeleteCookie(kSessionCookie));
  response.headers.Add("Set-Cookie", DeleteCookie(kLoginStateCookie));
  co_return response;
}

namespace {

std::vector<std::string> SignedOutKeys(const SessionState& session) {
  std::vector<std::string> keys = {"rt:" + session.refresh_token};
  if (!session.sid.empty()) {
    keys.push_back("sid:" + session.sid);
  }
  return keys;
}

}  // namespace

void SessionRelyingParty::RememberSignedOut(const SessionState& session) {
  core::TimePoint now = clock_.Now();
  // A copy refreshed just before the logout is used without a refresh for at most `recheck`;
  // after that its refresh finds the family revoked.
  core::TimePoint until = now + options_.config.recheck + core::Seconds(1);
  std::lock_guard<std::mutex> lock(signed_out_mu_);
  std::erase_if(signed_out_, [now](const auto& entry) { return entry.second <= now; });
  for (std::string& key : SignedOutKeys(session)) {
    signed_out_[std::move(key)] = until;
  }
}

bool SessionRelyingParty::IsSignedOut(const SessionState& session) {
  core::TimePoint now = clock_.Now();
  std::lock_guard<std::mutex> lock(signed_out_mu_);
  for (const std::string& key : SignedOutKeys(session)) {
    auto it = signed_out_.find(key);
    if (it != signed_out_.end() && it->second > now) {
      return true;
    }
  }
  return false;
}

void SessionRelyingParty::RemoveSessionCookies(http::Headers& headers) {
  std::vector<std::string_view> kept;
  std::vector<std::string> values;
  for (const http::Header& header : headers.all()) {
    if (core::AsciiEqualsIgnoreCase(header.name, "Cookie")) {
      values.push_back(header.value);
    }
  }
  if (values.empty()) {
    return;
  }
  for (const std::string& value : values) {
    for (std::string_view pair : SplitTrimmed(value, ';')) {
      std::string_view name = core::TrimOws(pair.substr(0, pair.find('=')));
      if (!pair.empty() && !name.starts_with(kBulwarkCookiePrefix)) {
        kept.push_back(pair);
      }
    }
  }
  std::string joined;
  for (std::string_view pair : kept) {
    joined += joined.empty() ? std::string(pair) : fmt::format("; {}", pair);
  }
  headers.Remove("Cookie");
  if (!joined.empty()) {
    headers.Add("Cookie", std::move(joined));
  }
}

void SessionRelyingParty::RemoveSessionSetCookies(http::Headers& headers) {
  std::vector<std::string> kept;
  bool dropped = false;
  for (const http::Header& header : headers.all()) {
    if (!core::AsciiEqualsIgnoreCase(header.name, "Set-Cookie")) {
      continue;
    }
    std::string_view name = core::TrimOws(
        std::string_view(header.value).substr(0, std::string_view(header.value).find('=')));
    if (name.starts_with(kBulwarkCookiePrefix)) {
      dropped = true;
    } else {
      kept.push_back(header.value);
    }
  }
  if (!dropped) {
    return;
  }
  spdlog::warn("gateway: dropped a service's Set-Cookie for a __Host-bulwark- cookie");
  headers.Remove("Set-Cookie");
  for (std::string& value : kept) {
    headers.Add("Set-Cookie", std::move(value));
  }
}

}  // namespace bulwark::proxy
