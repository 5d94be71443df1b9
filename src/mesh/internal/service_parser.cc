// Parser of one `services.<name>:` entry of mesh.yaml: command, port or socket, calls, allow rules,
// sandbox limits, sidecar addresses, external identity files and OAuth scopes.
#include <algorithm>

#include "core/status.h"
#include "fmt/format.h"
#include "identity/spiffe_id.h"
#include "mesh/internal/parse.h"
#include "tokens/scope.h"

namespace bulwark::mesh::internal {
namespace {

SourcePosition PositionOf(const Field& field) {
  return {field.mark().line + 1, field.mark().column + 1};
}

absl::StatusOr<std::uint32_t> ReadCount(const Field& field, std::int64_t max) {
  BULWARK_ASSIGN_OR_RETURN(std::int64_t value, field.Integer(1, max));
  return static_cast<std::uint32_t>(value);
}

absl::StatusOr<CallConfig> ParseCall(const Field& field, ParseState& state) {
  CallConfig call;
  if (field.IsScalar()) {
    BULWARK_ASSIGN_OR_RETURN(call.service, ReadServiceRef(field, state, false));
    return call;
  }
  if (!field.IsMap()) {
    return field.TypeError("a service name or {service, listen}");
  }
  BULWARK_ASSIGN_OR_RETURN(MapReader map, MapReader::Create(field, {"service", "listen"}));
  BULWARK_ASSIGN_OR_RETURN(Field service, map.Require("service"));
  BULWARK_ASSIGN_OR_RETURN(call.service, ReadServiceRef(service, state, false));
  if (std::optional<Field> listen = map.Get("listen")) {
    BULWARK_ASSIGN_OR_RETURN(call.listen, ReadListen(*listen, state));
  }
  return call;
}

absl::StatusOr<std::vector<std::string>> ParseFrom(const Field& field, const ParseState& state) {
  std::vector<Field> elements;
  if (field.IsScalar()) {
    elements.push_back(field);
  } else {
    BULWARK_ASSIGN_OR_RETURN(elements, field.Elements());
    BULWARK_RETURN_IF_ERROR(field.StringList().status());
  }
  std::vector<std::string> from;
  for (const Field& element : elements) {
    BULWARK_ASSIGN_OR_RETURN(std::string text, element.String());
    if (text.starts_with("spiffe://")) {
      absl::StatusOr<identity::SpiffeIdPattern> pattern = identity::SpiffeIdPattern::Parse(text);
      if (!pattern.ok()) {
        return element.Error(std::string(pattern.status().message()));
      }
      from.push_back(std::move(text));
      continue;
    }
    BULWARK_ASSIGN_OR_RETURN(std::string name, ReadServiceRef(element, state, true));
    from.push_back(std::move(name));
  }
  return from;
}

absl::Status ParsePaths(const Field& field, AllowRule& rule) {
  BULWARK_ASSIGN_OR_RETURN(std::vector<Field> elements, field.Elements());
  BULWARK_ASSIGN_OR_RETURN(rule.paths, field.StringList());
  for (std::size_t i = 0; i < rule.paths.size(); ++i) {
    const std::string& path = rule.paths[i];
    if (path.front() != '/' || path.find_first_of(" \t?#") != std::string::npos) {
      return elements[i].Error(
          fmt::format("'{}' must start with '/' and have no spaces, '?' or '#'", path));
    }
    rule.path_positions.push_back(PositionOf(elements[i]));
  }
  return absl::OkStatus();
}

absl::StatusOr<AllowRule> ParseAllow(const Field& field, const ParseState& state) {
  BULWARK_ASSIGN_OR_RETURN(MapReader map,
                           MapReader::Create(field, {"from", "methods", "paths", "when"}));
  AllowRule rule;
  rule.position = PositionOf(field);
  BULWARK_ASSIGN_OR_RETURN(Field from, map.Require("from"));
  BULWARK_ASSIGN_OR_RETURN(rule.from, ParseFrom(from, state));
  if (std::optional<Field> methods = map.Get("methods")) {
    BULWARK_ASSIGN_OR_RETURN(rule.methods, ReadMethods(*methods));
  }
  if (std::optional<Field> paths = map.Get("paths")) {
    BULWARK_RETURN_IF_ERROR(ParsePaths(*paths, rule));
  }
  if (std::optional<Field> when = map.Get("when")) {
    BULWARK_ASSIGN_OR_RETURN(std::string text, when->String());
    SourcePosition position = PositionOf(*when);
    if (when->node().Tag() == "!" && text.find('\n') == std::string::npos) {
      position.column += 1;  // a quoted scalar: the mark is at its opening quote
    }
    rule.when = WhenExpression{std::move(text), position};
  }
  return rule;
}

absl::StatusOr<SandboxConfig> ParseSandbox(const Field& field) {
  BULWARK_ASSIGN_OR_RETURN(MapReader map, MapReader::Create(field, {"memory", "nofile", "nproc"}));
  SandboxConfig sandbox;
  if (std::optional<Field> memory = map.Get("memory")) {
    BULWARK_ASSIGN_OR_RETURN(sandbox.memory, memory->Size());
    if (sandbox.memory < (1ULL << 20)) {
      return memory->Error("must be at least 1MiB");
    }
  }
  if (std::optional<Field> nofile = map.Get("nofile")) {
    BULWARK_ASSIGN_OR_RETURN(sandbox.nofile, ReadCount(*nofile, 1 << 20));
  }
  if (std::optional<Field> nproc = map.Get("nproc")) {
    BULWARK_ASSIGN_OR_RETURN(sandbox.nproc, ReadCount(*nproc, 1 << 16));
  }
  return sandbox;
}

absl::StatusOr<SidecarTimeouts> ParseTimeouts(const Field& field) {
  BULWARK_ASSIGN_OR_RETURN(MapReader map,
                           MapReader::Create(field, {"handshake", "header", "idle", "drain"}));
  SidecarTimeouts timeouts;
  for (auto [key, target] :
       {std::pair{"handshake", &timeouts.handshake}, std::pair{"header", &timeouts.header},
        std::pair{"idle", &timeouts.idle}, std::pair{"drain", &timeouts.drain}}) {
    if (std::optional<Field> f = map.Get(key)) {
      BULWARK_ASSIGN_OR_RETURN(*target, f->Duration());
      if (*target > std::chrono::hours(1)) {
        return f->Error("must be at most 1h");
      }
    }
  }
  return timeouts;
}

absl::StatusOr<SidecarConfig> ParseSidecar(const Field& field, ParseState& state) {
  BULWARK_ASSIGN_OR_RETURN(MapReader map,
                           MapReader::Create(field, {"inbound", "outbound", "admin", "workers",
                                                     "timeouts", "token_skew"}));
  SidecarConfig sidecar;
  for (auto [key, target] :
       {std::pair{"inbound", &sidecar.inbound}, std::pair{"outbound", &sidecar.outbound},
        std::pair{"admin", &sidecar.admin}}) {
    if (std::optional<Field> f = map.Get(key)) {
      BULWARK_ASSIGN_OR_RETURN(*target, ReadListen(*f, state));
    }
  }
  if (std::optional<Field> workers = map.Get("workers")) {
    BULWARK_ASSIGN_OR_RETURN(sidecar.workers, ReadCount(*workers, 256));
  }
  if (std::optional<Field> timeouts = map.Get("timeouts")) {
    BULWARK_ASSIGN_OR_RETURN(sidecar.timeouts, ParseTimeouts(*timeouts));
  }
  if (std::optional<Field> skew = map.Get("token_skew")) {
    BULWARK_ASSIGN_OR_RETURN(sidecar.token_skew, skew->Duration());
    if (sidecar.token_skew > std::chrono::minutes(5)) {
      return skew->Error("must be at most 5m");
    }
  }
  return sidecar;
}

absl::StatusOr<IdentityFiles> ParseIdentity(const Field& field) {
  BULWARK_ASSIGN_OR_RETURN(MapReader map, MapReader::Create(field, {"svid", "key", "bundle"}));
  IdentityFiles files;
  for (auto [key, target] : {std::pair{"svid", &files.svid}, std::pair{"key", &files.key},
                             std::pair{"bundle", &files.bundle}}) {
    BULWARK_ASSIGN_OR_RETURN(Field f, map.Require(key));
    BULWARK_ASSIGN_OR_RETURN(*target, f.String());
  }
  return files;
}

absl::Status ParseCalls(const Field& field, ParseState& state, ServiceConfig& service) {
  BULWARK_ASSIGN_OR_RETURN(std::vector<Field> elements, field.Elements());
  for (const Field& element : elements) {
    BULWARK_ASSIGN_OR_RETURN(CallConfig call, ParseCall(element, state));
    service.calls.push_back(std::move(call));
  }
  return absl::OkStatus();
}

// Reads `scopes: [a, b]`: each one RFC 6749 §3.3 scope token, none repeated.
absl::StatusOr<std::vector<std::string>> ParseScopes(const Field& field) {
  BULWARK_ASSIGN_OR_RETURN(std::vector<Field> elements, field.Elements());
  BULWARK_ASSIGN_OR_RETURN(std::vector<std::string> scopes, field.StringList());
  for (std::size_t i = 0; i < scopes.size(); ++i) {
    absl::StatusOr<std::vector<std::string>> parsed = tokens::ParseScope(scopes[i], 1);
    if (!parsed.ok() || parsed->size() != 1) {
      return elements[i].Error(fmt::format(
          "'{}' is not one OAuth scope (printable ASCII without spaces, '\"' or '\\')", scopes[i]));
    }
  }
  return scopes;
}

// Reads `socket:`: an absolute path that fits in sockaddr_un, used by no other service.
absl::StatusOr<std::string> ReadSocketPath(const Field& field, ParseState& state) {
  absl::StatusOr<std::string> read = field.String();
  if (!read.ok()) {
    return read.status();
  }
  const std::string& path = *read;
  if (!path.starts_with('/')) {
    return field.Error(fmt::format("'{}' must be an absolute path (as in /run/app.sock)", path));
  }
  if (path.size() > kMaxSocketPathBytes) {
    return field.Error(fmt::format("'{}' is {} bytes long; a Unix socket path has at most {}", path,
                                   path.size(), kMaxSocketPathBytes));
  }
  if (std::any_of(path.begin(), path.end(), [](char c) { return c < 0x20 || c == 0x7f; })) {
    return field.Error("the path must not contain control characters");
  }
  for (const auto& [other, other_path] : state.sockets) {
    if (other == path) {
      return field.Error(fmt::format("socket {} is already used by {}", path, other_path));
    }
  }
  state.sockets.emplace_back(path, field.path());
  return path;
}

// Reads where the service listens: exactly one of `port` (TCP on 127.0.0.1) and `socket`.
absl::Status ParseListener(const MapReader& map, ParseState& state, ServiceConfig& service) {
  std::optional<Field> port = map.Get("port");
  std::optional<Field> socket = map.Get("socket");
  if (port.has_value() && socket.has_value()) {
    return socket->Error("set either port (TCP on 127.0.0.1) or socket (a Unix socket), not both");
  }
  if (socket.has_value()) {
    BULWARK_ASSIGN_OR_RETURN(service.socket, ReadSocketPath(*socket, state));
    return absl::OkStatus();
  }
  if (!port.has_value()) {
    absl::StatusOr<Field> required = map.Require("port");  // the error, at the service
    return absl::InvalidArgumentError(
        fmt::format("{} (the service's TCP port on 127.0.0.1; or set socket: the path of its Unix "
                    "socket)",
                    required.status().message()));
  }
  BULWARK_ASSIGN_OR_RETURN(std::int64_t port_value, port->Integer(1, 65535));
  service.port = static_cast<std::uint16_t>(port_value);
  state.addresses.push_back({{"127.0.0.1", service.port}, true, port->path(), port->mark()});
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ServiceConfig> ParseService(const Field& key, const Field& value,
                                           ParseState& state) {
  BULWARK_RETURN_IF_ERROR(CheckServiceName(key));
  BULWARK_ASSIGN_OR_RETURN(MapReader map,
                           MapReader::Create(value, {"command", "port", "socket", "calls", "allow",
                                                     "sandbox", "sidecar", "identity", "scopes"}));
  ServiceConfig service;
  service.name = key.node().Scalar();
  if (std::optional<Field> command = map.Get("command")) {
    if (command->IsScalar()) {
      return command->TypeError("a list of strings (as in [python3, app.py])");
    }
    BULWARK_ASSIGN_OR_RETURN(std::vector<Field> elements, command->Elements());
    std::vector<std::string> argv;
    for (const Field& element : elements) {
      BULWARK_ASSIGN_OR_RETURN(std::string arg, element.String());
      argv.push_back(std::move(arg));
    }
    service.command = std::move(argv);
  }
  BULWARK_RETURN_IF_ERROR(ParseListener(map, state, service));
  if (std::optional<Field> calls = map.Get("calls")) {
    BULWARK_RETURN_IF_ERROR(ParseCalls(*calls, state, service));
  }
  if (std::optional<Field> allow = map.Get("allow")) {
    BULWARK_ASSIGN_OR_RETURN(std::vector<Field> elements, allow->Elements());
    for (const Field& element : elements) {
      BULWARK_ASSIGN_OR_RETURN(AllowRule rule, ParseAllow(element, state));
      service.allow.push_back(std::move(rule));
    }
  }
  if (std::optional<Field> sandbox = map.Get("sandbox")) {
    BULWARK_ASSIGN_OR_RETURN(service.sandbox, ParseSandbox(*sandbox));
  }
  if (std::optional<Field> sidecar = map.Get("sidecar")) {
    BULWARK_ASSIGN_OR_RETURN(service.sidecar, ParseSidecar(*sidecar, state));
  }
  if (std::optional<Field> identity = map.Get("identity")) {
    BULWARK_ASSIGN_OR_RETURN(service.identity, ParseIdentity(*identity));
  }
  if (std::optional<Field> scopes = map.Get("scopes")) {
    BULWARK_ASSIGN_OR_RETURN(service.scopes, ParseScopes(*scopes));
  }
  return service;
}

}  // namespace bulwark::mesh::internal
