// IP address ranges in CIDR notation ("10.0.0.0/8", "::1/128", a bare address = one host), as
// `gateway.trusted_proxies` lists them. Pure values and functions; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace bulwark::mesh {

// An IPv4 or IPv6 address as 16 bytes (IPv4 as an IPv4-mapped IPv6 address, ::ffff:a.b.c.d).
using IpBytes = std::array<std::uint8_t, 16>;

// Parses an IPv4 or IPv6 literal (no brackets, no zone); nullopt when it is neither.
std::optional<IpBytes> ParseIp(std::string_view text);

struct Cidr {
  IpBytes network{};
  int prefix_bits = 128;  // of the 16-byte form (an IPv4 /8 is 104)
  std::string text;       // as written

  // Returns whether `address` is in the range.
  bool Contains(const IpBytes& address) const;
};

// Parses "<address>/<bits>" (bits 0-32 for IPv4, 0-128 for IPv6) or a bare address. Errors
// name the text: not an address, bad prefix length, host bits set ("10.0.0.1/8").
absl::StatusOr<Cidr> ParseCidr(std::string_view text);

}  // namespace bulwark::mesh
