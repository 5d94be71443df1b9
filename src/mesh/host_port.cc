#include "mesh/host_port.h"

#include <arpa/inet.h>

#include <charconv>

#include "fmt/format.h"

namespace bulwark::mesh {
namespace {

bool IsDnsName(std::string_view host) {
  if (host.empty() || host.size() > 253 || host.front() == '.' || host.front() == '-' ||
      host.back() == '-') {
    return false;
  }
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.';
    if (!ok) {
      return false;
    }
  }
  return host.find("..") == std::string_view::npos;
}

bool IsIpv6(const std::string& host) {
  in6_addr addr{};
  return inet_pton(AF_INET6, host.c_str(), &addr) == 1;
}

absl::StatusOr<std::uint16_t> ParsePort(std::string_view port_text, std::string_view text) {
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
  if (port_text.empty() || ec != std::errc() || ptr != port_text.data() + port_text.size()) {
    return absl::InvalidArgumentError(
        fmt::format("address '{}' needs a numeric port after ':' (as in 127.0.0.1:8443)", text));
  }
  if (value > 65535) {
    return absl::InvalidArgumentError(
        fmt::format("address '{}' has port {} outside 0-65535", text, value));
  }
  return static_cast<std::uint16_t>(value);
}

}  // namespace

std::string HostPort::ToString() const {
  if (host.find(':') != std::string::npos) {
    return fmt::format("[{}]:{}", host, port);
  }
  return fmt::format("{}:{}", host, port);
}

absl::StatusOr<HostPort> ParseHostPort(std::string_view text) {
  HostPort result;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return absl::InvalidArgumentError(
          fmt::format("address '{}' must be [ipv6]:port (as in [::1]:8443)", text));
    }
    result.host = std::string(text.substr(1, close - 1));
    if (!IsIpv6(result.host)) {
      return absl::InvalidArgumentError(
          fmt::format("address '{}' has an invalid IPv6 host '{}'", text, result.host));
    }
    port_text = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return absl::InvalidArgumentError(
          fmt::format("address '{}' must be host:port (as in 127.0.0.1:8443)", text));
    }
    result.host = std::string(text.substr(0, colon));
    if (result.host.find(':') != std::string::npos) {
      return absl::InvalidArgumentError(
          fmt::format("address '{}': write an IPv6 host in brackets (as in [::1]:8443)", text));
    }
    if (!IsDnsName(result.host)) {
      return absl::InvalidArgumentError(
          fmt::format("address '{}' has an invalid host '{}'", text, result.host));
    }
    port_text = text.substr(colon + 1);
  }
  auto port = ParsePort(port_text, text);
  if (!port.ok()) {
    return port.status();
  }
  result.port = *port;
  return result;
}

}  // namespace bulwark::mesh
