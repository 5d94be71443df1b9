// The authority's own browser session (docs/sso.md#login-sessions): the login page creates it
// after a successful sign-in and sets its cookie; the OpenID Connect endpoints read it to know who
// is signed in. The cookie's value is 256 random bits; the store holds only its SHA-256.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "authority/store/store.h"
#include "core/clock.h"
#include "http/message.h"

namespace bulwark::authority {

// `__Host-`: Secure, Path=/, no Domain, so no sibling host can set or read it.
inline constexpr std::string_view kLoginCookie = "__Host-bulwark-login";
// Where the OpenID Connect endpoints send a browser that is not signed in, with
// `?return_to=<the request's path and query>` (a path on the authority, never an absolute URL).
inline constexpr std::string_view kLoginPath = "/login";

struct NewLoginSession {
  std::string cookie_value;  // for the Set-Cookie header only; never stored or logged
  LoginSessionRecord record;
};

// Creates and stores a session for `user`, authenticated by `amr` at `now`, living `lifetime`.
absl::StatusOr<NewLoginSession> CreateLoginSession(Store& store, const std::string& user,
                                                   std::vector<std::string> amr,
                                                   core::TimePoint now, core::Seconds lifetime);

// Returns the Set-Cookie header value for a new session (Secure, HttpOnly, SameSite=Lax, Path=/,
// Max-Age = its remaining lifetime at `now`), or one that removes the cookie when `value` is empty.
std::string LoginCookieHeader(std::string_view value, core::Seconds max_age);

// Returns the session named by the request's login cookie when it is open at `now` (not ended,
// not expired) and its user exists, is enabled and not deleted. NotFound (with the reason, for the
// log) otherwise; another code when the store fails.
absl::StatusOr<LoginSessionRecord> FindActiveLoginSession(Store& store,
                                                          const http::Headers& request_headers,
                                                          core::TimePoint now);

}  // namespace bulwark::authority
