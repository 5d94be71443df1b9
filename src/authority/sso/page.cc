#include "authority/sso/page.h"

#include "crypto/bytes.h"
#include "crypto/digest.h"
#include "fmt/format.h"

namespace bulwark::authority {
namespace {

// The only style; the CSP admits it by its hash, so no other inline style or script can run.
constexpr std::string_view kStyle =
    "body{font:16px/1.5 system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;"
    "color:#111;background:#fff}"
    "label{display:block;margin-top:1rem;font-weight:600}"
    "input{display:block;width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem;"
    "border:1px solid #555;border-radius:4px}"
    "button{margin-top:1.25rem;padding:.5rem 1.25rem;font-size:1rem;border:2px solid #0b4f9c;"
    "border-radius:4px;background:#0b4f9c;color:#fff;cursor:pointer}"
    ":focus-visible{outline:3px solid #e8a200;outline-offset:2px}"
    "[role=alert]{border-left:4px solid #b00020;background:#fdecee;padding:.5rem 1rem}"
    "code,pre{word-break:break-all;white-space:pre-wrap;background:#f3f3f3;padding:.25rem}"
    "svg{display:block;width:14rem;height:14rem;margin:1rem 0}";

// form-action also governs where a form post's redirects may lead (Chromium checks every hop),
// and the login's last redirect goes to the client's redirect URI: so the sources are exactly
// what a redirect URI may be (oidc_rules.h: https, or http on loopback), not just 'self' (with
// which Chromium stopped at the MFA page: found by tests/e2e/test_browser.py).
const std::string& ContentSecurityPolicy() {
  static const std::string kCsp = fmt::format(
      "default-src 'none'; style-src 'sha256-{}'; img-src 'self'; form-action 'self' https: "
      "http://127.0.0.1:* http://localhost:* http://[::1]:*; "
      "frame-ancestors 'none'; base-uri 'none'",
      crypto::Base64Encode(crypto::Sha256(kStyle)));
  return kCsp;
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string SafeReturnTo(std::string_view return_to, std::string_view fallback) {
  if (return_to.empty() || return_to.size() > kMaxReturnToBytes || return_to[0] != '/') {
    return std::string(fallback);
  }
  if (return_to.size() > 1 && (return_to[1] == '/' || return_to[1] == '\\')) {
    return std::string(fallback);
  }
  for (char c : return_to) {
    // Browsers drop tabs and newlines from URLs and read '\' as '/': "/\t/evil" and "/x\..\"
    // tricks need one of them, and a space or control character has no place in a Location.
    if (c <= 0x20 || c >= 0x7f || c == '\\') {
      return std::string(fallback);
    }
  }
  return std::string(return_to);
}

http::Response HtmlResponse(int status, const Page& page) {
  std::string alert =
      page.alert.empty() ? "" : fmt::format("<p role=\"alert\">{}</p>\n", HtmlEscape(page.alert));
  http::Response response;
  response.status = status;
  response.body = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>{} - bulwark</title>\n<style>{}</style>\n</head>\n<body>\n<main>\n<h1>{}</h1>\n"
      "{}{}</main>\n</body>\n</html>\n",
      HtmlEscape(page.title), kStyle, HtmlEscape(page.title), alert, page.content_html);
  response.headers.Add("Content-Type", "text/html; charset=utf-8");
  response.headers.Add("Content-Security-Policy", ContentSecurityPolicy());
  response.headers.Add("Cache-Control", "no-store");
  response.headers.Add("X-Frame-Options", "DENY");
  response.headers.Add("X-Content-Type-Options", "nosniff");
  // same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on the pages'
  // own form posts (Fetch §3.2.5), which the Origin check refuses; other sites still get no
  // Referer (found by tests/e2e/test_browser.py).
  response.headers.Add("Referrer-Policy", "same-origin");
  return response;
}

namespace {

http::Response RedirectWith(int status, std::string_view location) {
  http::Response response;
  response.status = status;
  response.headers.Add("Location", std::string(location));
  response.headers.Add("Cache-Control", "no-store");
  return response;
}

}  // namespace

http::Response SeeOther(std::string_view location) { return RedirectWith(303, location); }

http::Response Found(std::string_view location) { return RedirectWith(302, location); }

}  // namespace bulwark::authority
