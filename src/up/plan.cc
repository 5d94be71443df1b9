// The plan is data: tests build one from a mesh.yaml and a fake port picker and read it.
#include "up/plan.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>

#include "core/status.h"
#include "fmt/format.h"
#include "identity/spiffe_id.h"
#include "yaml-cpp/yaml.h"

namespace bulwark::up {
namespace {

namespace fs = std::filesystem;

std::string Absolute(const fs::path& base, const std::string& path) {
  fs::path p(path);
  return (p.is_relative() ? fs::absolute(base / p) : p).lexically_normal().string();
}

bool UnderTmp(const fs::path& given) {
  fs::path path = given.lexically_normal();
  auto first = path.begin();
  return path.is_absolute() && first != path.end() && ++first != path.end() && *first == "tmp";
}

// Refuses a service whose command names a file under /tmp, or whose folder (mesh.yaml's, where
// relative paths are looked up) is there: the sandbox mounts an empty tmpfs on /tmp, so the
// service would not find it.
absl::Status CheckNotUnderTmp(const mesh::MeshConfig& mesh, const mesh::ServiceConfig& service,
                              const std::string& folder) {
  constexpr std::string_view kWhy =
      "a sandboxed service sees a private, empty /tmp, so it could not open it: keep mesh.yaml "
      "and the services' files elsewhere, e.g. under /var/tmp (docs/up.md)";
  const std::vector<std::string>& command = *service.command;
  for (std::size_t i = 0; i < command.size(); ++i) {
    fs::path path(command[i]);
    bool script = i > 0 && !command[i].starts_with("-");
    if (UnderTmp(path) || (UnderTmp(folder) && script && path.is_relative())) {
      return absl::FailedPreconditionError(fmt::format(
          "{}: services.{}.command[{}]: {} is under /tmp; {}", mesh.file_name, service.name, i,
          (fs::path(folder) / path).lexically_normal().string(), kWhy));
    }
  }
  if (UnderTmp(folder)) {
    return absl::FailedPreconditionError(
        fmt::format("{}: services.{} runs in {} (the folder of mesh.yaml), under /tmp; {}",
                    mesh.file_name, service.name, folder, kWhy));
  }
  return absl::OkStatus();
}

std::string ServiceFolder(const PlanOptions& options) {
  return fs::absolute(fs::path(options.mesh_path).parent_path()).lexically_normal().string();
}

absl::StatusOr<mesh::HostPort> OrPicked(const std::optional<mesh::HostPort>& given,
                                        const PortPicker& pick) {
  if (given.has_value()) {
    return *given;
  }
  absl::StatusOr<std::uint16_t> port = pick();
  if (!port.ok()) {
    return port.status();
  }
  return mesh::HostPort{"127.0.0.1", *port};
}

std::string ReadyUrl(const mesh::HostPort& admin) {
  return fmt::format("http://{}/readyz", admin.ToString());
}

ProcessSpec AuthorityProcess(const PlanOptions& options, const StateLayout& layout) {
  ProcessSpec spec{.name = "authority", .kind = ProcessKind::kAuthority};
  spec.argv = {options.bulwark, "authority", "serve", "--config", layout.mesh()};
  spec.uid = spec.gid = options.uid_base;
  spec.ready_file = layout.authority_dir + "/endpoint";
  return spec;
}

ProcessSpec GatewayProcess(const mesh::MeshConfig& mesh, const PlanOptions& options,
                           const StateLayout& layout, const mesh::HostPort& admin) {
  ProcessSpec spec{.name = "gateway", .kind = ProcessKind::kGateway};
  spec.argv = {options.bulwark, "gateway", "--config",       layout.mesh(), "--bundle",
               layout.bundle(), "--admin", admin.ToString(), "--token-fd",  "3"};
  spec.uid = spec.gid = options.uid_base + 1;
  spec.join_id = identity::GatewayId(mesh.trust_domain);
  spec.ready_url = ReadyUrl(admin);
  return spec;
}

ProcessSpec ServiceProcess(const mesh::ServiceConfig& service, const SidecarPorts& ports,
                           const PlanOptions& options, uid_t uid) {
  ProcessSpec spec;
  spec.name = service.name;
  spec.kind = ProcessKind::kService;
  spec.service = service.name;
  spec.argv = *service.command;
  spec.env = {"PATH=/usr/local/bin:/usr/bin:/bin",
              "HOME=/tmp",
              "LANG=C.UTF-8",
              "PYTHONUNBUFFERED=1",
              "PYTHONDONTWRITEBYTECODE=1",
              fmt::format("BULWARK_SERVICE={}", service.name),
              fmt::format("PORT={}", service.port),
              fmt::format("BULWARK_OUTBOUND={}", ports.outbound.ToString())};
  spec.working_directory = ServiceFolder(options);
  spec.uid = uid;
  spec.gid = uid;
  spec.ready_port = service.port;
  spec.limits = service.sandbox;
  return spec;
}

ProcessSpec SidecarProcess(const mesh::MeshConfig& mesh, const mesh::ServiceConfig& service,
                           const SidecarPorts& ports, const PlanOptions& options,
                           const StateLayout& layout, uid_t uid) {
  ProcessSpec spec;
  spec.name = "sidecar-" + service.name;
  spec.kind = ProcessKind::kSidecar;
  spec.service = service.name;
  // Started as root (to join the service's namespace), it drops to --run-as itself.
  spec.argv = {options.bulwark, "sidecar",    "--config", layout.mesh(),
               "--service",     service.name, "--bundle", layout.bundle(),
               "--token-fd",    "3",          "--run-as", fmt::format("{}:{}", uid, uid)};
  spec.uid = uid;
  spec.gid = uid;
  spec.join_id = identity::ServiceId(mesh.trust_domain, service.name);
  spec.ready_url = ReadyUrl(ports.admin);
  return spec;
}

}  // namespace

std::string StateLayout::log(std::string_view process) const {
  return fmt::format("{}/{}.log", logs(), process);
}

StateLayout LayoutFor(const mesh::MeshConfig& mesh, const std::string& mesh_path,
                      const std::string& state_dir) {
  fs::path mesh_dir = fs::path(mesh_path).parent_path();
  StateLayout layout;
  if (!state_dir.empty()) {
    layout.dir = fs::absolute(state_dir).lexically_normal().string();
    layout.authority_dir = layout.dir + "/authority";
  } else {
    layout.dir = Absolute(mesh_dir, ".bulwark");
    layout.authority_dir = Absolute(mesh_dir, mesh.authority.data_dir);
  }
  return layout;
}

absl::StatusOr<std::uint16_t> PickFreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::UnavailableError(fmt::format("socket: {}", std::strerror(errno)));
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
            getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  int saved = errno;
  close(fd);
  if (!ok) {
    return absl::UnavailableError(
        fmt::format("no free port on 127.0.0.1: {}", std::strerror(saved)));
  }
  return ntohs(address.sin_port);
}

