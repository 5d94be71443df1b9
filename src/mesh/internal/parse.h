// The section parsers of mesh.yaml and the state they share: the declared service names (for
// reference checks) and every address and port in use (for clash checks). Not thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "mesh/config.h"
#include "mesh/internal/yaml_reader.h"

namespace bulwark::mesh::internal {

// An address or port claimed by one field, remembered to report clashes.
struct AddressUse {
  HostPort address;
  bool is_service_port = false;
  std::string path;
  YAML::Mark mark;
};

struct ParseState {
  std::vector<std::string> service_names;  // from the keys of `services`, in file order
  std::vector<AddressUse> addresses;
  std::vector<std::pair<std::string, std::string>> sockets;  // services' socket paths, by field
};

// The longest Unix socket path (sockaddr_un's sun_path, less its terminating NUL).
inline constexpr std::size_t kMaxSocketPathBytes = 107;

// Reads a "host:port" listen address and records it for the clash check.
absl::StatusOr<HostPort> ReadListen(const Field& field, ParseState& state);
// Reads an https:// URL with something after the scheme.
absl::StatusOr<std::string> ReadHttpsUrl(const Field& field);
// Reads a list of HTTP methods (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS).
absl::StatusOr<std::vector<std::string>> ReadMethods(const Field& field);
// Reads a service name and checks that such a service is declared; with `allow_gateway`,
// "gateway" is accepted too.
absl::StatusOr<std::string> ReadServiceRef(const Field& field, const ParseState& state,
                                           bool allow_gateway);
// Checks the syntax of a service name (a DNS label: a-z, 0-9, '-').
absl::Status CheckServiceName(const Field& key);

// Parses the `gateway:` section.
absl::StatusOr<GatewayConfig> ParseGateway(const Field& field, ParseState& state);
// Parses one `services.<name>:` entry; `key` is the name's field.
absl::StatusOr<ServiceConfig> ParseService(const Field& key, const Field& value, ParseState& state);

}  // namespace bulwark::mesh::internal
