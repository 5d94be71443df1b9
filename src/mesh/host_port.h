// Listen addresses as written in mesh.yaml: "127.0.0.1:7443", "localhost:8443", "[::1]:15001",
// "0.0.0.0:8443". Pure values and functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace bulwark::mesh {

struct HostPort {
  std::string host;        // IPv4 literal, IPv6 literal without brackets, or a DNS name
  std::uint16_t port = 0;  // 0: any free port, chosen when the listener binds

  // Returns "host:port", with brackets around an IPv6 host.
  std::string ToString() const;
  // Returns whether the host is a wildcard ("0.0.0.0" or "::") that binds every interface.
  bool IsWildcard() const { return host == "0.0.0.0" || host == "::"; }
  friend bool operator==(const HostPort&, const HostPort&) = default;
};

// Parses "host:port" or "[ipv6]:port". The host must be non-empty: an IPv4 literal, an IPv6
// literal in brackets, or a DNS name (letters, digits, '-', '.'); the port is 0-65535.
// Errors name the text and what is wrong with it.
absl::StatusOr<HostPort> ParseHostPort(std::string_view text);

}  // namespace bulwark::mesh