absl::StatusOr<Plan> BuildPlan(const mesh::MeshConfig& mesh, const PlanOptions& options,
                               const PortPicker& pick_any) {
  // The kernel may hand out a port it gave before (each pick's socket is closed): never twice.
  std::set<std::uint16_t> picked;
  PortPicker pick = [&pick_any, &picked]() -> absl::StatusOr<std::uint16_t> {
    for (int attempt = 0; attempt < 64; ++attempt) {
      BULWARK_ASSIGN_OR_RETURN(std::uint16_t port, pick_any());
      if (picked.insert(port).second) {
        return port;
      }
    }
    return absl::UnavailableError("no free port on 127.0.0.1 that was not picked already");
  };
  std::uint64_t last_uid = static_cast<std::uint64_t>(options.uid_base) + 1 +
                           2 * static_cast<std::uint64_t>(mesh.services.size());
  if (options.uid_base == 0 || last_uid > std::numeric_limits<std::int32_t>::max()) {
    return absl::InvalidArgumentError(
        fmt::format("--uid-base {}: the mesh needs uids {}..{}, which must be in 1..2^31-1",
                    options.uid_base, options.uid_base, last_uid));
  }
  Plan plan;
  plan.layout = LayoutFor(mesh, options.mesh_path, options.state_dir);
  const StateLayout& layout = plan.layout;
  plan.processes.push_back(AuthorityProcess(options, layout));
  if (mesh.gateway.has_value()) {
    BULWARK_ASSIGN_OR_RETURN(std::uint16_t port, pick());
    plan.gateway_admin = mesh::HostPort{"127.0.0.1", port};
    plan.issue_gateway_tls = !mesh.gateway->tls.has_value();
    plan.processes.push_back(GatewayProcess(mesh, options, layout, *plan.gateway_admin));
  }
  uid_t uid = options.uid_base + 2;
  for (const mesh::ServiceConfig& service : mesh.services) {
    std::string field = fmt::format("services.{}", service.name);
    if (!service.command.has_value()) {
      return absl::InvalidArgumentError(fmt::format(
          "{}: {}.command is not set; bulwark up starts every service (set it, or start the "
          "service and its sidecar yourself, see docs/sidecar.md)",
          mesh.file_name, field));
    }
    if (!service.socket.empty()) {
      return absl::InvalidArgumentError(fmt::format(
          "{}: {}.socket: bulwark up does not run services on Unix sockets yet; give the service "
          "a port (or start it and its sidecar yourself, see docs/sidecar.md)",
          mesh.file_name, field));
    }
    if (service.identity.has_value()) {
      return absl::InvalidArgumentError(fmt::format(
          "{}: {}.identity: bulwark up issues every identity from its authority; remove it",
          mesh.file_name, field));
    }
    BULWARK_RETURN_IF_ERROR(CheckNotUnderTmp(mesh, service, ServiceFolder(options)));
    SidecarPorts ports{.service = service.name};
    for (auto [out, given] : {std::pair{&ports.inbound, &service.sidecar.inbound},
                              std::pair{&ports.outbound, &service.sidecar.outbound},
                              std::pair{&ports.admin, &service.sidecar.admin}}) {
      absl::StatusOr<mesh::HostPort> address = OrPicked(*given, pick);
      if (!address.ok()) {
        return address.status();
      }
      *out = *address;
    }
    plan.processes.push_back(ServiceProcess(service, ports, options, uid));
    plan.processes.push_back(SidecarProcess(mesh, service, ports, options, layout, uid + 1));
    plan.sidecars.push_back(std::move(ports));
    uid += 2;
  }
  for (ProcessSpec& process : plan.processes) {
    process.log_file = layout.log(process.name);
  }
  return plan;
}

