// The login pages' HTML (docs/sso.md#login-pages-and-mfa): one small template with no external
// assets and a strict Content-Security-Policy, escaping for text and attributes, and the check
// that keeps `return_to` on the authority (no open redirect). Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "http/message.h"

namespace bulwark::authority {

// Where a sign-in lands when `return_to` is absent or refused: the login page, which then shows
// who is signed in.
inline constexpr std::string_view kDefaultReturnTo = "/login";
inline constexpr std::size_t kMaxReturnToBytes = 2048;

// Returns `text` with & < > " ' replaced by character references (safe in text and in quoted
// attribute values).
std::string HtmlEscape(std::string_view text);

// Returns `return_to` (already percent-decoded once, as a query parameter is) when it is a path on
// this authority: starts with "/", not "//" or "/\", only visible ASCII (no space, control
// character or backslash anywhere), at most kMaxReturnToBytes. Returns `fallback` otherwise (the
// gateway's relying party uses these rules for its own return_to, with "/").
std::string SafeReturnTo(std::string_view return_to, std::string_view fallback = kDefaultReturnTo);

struct Page {
  std::string title;         // text
  std::string alert;         // text; shown with role="alert" when not empty
  std::string content_html;  // markup, every piece of outside text in it already escaped
};

// Returns a complete HTML response: `status`, the page in the shared template, and the security
// headers (CSP without inline script, no framing, no referrer to other sites, no caching,
// nosniff).
http::Response HtmlResponse(int status, const Page& page);

// Returns a 303 See Other to `location` (a path made safe by the caller) with no-store.
http::Response SeeOther(std::string_view location);
// Returns a 302 Found to `location` with no-store (redirects of GET requests: to a login page,
// to a client).
http::Response Found(std::string_view location);

}  // namespace bulwark::authority
