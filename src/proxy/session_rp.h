// The gateway as an OpenID Connect relying party of the authority for `auth: [session]` routes
// (docs/gateway.md#browser-sessions): browsers without a session are sent to the authority's
// login (code flow, PKCE S256, state, nonce), the code is redeemed at /_bulwark/callback, the
// tokens live in the sealed session cookie (proxy/session_cookie.h), are refreshed every
// `recheck` (so a revoked grant ends the session then) and logout ends both sessions. The
// back-channel calls (token, userinfo, revoke) are awaited on the request's coroutine through
// http::AsyncSend, never blocking an I/O thread. Thread-safe: its options are immutable after
// Create; the sessions signed out here are kept under a mutex.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "asio/awaitable.hpp"
#include "core/clock.h"
#include "crypto/bytes.h"
#include "crypto/x509.h"
#include "http/message.h"
#include "mesh/config.h"
#include "nlohmann/json.hpp"
#include "proxy/session_cookie.h"
#include "tokens/issuer_keys.h"
#include "tokens/subject.h"

namespace bulwark::proxy {

// The reserved paths, answered before routing.
inline constexpr std::string_view kReservedPrefix = "/_bulwark/";
inline constexpr std::string_view kCallbackPath = "/_bulwark/callback";
inline constexpr std::string_view kLoginPath = "/_bulwark/login";
inline constexpr std::string_view kLogoutPath = "/_bulwark/logout";
inline constexpr std::string_view kSessionPath = "/_bulwark/session";
// The names of bulwark's own cookies (the gateway's and the authority's) begin with it.
inline constexpr std::string_view kBulwarkCookiePrefix = "__Host-bulwark-";

// Posts a form to one of the authority's endpoints and returns the answer (the seam of the
// back channel; the gateway's is http::AsyncSend over TLS with the authority's SPIFFE ID).
using BackChannel = std::function<asio::awaitable<absl::StatusOr<http::Response>>(
    std::string url, http::Request request)>;

struct SessionRpOptions {
  mesh::SessionConfig config;
  std::string public_url;  // GatewayConfig::PublicUrl(), no trailing '/'
  // The authority's issuer: the `iss` of its tokens and of RFC 9207, and the base of the
  // browser-facing /oauth2/authorize and /oauth2/logout.
  std::string issuer;
  // The authority's base URL for the back channel (/oauth2/token, /oauth2/userinfo,
  // /oauth2/revoke); often the issuer.
  std::string authority_url;
  std::string client_secret;            // read once from config.client_secret_file
  crypto::Bytes cookie_key;             // 32 bytes
  tokens::IssuerKeySource keys;         // the authority's JWKS (ID and access tokens)
  std::string subject_issuer = "self";  // Subject::issuer of a session's user
  std::string trust_domain;             // the audience of the authority's access tokens
  // How long before the access token's exp a request refreshes it.
  core::Seconds refresh_margin{30};
};

// What a request's session cookie admits.
struct SessionCheck {
  // The session's user; Unauthenticated (the reason, for the log) without a valid session.
  absl::StatusOr<tokens::Subject> subject = absl::UnauthenticatedError("no session");
  // Set-Cookie values for the response: a refreshed session, or the deletion of an ended one.
  std::vector<std::string> set_cookies;
};

// A request's session after opening and, when due, refreshing its cookie.
struct SessionLoad {
  absl::StatusOr<SessionState> session = absl::UnauthenticatedError("no session");
  std::vector<std::string> set_cookies;  // as SessionCheck's
};

// What a session needs now (DecideSession).
enum class SessionAction {
  kUse,      // valid: use as it is
  kRefresh,  // recheck has passed since refreshed_at, or the access token is near its exp
  kEnd,      // past its lifetime (whatever the refreshes did) or its expires_at
};

// Returns what `session` needs at `now` under `config` (lifetime and recheck), refreshing when
// the access token expires within `margin`.
SessionAction DecideSession(const SessionState& session, const mesh::SessionConfig& config,
                            core::TimePoint now, core::Seconds margin);

// Returns whether `request` is a browser's top-level navigation, which is sent to the login
// page: Sec-Fetch-Mode: navigate, or a GET or HEAD accepting text/html. Anything else (fetch,
// XHR, API clients) gets a 401 instead.
bool IsBrowserNavigation(const http::Request& request);

// Returns the local path to send a browser to after login: `return_to` when it is a path on
// this host (authority::SafeReturnTo's rules), "/" otherwise (https://evil.test, //evil.test).
std::string SafeLocalReturnTo(std::string_view return_to);

// Checks the callback's query against the login in flight: `state` equal to the login cookie's
// (login CSRF), `iss` equal to `issuer` (RFC 9207: no mix-up), no `error`, a `code`. Returns
// the code; InvalidArgument with what was wrong (shown to the user).
absl::StatusOr<std::string> CheckCallback(const http::Request& request, const LoginState& login,
                                          std::string_view issuer);

class SessionRelyingParty {
 public:
  // Makes a relying party. InvalidArgument when the key is not 32 bytes, the secret, issuer or
  // public URL is empty. `back_channel` empty: http::AsyncSend with `roots` and the authority's
  // SPIFFE ID. `clock` must outlive it.
  static absl::StatusOr<std::unique_ptr<SessionRelyingParty>> Create(
      SessionRpOptions options, const core::Clock& clock, BackChannel back_channel,
      std::vector<crypto::Certificate> roots = {});

