// The OpenID Connect provider's input rules as pure functions (docs/sso.md#the-openid-connect-
// provider): redirect URIs (RFC 8252 loopback exception, no wildcards), PKCE S256 (RFC 7636),
// client names, HTTP Basic client credentials (RFC 6749 §2.3.1), `prompt` and `max_age` (OIDC
// Core §3.1.2.1) and building a redirect's query.
// Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/clock.h"

namespace bulwark::authority::oauth {

// Checks a redirect URI (or post-logout redirect URI) at registration: absolute, at most 2048
// bytes of printable ASCII without spaces, no userinfo, no fragment, no wildcard; https, or
// http only for a loopback host (127.0.0.1, [::1], localhost: RFC 8252 §7.3). InvalidArgument
// saying which rule failed.
absl::Status CheckRedirectUri(std::string_view uri);

// Checks a client id: 1..64 of [a-z0-9._-].
absl::Status CheckClientId(std::string_view id);

// Checks a PKCE code_challenge for S256: 43 base64url characters (a SHA-256 digest).
absl::Status CheckCodeChallenge(std::string_view challenge);

// Returns whether `verifier` (RFC 7636 §4.1: 43..128 of [A-Za-z0-9-._~]) hashes to `challenge`
// with S256: base64url(SHA-256(verifier)) == challenge, compared in constant time.
bool VerifyPkce(std::string_view verifier, std::string_view challenge);

// Parses an `Authorization: Basic` value into client id and secret, each form-urlencoded as RFC
// 6749 §2.3.1 says. InvalidArgument when it is not Basic or malformed.
absl::StatusOr<std::pair<std::string, std::string>> ParseBasicCredentials(std::string_view value);

// What an authorization request asks of the sign-in (OIDC Core §3.1.2.1).
struct LoginDemand {
  bool none = false;   // prompt=none: answer without showing the user a page
  bool login = false;  // prompt=login, or max_age=0: a fresh sign-in even with a session
  std::optional<core::Seconds> max_age;
};

// Parses `prompt` (empty, "none" or "login"; space-separated values, none alone) and `max_age`
// (empty or a non-negative integer of seconds). InvalidArgument naming the value otherwise:
// "consent" and "select_account" are not supported.
absl::StatusOr<LoginDemand> ParseLoginDemand(std::string_view prompt, std::string_view max_age);

// Returns whether a session authenticated at `auth_time` needs a fresh sign-in for `demand` at
// `now`: prompt=login, or more whole seconds elapsed than max_age.
bool NeedsFreshLogin(const LoginDemand& demand, core::TimePoint auth_time, core::TimePoint now);

// Returns `uri` with `params` appended to its query ('?' or '&'), each name and value
// percent-encoded (RFC 3986 unreserved characters kept).
std::string AppendQuery(std::string_view uri,
                        const std::vector<std::pair<std::string, std::string>>& params);

}  // namespace bulwark::authority::oauth
