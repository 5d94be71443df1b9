// CIDR ranges over inet_pton (a pure conversion; no I/O).
#include "mesh/cidr.h"

#include <arpa/inet.h>

#include <charconv>

#include "fmt/format.h"

namespace bulwark::mesh {

std::optional<IpBytes> ParseIp(std::string_view text) {
  if (text.empty() || text.size() > 45) {
    return std::nullopt;
  }
  std::string z(text);  // inet_pton needs a NUL-terminated string
  IpBytes out{};
  if (inet_pton(AF_INET, z.c_str(), out.data() + 12) == 1) {
    out[10] = 0xff;
    out[11] = 0xff;
    return out;
  }
  if (inet_pton(AF_INET6, z.c_str(), out.data()) == 1) {
    return out;
  }
  return std::nullopt;
}

bool Cidr::Contains(const IpBytes& address) const {
  int bits = prefix_bits;
  for (std::size_t i = 0; i < address.size() && bits > 0; ++i, bits -= 8) {
    std::uint8_t mask = bits >= 8 ? 0xff : static_cast<std::uint8_t>(0xff << (8 - bits));
    if ((address[i] & mask) != (network[i] & mask)) {
      return false;
    }
  }
  return true;
}

absl::StatusOr<Cidr> ParseCidr(std::string_view text) {
  std::size_t slash = text.find('/');
  std::optional<IpBytes> ip = ParseIp(text.substr(0, slash));
  if (!ip.has_value()) {
    return absl::InvalidArgumentError(
        fmt::format("'{}' is not an IP address or CIDR range (such as 10.0.0.0/8)", text));
  }
  bool v4 = text.substr(0, slash).find(':') == std::string_view::npos;
  int max_bits = v4 ? 32 : 128;
  int bits = max_bits;
  if (slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || bits < 0 ||
        bits > max_bits) {
      return absl::InvalidArgumentError(
          fmt::format("'{}': the prefix length must be 0-{}", text, max_bits));
    }
  }
  Cidr cidr{*ip, v4 ? bits + 96 : bits, std::string(text)};
  IpBytes masked{};
  for (std::size_t i = 0; i < 16; ++i) {
    int left = cidr.prefix_bits - static_cast<int>(i) * 8;
    std::uint8_t mask =
        left >= 8 ? 0xff : (left <= 0 ? 0 : static_cast<std::uint8_t>(0xff << (8 - left)));
    masked[i] = (*ip)[i] & mask;
  }
  if (masked != *ip) {
    return absl::InvalidArgumentError(
        fmt::format("'{}' has host bits set after the prefix length", text));
  }
  return cidr;
}

}  // namespace bulwark::mesh
