// Response hardening, cookie attributes (RFC 6265bis §4.1, cookie prefixes §4.1.3) and
// traceparent (W3C Trace Context §3.2).
#include "proxy/gateway_headers.h"

#include "core/ascii.h"
#include "crypto/bytes.h"
#include "crypto/random.h"
#include "fmt/format.h"
#include "proxy/headers.h"
#include "proxy/token_filter.h"

namespace bulwark::proxy {
namespace {

bool IsLowerHex(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

bool AllZeros(std::string_view s) { return s.find_first_not_of('0') == std::string_view::npos; }

struct CookieAttribute {
  std::string_view name;
  std::string_view value;  // empty for flags such as Secure
};

CookieAttribute SplitAttribute(std::string_view text) {
  std::size_t eq = text.find('=');
  if (eq == std::string_view::npos) {
    return {text, {}};
  }
  return {core::TrimOws(text.substr(0, eq)), core::TrimOws(text.substr(eq + 1))};
}

}  // namespace

std::vector<std::string_view> SplitTrimmed(std::string_view text, char separator) {
  std::vector<std::string_view> out;
  while (true) {
    std::size_t at = text.find(separator);
    out.push_back(core::TrimOws(text.substr(0, at)));
    if (at == std::string_view::npos) {
      return out;
    }
    text.remove_prefix(at + 1);
  }
}

void RemoveClientIdentityHeaders(http::Headers& headers) {
  RemoveUnderscoreSpellings(headers);
  headers.Remove(kTxnTokenHeader);
  headers.Remove(kPeerIdHeader);
  RemoveHopByHop(headers);
}

absl::StatusOr<std::string> SecureCookie(std::string_view set_cookie) {
  std::vector<std::string_view> parts = SplitTrimmed(set_cookie, ';');
  std::string_view pair = parts[0];
  std::size_t eq = pair.find('=');
  std::string_view name = core::TrimOws(pair.substr(0, eq));
  if (eq == std::string_view::npos || name.empty()) {
    return absl::InvalidArgumentError("a Set-Cookie without a name=value pair");
  }
  bool secure = false, http_only = false, same_site = false, has_domain = false;
  std::string_view path;
  bool has_path = false;
  for (std::size_t i = 1; i < parts.size(); ++i) {
    CookieAttribute a = SplitAttribute(parts[i]);
    secure |= core::AsciiEqualsIgnoreCase(a.name, "Secure");
    http_only |= core::AsciiEqualsIgnoreCase(a.name, "HttpOnly");
    same_site |= core::AsciiEqualsIgnoreCase(a.name, "SameSite");
    has_domain |= core::AsciiEqualsIgnoreCase(a.name, "Domain");
    if (core::AsciiEqualsIgnoreCase(a.name, "Path")) {
      has_path = true;
      path = a.value;
    }
  }
  if (name.starts_with("__Host-") && (has_domain || !has_path || path != "/")) {
    return absl::InvalidArgumentError(
        fmt::format("cookie '{}' has the __Host- prefix but {}", name,
                    has_domain ? "a Domain attribute" : "not Path=/"));
  }
  std::string out(core::TrimOws(set_cookie));
  if (!secure) {
    out += "; Secure";
  }
  if (!http_only) {
    out += "; HttpOnly";
  }
  if (!same_site) {
    out += "; SameSite=Lax";
  }
  return out;
}

std::vector<std::string> HardenResponse(http::Headers& headers) {
  headers.Remove("Server");
  headers.Remove("X-Powered-By");
  headers.Set("Strict-Transport-Security", std::string(kHsts));
  headers.Set("X-Content-Type-Options", "nosniff");
  headers.Set("Referrer-Policy", "no-referrer");
  headers.Set("X-Frame-Options", "DENY");
  std::vector<std::string> cookies;
  for (const http::Header& header : headers.all()) {
    if (core::AsciiEqualsIgnoreCase(header.name, "Set-Cookie")) {
      cookies.push_back(header.value);
    }
  }
  std::vector<std::string> dropped;
  if (cookies.empty()) {
    return dropped;
  }
  headers.Remove("Set-Cookie");
  for (const std::string& cookie : cookies) {
    absl::StatusOr<std::string> secured = SecureCookie(cookie);
    if (secured.ok()) {
      headers.Add("Set-Cookie", *std::move(secured));
    } else {
      dropped.emplace_back(secured.status().message());
    }
  }
  return dropped;
}

bool IsValidTraceparent(std::string_view value) {
  if (value.size() < 55 || value[2] != '-' || value[35] != '-' || value[52] != '-') {
    return false;
  }
  std::string_view version = value.substr(0, 2);
  std::string_view trace_id = value.substr(3, 32);
  std::string_view parent_id = value.substr(36, 16);
  if (!IsLowerHex(version) || version == "ff" || !IsLowerHex(trace_id) || AllZeros(trace_id) ||
      !IsLowerHex(parent_id) || AllZeros(parent_id) || !IsLowerHex(value.substr(53, 2))) {
    return false;
  }
  if (version == "00") {
    return value.size() == 55;
  }
  return value.size() == 55 || value[55] == '-';
}

std::string NewTraceparent() {
  // A random trace id is never all zeros in practice (2^-128); the check keeps it valid anyway.
  std::string trace_id, parent_id;
  do {
    trace_id = crypto::HexEncode(crypto::RandomBytes(16));
  } while (AllZeros(trace_id));
  do {
    parent_id = crypto::HexEncode(crypto::RandomBytes(8));
  } while (AllZeros(parent_id));
  return fmt::format("00-{}-{}-01", trace_id, parent_id);
}

}  // namespace bulwark::proxy
