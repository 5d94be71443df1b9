// Header rules of the gateway (docs/gateway.md#headers): what a public client may not send
// upstream, the hardening of every response (security headers, HSTS, no Server or
// X-Powered-By, cookie attributes) and W3C traceparent. Pure functions on message values apart
// from NewTraceparent (crypto/random); thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "http/message.h"

namespace bulwark::proxy {

inline constexpr std::string_view kHsts = "max-age=31536000; includeSubDomains";

// Returns the `separator`-separated items of `text`, each without surrounding spaces and tabs
// (views into `text`; empty items kept).
std::vector<std::string_view> SplitTrimmed(std::string_view text, char separator);

// Removes what a client may not decide for the services behind the gateway: Txn-Token,
// X-Bulwark-Peer-Id (and their underscore spellings) and the hop-by-hop headers.
void RemoveClientIdentityHeaders(http::Headers& headers);

// Returns `set_cookie` (a Set-Cookie value) with Secure and HttpOnly added when absent and
// SameSite=Lax when no SameSite is given (an explicit Strict, Lax or None is kept). Errors
// (InvalidArgument, the reason to log; the cookie must then be dropped): no "name=" part, or a
// __Host- cookie with a Domain or with a Path other than "/".
absl::StatusOr<std::string> SecureCookie(std::string_view set_cookie);

// Hardens a response for the public side: removes Server and X-Powered-By, sets HSTS,
// X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer and X-Frame-Options: DENY, and
// passes every Set-Cookie through SecureCookie. Returns the reasons of the cookies dropped.
std::vector<std::string> HardenResponse(http::Headers& headers);

// Returns whether `value` is a valid W3C traceparent (version 00: exactly
// "00-<32 hex>-<16 hex>-<2 hex>", lowercase, ids not all zeros; a later version: the same
// prefix, then nothing or '-' and more; version ff is invalid).
bool IsValidTraceparent(std::string_view value);

// Returns a new traceparent "00-<random trace id>-<random parent id>-01".
std::string NewTraceparent();

}  // namespace bulwark::proxy
