// What `bulwark up` runs, as a value: the processes of a mesh in start order (authority,
// gateway, then per service its sandboxed service and its sidecar), their command lines, uids,
// readiness checks, log files and the loopback ports picked for every omitted `sidecar:`
// address; and the resolved mesh.yaml those processes read. Built by pure functions from the
// parsed mesh.yaml (docs/up.md); the Supervisor (up/supervisor.h) executes it. Thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "mesh/config.h"

namespace bulwark::up {

// Where the state of a mesh lives (all absolute paths).
struct StateLayout {
  std::string dir;            // 0755: the state directory
  std::string authority_dir;  // the authority's data directory (0700)

  std::string mesh() const { return dir + "/mesh.yaml"; }     // the resolved mesh.yaml
  std::string bundle() const { return dir + "/bundle.pem"; }  // trust bundle, 0644
  std::string logs() const { return dir + "/logs"; }          // <process>.log each
  std::string gateway_cert() const { return dir + "/gateway/cert.pem"; }
  std::string gateway_key() const { return dir + "/gateway/key.pem"; }  // 0600, the gateway's
  // gateway.session: the OpenID Connect client's secret and the cookie key (0600, the gateway's)
  std::string gateway_client_secret() const { return dir + "/gateway/client-secret"; }
  std::string gateway_session_key() const { return dir + "/gateway/session.key"; }
  std::string log(std::string_view process) const;
};

// Returns the layout for `mesh_path`: `state_dir` when given (the authority in
// <state_dir>/authority), else `.bulwark` next to mesh.yaml (the authority in
// authority.data_dir, relative to mesh.yaml's folder). Paths are made absolute against the
// working directory.
StateLayout LayoutFor(const mesh::MeshConfig& mesh, const std::string& mesh_path,
                      const std::string& state_dir);

enum class ProcessKind { kAuthority, kGateway, kService, kSidecar };

// One process of the mesh.
struct ProcessSpec {
  std::string name;  // "authority", "gateway", "<service>", "sidecar-<service>"
  ProcessKind kind = ProcessKind::kAuthority;
  std::string service;            // kService, kSidecar: the service
  std::vector<std::string> argv;  // a sidecar gets --service-netns-pid appended at start
  std::vector<std::string> env;   // kService: its whole environment; others inherit none
  std::string working_directory;  // kService: mesh.yaml's folder
  uid_t uid = 0;                  // its own user and group, never 0
  gid_t gid = 0;
  std::optional<std::string> join_id;  // a one-time join token for this SPIFFE ID on fd 3
  // Readiness: the file appears (authority endpoint), GET <url> answers 200 (/readyz of an
  // admin listener), or 127.0.0.1:<port> accepts inside the service's network namespace.
  std::string ready_file;
  std::string ready_url;
  std::uint16_t ready_port = 0;
  mesh::SandboxConfig limits;  // kService
  std::string log_file;
};

// The resolved listeners of one service's sidecar.
struct SidecarPorts {
  std::string service;
  mesh::HostPort inbound;
  mesh::HostPort outbound;  // inside the service's network namespace
  mesh::HostPort admin;
};

struct Plan {
  StateLayout layout;
  std::vector<ProcessSpec> processes;  // in start order; stopped in reverse
  std::vector<SidecarPorts> sidecars;  // in the order of services
  std::optional<mesh::HostPort> gateway_admin;
  bool issue_gateway_tls = false;  // gateway.tls unset: up issues one from the authority's CA
};

struct PlanOptions {
  std::string bulwark;     // absolute path of the bulwark binary
  std::string mesh_path;   // mesh.yaml as given on the command line
  std::string state_dir;   // --state-dir, or empty
  uid_t uid_base = 61000;  // authority, gateway, then two per service (service, sidecar)
};

// Returns a free port on 127.0.0.1 (or why there is none); a seam for tests.
using PortPicker = std::function<absl::StatusOr<std::uint16_t>()>;
// Binds 127.0.0.1:0, reads the port the kernel chose and closes the socket.
absl::StatusOr<std::uint16_t> PickFreeLoopbackPort();

// Builds the plan for `mesh` (already validated). Ports: each unset sidecar address gets
// 127.0.0.1:<pick()>; the gateway's admin listener too. Errors: a service without `command`
// (up starts every service), a service using identity files (up issues identities), a service
// whose command names a file under /tmp or runs in a folder under /tmp (a sandboxed service sees
// a private, empty /tmp), a uid past 2^31, or `pick` failing.
absl::StatusOr<Plan> BuildPlan(const mesh::MeshConfig& mesh, const PlanOptions& options,
                               const PortPicker& pick);

// Returns mesh.yaml `yaml_text` rewritten for the processes of `plan`: the picked sidecar
// addresses filled in, authority.data_dir and every relative file path made absolute (relative
// to the folder of `mesh_path`, the original file), gateway.tls set to the state directory's copy,
// gateway.session's client_secret_file and key_file to the state directory's files. Comments are
// not kept. Errors: the text does not parse as YAML.
absl::StatusOr<std::string> ResolveMeshYaml(std::string_view yaml_text, const Plan& plan,
                                            const std::string& mesh_path);

// Returns how long to wait before restarting a process that failed `failures` times in a row
// (1, 2, ...): 250 ms doubling each time, at most 8 s.
std::chrono::milliseconds RestartDelay(int failures);

}  // namespace bulwark::up
