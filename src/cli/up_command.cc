// `bulwark up [mesh.yaml]`: the whole mesh on one machine (docs/up.md). The orchestration is in
// src/up/; this file checks the mesh, prepares the state directory, gives the supervisor its
// join tokens (through the authority's admin API) and turns SIGINT/SIGTERM into a stop.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "cli/admin_session.h"
#include "cli/commands.h"
#include "core/files.h"
#include "core/status.h"
#include "fmt/format.h"
#include "up/log_mux.h"
#include "up/plan.h"
#include "up/state.h"
#include "up/supervisor.h"

namespace bulwark::cli {
namespace {

struct UpFlags {
  std::string config = "mesh.yaml";
  std::string state_dir;
  std::uint32_t uid_base = 61000;
};

std::atomic<bool> stop_requested{false};

void RequestStop(int) { stop_requested.store(true); }

// Join tokens through one admin session, renewed before its admin SVID expires.
class JoinTokens {
 public:
  explicit JoinTokens(std::string data_dir) : data_dir_(std::move(data_dir)) {}

  absl::StatusOr<std::string> Create(const std::string& spiffe_id) {
    auto now = std::chrono::steady_clock::now();
    if (!session_.has_value() || now - opened_ > kAdminSvidTtl / 2) {
      BULWARK_ASSIGN_OR_RETURN(AdminSession session, OpenAdminSession(data_dir_, ""));
      session_.emplace(std::move(session));
      opened_ = now;
    }
    nlohmann::json body = {{"spiffe_id", spiffe_id}, {"ttl", "1m"}};
    BULWARK_ASSIGN_OR_RETURN(
        nlohmann::json answer,
        session_->client.CallJson("POST", "/v1/admin/join-tokens", body, &session_->credentials,
                                  std::chrono::seconds(10)));
    std::string token = answer.value("join_token", "");
    if (token.empty()) {
      return absl::InternalError("the authority's answer carries no join_token");
    }
    return token;
  }