absl::StatusOr<std::string> ResolveMeshYaml(std::string_view yaml_text, const Plan& plan,
                                            const std::string& mesh_path) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& error) {
    return absl::InvalidArgumentError(fmt::format("mesh.yaml: {}", error.what()));
  }
  fs::path base = fs::path(mesh_path).parent_path();
  root["authority"]["data_dir"] = plan.layout.authority_dir;
  if (YAML::Node gateway = root["gateway"]; gateway) {
    // Issued by up, or copied there from gateway.tls (readable by the gateway's uid).
    gateway["tls"]["cert"] = plan.layout.gateway_cert();
    gateway["tls"]["key"] = plan.layout.gateway_key();
    // The user's files, or up's own, copied where the gateway's uid may read them.
    if (YAML::Node session = gateway["session"]; session) {
      session["client_secret_file"] = plan.layout.gateway_client_secret();
      session["key_file"] = plan.layout.gateway_session_key();
    }
    for (YAML::Node issuer : gateway["issuers"]) {
      if (issuer["jwks"] && issuer["jwks"].as<std::string>().starts_with("file:")) {
        issuer["jwks"] = "file:" + Absolute(base, issuer["jwks"].as<std::string>().substr(5));
      }
      if (issuer["ca"]) {
        issuer["ca"] = Absolute(base, issuer["ca"].as<std::string>());
      }
    }
  }
  for (const SidecarPorts& ports : plan.sidecars) {
    YAML::Node sidecar = root["services"][ports.service]["sidecar"];
    sidecar["inbound"] = ports.inbound.ToString();
    sidecar["outbound"] = ports.outbound.ToString();
    sidecar["admin"] = ports.admin.ToString();
  }
  YAML::Emitter out;
  out << root;
  return fmt::format(
      "# Written by bulwark up from {}: sidecar ports filled in, paths absolute.\n"
      "# Do not edit; edit the original.\n{}\n",
      fs::absolute(mesh_path).lexically_normal().string(), out.c_str());
}

std::chrono::milliseconds RestartDelay(int failures) {
  int doublings = std::clamp(failures - 1, 0, 5);  // 250 ms * 2^5 = 8 s
  return std::chrono::milliseconds(250) * (1 << doublings);
}

}  // namespace bulwark::up
