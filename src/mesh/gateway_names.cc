// Derivation and checks of the gateway certificate's names.
#include "mesh/gateway_names.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "core/status.h"
#include "fmt/format.h"
#include "http/url.h"
#include "mesh/cidr.h"

namespace bulwark::mesh {
namespace {

// Adds `host` to the DNS or IP list of `names` unless it is there already.
void AddHost(std::string_view host, GatewayCertificateNames& names) {
  bool ip = ParseIp(host).has_value();
  std::string name = ip ? std::string(host) : absl::AsciiStrToLower(std::string(host));
  if (!ip && name.ends_with('.')) {
    name.pop_back();
  }
  std::vector<std::string>& list = ip ? names.ips : names.dns;
  if (std::find(list.begin(), list.end(), name) == list.end()) {
    list.push_back(std::move(name));
  }
}

bool IsWildcardIp(const IpBytes& ip) {
  IpBytes any6{};
  IpBytes any4{};
  any4[10] = 0xff;
  any4[11] = 0xff;
  return ip == any6 || ip == any4;
}

absl::Status CheckDnsName(const std::string& name) {
  auto refuse = [&name](std::string_view why) {
    return absl::InvalidArgumentError(
        fmt::format("gateway certificate name '{}' refused: {}", name, why));
  };
  if (name.empty() || name.size() > 253) {
    return refuse("a DNS name has 1 to 253 characters");
  }
  if (name.find('*') != std::string::npos) {
    return refuse("wildcards are not issued");
  }
  if (name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-.") != std::string::npos) {
    return refuse("a DNS name has only lower-case letters, digits, '-' and '.'");
  }
  if (name.find_first_not_of("0123456789.") == std::string::npos) {
    return refuse("neither a DNS name nor an IP address");
  }
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t end = std::min(name.find('.', start), name.size());
    std::string_view label = std::string_view(name).substr(start, end - start);
    if (label.empty() || label.size() > 63) {
      return refuse("each dot-separated label has 1 to 63 characters");
    }
    if (label.front() == '-' || label.back() == '-') {
      return refuse("a label neither starts nor ends with '-'");
    }
    start = end + 1;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<GatewayCertificateNames> DeriveGatewayCertificateNames(
    const GatewayConfig& gateway) {
  GatewayCertificateNames names;
  if (gateway.listen.IsWildcard()) {
    AddHost("localhost", names);
    AddHost("127.0.0.1", names);
    AddHost("::1", names);
  } else {
    AddHost(gateway.listen.host, names);
  }
  if (!gateway.public_url.empty()) {
    absl::StatusOr<http::Url> url = http::ParseUrl(gateway.public_url);
    if (!url.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("gateway.public_url {}: {}", gateway.public_url, url.status().message()));
    }
    AddHost(url->host, names);
  }
  BULWARK_RETURN_IF_ERROR(CheckGatewayCertificateNames(names));
  return names;
}

absl::Status CheckGatewayCertificateNames(const GatewayCertificateNames& names) {
  std::size_t count = names.dns.size() + names.ips.size();
  if (count == 0 || count > kMaxGatewayCertificateNames) {
    return absl::InvalidArgumentError(fmt::format("a gateway certificate has 1 to {} names, not {}",
                                                  kMaxGatewayCertificateNames, count));
  }
  std::vector<IpBytes> seen_ips;
  for (const std::string& ip : names.ips) {
    std::optional<IpBytes> parsed = ParseIp(ip);
    if (!parsed.has_value() || IsWildcardIp(*parsed)) {
      return absl::InvalidArgumentError(fmt::format(
          "gateway certificate name '{}' refused: not an IP address (or a wildcard one)", ip));
    }
    if (std::find(seen_ips.begin(), seen_ips.end(), *parsed) != seen_ips.end()) {
      return absl::InvalidArgumentError(
          fmt::format("gateway certificate name '{}' is listed twice", ip));
    }
    seen_ips.push_back(*parsed);
  }
  for (std::size_t i = 0; i < names.dns.size(); ++i) {
    BULWARK_RETURN_IF_ERROR(CheckDnsName(names.dns[i]));
    if (std::find(names.dns.begin(), names.dns.begin() + i, names.dns[i]) !=
        names.dns.begin() + i) {
      return absl::InvalidArgumentError(
          fmt::format("gateway certificate name '{}' is listed twice", names.dns[i]));
    }
  }
  return absl::OkStatus();
}

}  // namespace bulwark::mesh
