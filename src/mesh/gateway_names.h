// The names an authority-issued gateway certificate is for (docs/gateway.md#certificate): derived
// from gateway.listen and gateway.public_url's host, and the rule the authority checks a request's
// names against (no wildcards, DNS names and IP literals only, a bounded count). Pure functions;
// thread-safe.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "mesh/config.h"

namespace bulwark::mesh {

// Most names one gateway certificate may carry (DNS and IP together).
inline constexpr std::size_t kMaxGatewayCertificateNames = 8;

struct GatewayCertificateNames {
  std::vector<std::string> dns;  // lower case, no trailing dot
  std::vector<std::string> ips;  // IPv4 or IPv6 literals, without brackets
  friend bool operator==(const GatewayCertificateNames&, const GatewayCertificateNames&) = default;
};

// Returns the SANs for `gateway`: gateway.listen's host (a wildcard listen address, which binds
// every interface, stands for localhost, 127.0.0.1 and ::1) and gateway.public_url's host, each
// once, DNS names before IP addresses in the order met. Errors: public_url does not parse, or a
// derived name fails CheckGatewayCertificateNames.
absl::StatusOr<GatewayCertificateNames> DeriveGatewayCertificateNames(const GatewayConfig& gateway);

// Checks names a gateway asks a certificate for: at least one and at most
// kMaxGatewayCertificateNames, no duplicates; each DNS name lower-case letters, digits and '-' in
// dot-separated labels of 1-63 characters (no '*' wildcard, no label starting or ending with '-',
// at most 253 characters, not all digits and dots); each IP a literal IPv4 or IPv6 address that
// is not a wildcard. InvalidArgument naming the first name refused.
absl::Status CheckGatewayCertificateNames(const GatewayCertificateNames& names);

}  // namespace bulwark::mesh
