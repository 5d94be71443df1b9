// Absolute http(s) URL parsing for bulwark's own clients: strict, no normalization beyond
// lowercasing the scheme and host.
#include "http/url.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <optional>

#include "fmt/format.h"

namespace bulwark::http {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

absl::Status Invalid(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(fmt::format("invalid URL '{}': {}", text, why));
}

bool IsRegNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_';
}

absl::StatusOr<std::uint16_t> ParsePort(std::string_view text, std::string_view port) {
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Invalid(text, "bad port");
  }
  unsigned value = 0;
  for (char c : port) {
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) {
    return Invalid(text, "port out of range");
  }
  return static_cast<std::uint16_t>(value);
}

// Splits "host[:port]" or "[v6][:port]" into `url.host` and the port text.
absl::Status ParseHost(std::string_view text, std::string_view authority, Url& url,
                       std::optional<std::string_view>& port) {
  std::string_view host = authority;
  if (!authority.empty() && authority.front() == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return Invalid(text, "unterminated IPv6 address");
    }
    host = authority.substr(1, close - 1);
    std::string rest(authority.substr(close + 1));
    in6_addr addr{};
    if (inet_pton(AF_INET6, std::string(host).c_str(), &addr) != 1) {
      return Invalid(text, "bad IPv6 address");
    }
    if (!rest.empty() && rest.front() != ':') {
      return Invalid(text, "unexpected characters after IPv6 address");
    }
    if (!rest.empty()) {
      port = authority.substr(close + 2);
    }
  } else {
    std::size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
    }
    if (host.empty() || !std::all_of(host.begin(), host.end(), IsRegNameChar)) {
      return Invalid(text, "bad host");
    }
  }
  url.host = Lower(host);
  return absl::OkStatus();
}

absl::Status ParseAuthority(std::string_view text, std::string_view authority, Url& url) {
  std::optional<std::string_view> port;
  if (absl::Status s = ParseHost(text, authority, url, port); !s.ok()) {
    return s;
  }
  if (!port.has_value()) {
    url.port = url.scheme == "https" ? 443 : 80;
    return absl::OkStatus();
  }
  absl::StatusOr<std::uint16_t> p = ParsePort(text, *port);
  if (!p.ok()) {
    return p.status();
  }
  url.port = *p;
  return absl::OkStatus();
}

bool IsTargetChar(char ch) {
  auto c = static_cast<unsigned char>(ch);
  return c > 0x20 && c < 0x7f;
}

}  // namespace

absl::StatusOr<Url> ParseUrl(std::string_view text) {
  Url url;
  std::size_t sep = text.find("://");
  if (sep == std::string_view::npos) {
    return Invalid(text, "missing scheme");
  }
  url.scheme = Lower(text.substr(0, sep));
  if (url.scheme != "https" && url.scheme != "http") {
    return Invalid(text, "scheme must be https or http");
  }
  std::string_view rest = text.substr(sep + 3);
  if (rest.find('#') != std::string_view::npos) {
    return Invalid(text, "fragments are not allowed");
  }
  std::size_t end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, end);
  if (authority.find('@') != std::string_view::npos) {
    return Invalid(text, "userinfo is not allowed");
  }
  if (absl::Status s = ParseAuthority(text, authority, url); !s.ok()) {
    return s;
  }
  std::string_view target = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (!std::all_of(target.begin(), target.end(), IsTargetChar)) {
    return Invalid(text, "invalid characters in path or query");
  }
  url.target =
      target.empty() || target.front() == '?' ? "/" + std::string(target) : std::string(target);
  return url;
}

}  // namespace bulwark::http
