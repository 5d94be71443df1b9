// The gateway's browser-session cookies (docs/gateway.md#browser-sessions) as a sans-I/O codec:
// a SessionState (the user's tokens and the session's clock) and a LoginState (one login in
// flight: state, nonce, PKCE verifier, return_to), each sealed with AES-256-GCM under the
// gateway's 32-byte cookie key, the cookie's name and the format version as associated data, so
// that a value is refused under another key, under the other cookie's name or in another
// version. Values are "1." + base64url(nonce || ciphertext || tag). Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "crypto/bytes.h"

namespace bulwark::proxy {

// The session cookie and the login-state cookie. The login state's name is not the authority's
// `__Host-bulwark-login` (its login session): cookies are scoped by host, not port, so a gateway
// and an authority on one host would overwrite each other's cookie of one name.
inline constexpr std::string_view kSessionCookie = "__Host-bulwark-session";
inline constexpr std::string_view kLoginStateCookie = "__Host-bulwark-rp-login";
// The largest cookie value sealed or opened: with its name and attributes a Set-Cookie stays
// under the 4096 bytes browsers keep per cookie (RFC 6265 §6.1).
inline constexpr std::size_t kMaxCookieValueBytes = 3800;
// How long a login may take from the redirect to the callback.
inline constexpr core::Seconds kLoginStateLifetime{600};

// A signed-in browser: what the gateway keeps in kSessionCookie.
struct SessionState {
  std::string sub;    // the user (the ID token's and the access token's sub)
  std::string sid;    // the provider's login session id (the ID token's sid), may be empty
  std::string name;   // preferred_username from userinfo, may be empty
  std::string email;  // may be empty
  std::vector<std::string> scope;  // the access token's
  std::string access_token;
  std::string refresh_token;
  std::string id_token;  // the id_token_hint of logout
  core::TimePoint access_expires_at;
  core::TimePoint created_at;    // the login: created_at + lifetime ends the session
  core::TimePoint refreshed_at;  // the last token response: recheck counts from here
  core::TimePoint expires_at;    // created_at + lifetime at login
};

// A login in flight: what the gateway keeps in kLoginStateCookie between its redirect to the
// authority and the callback.
struct LoginState {
  std::string state;
  std::string nonce;
  std::string code_verifier;
  std::string return_to;  // a local path
  core::TimePoint expires_at;
};

// Returns the 32-byte cookie key held by a key file's `content`: 32 raw bytes, or their
// base64url (43 characters; surrounding whitespace ignored). InvalidArgument otherwise.
absl::StatusOr<crypto::Bytes> ParseCookieKey(std::string_view content);

// Returns the cookie value of `session` sealed under `key` (32 bytes) with a fresh nonce.
// ResourceExhausted when the value would exceed kMaxCookieValueBytes (the provider's tokens are
// too large for a cookie: the login is refused rather than a cookie the browser would drop).
absl::StatusOr<std::string> SealSession(const crypto::Bytes& key, const SessionState& session);
// Returns the session of a cookie value sealed by SealSession under `key`. Unauthenticated
// (the reason to log) for a value that is oversized, not this version, not base64url, tampered
// with, sealed under another key or name, malformed inside, or past its expires_at at `now`.
absl::StatusOr<SessionState> OpenSession(const crypto::Bytes& key, std::string_view value,
                                         core::TimePoint now);

// As SealSession and OpenSession, for a LoginState in kLoginStateCookie.
absl::StatusOr<std::string> SealLogin(const crypto::Bytes& key, const LoginState& login);
absl::StatusOr<LoginState> OpenLogin(const crypto::Bytes& key, std::string_view value,
                                     core::TimePoint now);

// Returns the Set-Cookie value that stores `value` in cookie `name` for `max_age` (Secure,
// HttpOnly, SameSite=Lax, Path=/); with an empty `value`, the one that deletes the cookie.
std::string SetCookieValue(std::string_view name, std::string_view value, core::Seconds max_age);

}  // namespace bulwark::proxy