  // Answers a reserved path (/_bulwark/callback, login, logout, session); nullopt when the
  // request's path is not one of them (the gateway then answers 404 for /_bulwark/...).
  asio::awaitable<std::optional<http::Response>> HandleReserved(const http::Request& request);

  // Admits `request` by its session cookie: opens it, ends it past its lifetime, refreshes it
  // when DecideSession says so (a refused refresh ends it).
  asio::awaitable<SessionCheck> Check(const http::Request& request);

  // Returns the answer of a session route without a valid session for `request`: for a browser
  // navigation, a 302 to the authority's login with the login cookie (return_to: the original
  // target); nullopt otherwise (the caller answers 401).
  std::optional<http::Response> LoginRedirect(const http::Request& request,
                                              std::string_view original_target) const;

  // Removes every `__Host-bulwark-` cookie from the Cookie headers: the gateway's two, and the
  // authority's login cookies when both share a host (cookies are not scoped by port). No
  // service sees a session's tokens or the provider's session.
  static void RemoveSessionCookies(http::Headers& headers);
  // Removes a service's Set-Cookie headers for `__Host-bulwark-` cookies: a service can neither
  // end a session nor plant a cookie the gateway or the authority would read.
  static void RemoveSessionSetCookies(http::Headers& headers);

  const SessionRpOptions& options() const { return options_; }

 private:
  SessionRelyingParty(SessionRpOptions options, const core::Clock& clock, BackChannel back)
      : options_(std::move(options)), clock_(clock), back_channel_(std::move(back)) {}

  http::Response StartLogin(std::string_view return_to) const;
  asio::awaitable<http::Response> Callback(const http::Request& request);
  asio::awaitable<http::Response> Logout(const http::Request& request);
  asio::awaitable<http::Response> SessionInfo(const http::Request& request);
  // Opens the request's session cookie; ends or refreshes the session as DecideSession says.
  asio::awaitable<SessionLoad> Load(const http::Request& request);
  // Posts `form` to the token endpoint with client_secret_basic; returns the JSON answer, or
  // the error (PermissionDenied for an OAuth error such as invalid_grant).
  asio::awaitable<absl::StatusOr<nlohmann::json>> TokenCall(
      const std::vector<std::pair<std::string, std::string>>& form);
  // Verifies a token response and returns the session it makes: the ID token (signature, iss,
  // aud, azp, exp, and `nonce` when given) and the access token (as `issuer: self` does) name
  // the same user; for a refresh, `previous` is the session refreshed.
  absl::StatusOr<SessionState> SessionFromTokens(const nlohmann::json& answer,
                                                 std::optional<std::string_view> nonce,
                                                 const SessionState* previous) const;
  asio::awaitable<void> AddUserInfo(SessionState& session);
  // Returns the Set-Cookie of `session` (ResourceExhausted when it does not fit a cookie).
  absl::StatusOr<std::string> SessionCookie(const SessionState& session) const;
  tokens::Subject SubjectOf(const SessionState& session) const;

  // Remembers a signed-out session (its provider sid and its refresh token) until no copy of
  // its cookie could still be used without a refresh (recheck from now); drops expired entries.
  void RememberSignedOut(const SessionState& session);
  // Returns whether `session` was signed out at this gateway.
  bool IsSignedOut(const SessionState& session);

  SessionRpOptions options_;
  const core::Clock& clock_;
  BackChannel back_channel_;
  std::mutex signed_out_mu_;
  // "sid:<sid>" or "rt:<refresh token>" -> until when it is refused. Bounded by the logouts of
  // one recheck period (each needs a valid session).
  std::map<std::string, core::TimePoint> signed_out_;
};

}  // namespace bulwark::proxy