 private:
  std::string data_dir_;
  std::optional<AdminSession> session_;
  std::chrono::steady_clock::time_point opened_;
};

absl::StatusOr<std::string> SelfPath() {
  std::error_code error;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) {
    return absl::InternalError(fmt::format("/proc/self/exe: {}", error.message()));
  }
  return self.string();
}

void PrintFirstRun(const up::Plan& plan, const up::PreparedState& state) {
  std::printf(
      "initialised a new authority in %s (root CA serial %s)\n"
      "  admin credentials: the key-encryption key %s/kek.key (mode 0600) is the admin\n"
      "  credential; whoever can read it runs admin commands, e.g.\n"
      "    bulwark authority apikey create --data-dir %s --client alice --scopes \"...\"\n"
      "  back it up and never share it; it is not shown again.\n",
      plan.layout.authority_dir.c_str(), state.root_serial.c_str(),
      plan.layout.authority_dir.c_str(), plan.layout.authority_dir.c_str());
}

void PrintSession(const up::Plan& plan, const up::PreparedSession& session) {
  std::printf(
      "gateway sessions: %s OpenID Connect client %s (redirect URI %s); secret from %s, "
      "cookie key %s (%s)\n",
      session.registered ? "registered the" : "reusing the", session.client_id.c_str(),
      session.redirect_uri.c_str(), session.secret_source.c_str(),
      plan.layout.gateway_session_key().c_str(),
      session.key_created ? "new: earlier sessions end" : "reused");
}

void PrintUrls(const mesh::MeshConfig& mesh, const up::Plan& plan, long ready_ms) {
  std::printf("\nmesh %s is up (ready in %ld ms); state in %s\n", mesh.trust_domain.c_str(),
              ready_ms, plan.layout.dir.c_str());
  if (mesh.gateway.has_value()) {
    std::printf("  gateway      https://%s/  (CA: %s; admin http://%s)\n",
                mesh.gateway->listen.ToString().c_str(), plan.layout.bundle().c_str(),
                plan.gateway_admin->ToString().c_str());
    for (const mesh::RouteConfig& route : mesh.gateway->routes) {
      std::printf("    %-22s -> %s\n", route.pattern.c_str(), route.service.c_str());
    }
  }
  for (const up::SidecarPorts& ports : plan.sidecars) {
    const mesh::ServiceConfig* service = mesh.FindService(ports.service);
    std::printf(
        "  %-12s service 127.0.0.1:%u in its own network namespace; sidecar inbound %s (mTLS), "
        "outbound %s (inside the namespace), admin http://%s\n",
        ports.service.c_str(), service->port, ports.inbound.ToString().c_str(),
        ports.outbound.ToString().c_str(), ports.admin.ToString().c_str());
  }
  std::printf("  logs         %s/<process>.log; Ctrl-C stops everything\n\n",
              plan.layout.logs().c_str());
  std::fflush(stdout);
}

int RunUp(const UpFlags& flags) {
  if (geteuid() != 0) {
    return Fail(
        "bulwark up needs root: it starts every service in a sandbox (its own uid and gid, "
        "private mount and network namespaces, cgroups) and each sidecar in its service's "
        "network namespace; run it with sudo (docs/up.md)");
  }
  absl::StatusOr<mesh::MeshConfig> mesh = CheckMesh(flags.config);
  if (!mesh.ok()) {
    return Fail(std::string(mesh.status().message()));
  }
  absl::StatusOr<std::string> self = SelfPath();
  absl::StatusOr<std::string> text = self.ok() ? core::ReadFile(flags.config) : self.status();
  if (!text.ok()) {
    return Fail(std::string(text.status().message()));
  }
  up::PlanOptions options{.bulwark = *self,
                          .mesh_path = flags.config,
                          .state_dir = flags.state_dir,
                          .uid_base = flags.uid_base};
  absl::StatusOr<up::Plan> plan = up::BuildPlan(*mesh, options, up::PickFreeLoopbackPort);
  if (!plan.ok()) {
    return Fail(std::string(plan.status().message()));
  }
  auto begin = std::chrono::steady_clock::now();
  absl::StatusOr<up::PreparedState> state = up::PrepareState(*mesh, *plan, *text, flags.config);
  if (!state.ok()) {
    return Fail(std::string(state.status().message()));
  }
  if (state->initialised) {
    PrintFirstRun(*plan, *state);
  } else {
    std::printf("reusing the authority in %s\n", plan->layout.authority_dir.c_str());
  }
  if (state->session.has_value()) {
    PrintSession(*plan, *state->session);
  }
  std::fflush(stdout);
  struct sigaction action {};
  action.sa_handler = RequestStop;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);
  up::LogMux logs(stdout);
  JoinTokens tokens(plan->layout.authority_dir);
  up::Supervisor supervisor(
      *plan, logs, {.join_token = [&tokens](const std::string& id) { return tokens.Create(id); }});
  if (absl::Status s = supervisor.Start(); !s.ok()) {
    logs.Say(fmt::format("start failed: {}", s.message()));
    supervisor.Stop();
    return Fail(std::string(s.message()));
  }
  long ready_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - begin)
                      .count();
  PrintUrls(*mesh, *plan, ready_ms);
  supervisor.Run(stop_requested);
  logs.Say("every process stopped");
  return 0;
}

}  // namespace

void AddUpCommand(CLI::App& app, Action& action) {
  static UpFlags flags;
  CLI::App* up = app.add_subcommand(
      "up",
      "Run a whole mesh on this machine: the authority, the gateway, and per service its\n"
      "sandboxed service (own uid/gid, private network and mount namespaces, no capabilities,\n"
      "seccomp, limits from services.<name>.sandbox) with its sidecar (another uid; its\n"
      "outbound listener inside the service's namespace). Needs root.");
  up->add_option("config", flags.config, "mesh.yaml (default ./mesh.yaml)");
  up->add_option("--state-dir", flags.state_dir,
                 "State directory: logs, resolved mesh.yaml, the authority (default: .bulwark "
                 "next to mesh.yaml, the authority in authority.data_dir)");
  up->add_option("--uid-base", flags.uid_base,
                 "First of the uids given to the processes: authority, gateway, then two per "
                 "service (service, sidecar) (default 61000)")
      ->check(CLI::Range(1000u, 2'000'000'000u));
  up->footer(
      "Example:\n  sudo build/bulwark up examples/dvd-rental/mesh.yaml\n"
      "On the first run the authority is initialised in the state directory and its admin\n"
      "credential shown once; later runs reuse it. Every sidecar: address left out of mesh.yaml\n"
      "gets a free loopback port. Join tokens reach the gateway and sidecars on an inherited\n"
      "descriptor. When all are ready, the URLs are printed; every process's output follows,\n"
      "prefixed with its name (and in <state>/logs/<name>.log). A process that exits is\n"
      "restarted after 250 ms, doubling up to 8 s. Ctrl-C or SIGTERM stops everything in\n"
      "reverse order (SIGTERM, SIGKILL after 10 s). See docs/up.md.");
  up->callback([&action] { action = [] { return RunUp(flags); }; });
}

}  // namespace bulwark::cli
