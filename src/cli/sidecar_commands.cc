// `bulwark sidecar`: the per-service proxy (docs/sidecar.md).
#include <string>

#include "cli/commands.h"
#include "core/status.h"
#include "core/units.h"
#include "fmt/format.h"
#include "proxy/run.h"
#include "sandbox/netns.h"
#include "sandbox/privileges.h"

namespace bulwark::cli {
namespace {

struct SidecarFlags {
  proxy::RunOptions run;
  std::string token_file;
  int token_fd = -1;
  std::string timeout = "30s";
  int service_netns_pid = 0;
  std::string run_as;
};

// With --service-netns-pid: a thread joins the service's network namespace while we are still
// root, and every service-facing socket is made there (docs/up.md). With --run-as: then root is
// dropped for good. Returns the thread, which must outlive the sidecar.
absl::StatusOr<sandbox::NamespaceThreadPtr> EnterServiceNamespace(SidecarFlags& flags) {
  sandbox::NamespaceThreadPtr netns;
  if (flags.service_netns_pid > 0) {
    BULWARK_ASSIGN_OR_RETURN(netns, sandbox::NamespaceThread::Start(flags.service_netns_pid));
    flags.run.sidecar.service_sockets = [ns = netns.get()](int family) -> absl::StatusOr<int> {
      BULWARK_ASSIGN_OR_RETURN(sandbox::UniqueFd fd, ns->Socket(family));
      return fd.Release();
    };
  }
  if (!flags.run_as.empty()) {
    BULWARK_ASSIGN_OR_RETURN(sandbox::UserIds ids, sandbox::ParseUserIds(flags.run_as));
    BULWARK_RETURN_IF_ERROR(sandbox::DropPrivileges(ids));
  }
  return netns;
}

int RunSidecarCommand(SidecarFlags& flags) {
  absl::StatusOr<core::Seconds> timeout = core::ParseDuration(flags.timeout);
  if (!timeout.ok()) {
    return Fail(fmt::format("--upstream-timeout: {}", timeout.status().message()));
  }
  flags.run.sidecar.upstream_timeout = *timeout;
  if (flags.token_fd >= 0 || !flags.token_file.empty()) {
    absl::StatusOr<std::string> token = ReadJoinToken(flags.token_file, flags.token_fd);
    if (!token.ok()) {
      return Fail(std::string(token.status().message()));
    }
    flags.run.join_token = *token;
  }
  absl::StatusOr<sandbox::NamespaceThreadPtr> netns = EnterServiceNamespace(flags);
  if (!netns.ok()) {
    return Fail(fmt::format("--service-netns-pid/--run-as: {}", netns.status().message()));
  }
  if (absl::Status s = proxy::RunSidecar(flags.run); !s.ok()) {
    return Fail(std::string(s.message()));
  }
  return 0;
}

}  // namespace

void AddSidecarCommands(CLI::App& app, Action& action) {
  static SidecarFlags flags;
  CLI::App* sidecar = app.add_subcommand(
      "sidecar",
      "Run the mTLS sidecar of one service: inbound (mTLS, verified SPIFFE ID passed as\n"
      "X-Bulwark-Peer-Id to the service on 127.0.0.1:<port>), outbound (plain loopback listener;\n"
      "the service calls http://<service>/path through it), admin (/healthz, /readyz, /metrics).\n"
      "Upstream connections are kept alive and reused. Timeouts: services.<name>.sidecar.timeouts\n"
      "in mesh.yaml (handshake, header, idle, drain).\n"
      "SIGTERM/SIGINT: drain (stop accepting, finish requests in flight, exit 0).\n"
      "Authorization: default deny; inbound requests pass only when a rule of\n"
      "services.<service>.allow admits them (403 otherwise, 400 for a path that normalization\n"
      "refuses); the normalized path is forwarded. The policy comes from --config (version 0),\n"
      "then from the authority (GET /v1/policy long-poll) when the service has no identity files.\n"
      "SIGHUP: reopen --access-log and --decision-log (logrotate: rename, then HUP) and reread\n"
      "--config (calls, port, peers, and the policy while it is local); listener changes need a\n"
      "restart.\n"
      "Workers: services.<service>.sidecar.workers threads (default: one per core), each with its\n"
      "own event loop and upstream pools; connections are spread over them round robin.\n"
      "Example: bulwark sidecar --config mesh.yaml --service a --bundle bundle.pem \\\n"
      "           --token-file a.token --access-log - --decision-log decisions.jsonl\n"
      "See docs/sidecar.md.");
  sidecar->add_option("--config", flags.run.config, "mesh.yaml describing the mesh")->required();
  sidecar->add_option("--service", flags.run.service, "This sidecar's service (a key of services)")
      ->required();
  sidecar->add_option(
      "--authority", flags.run.authority_url,
      "Authority URL, e.g. https://127.0.0.1:7443 (default: https://<authority.listen> "
      "from mesh.yaml); with identity: files, used only for its token keys (/oauth2/jwks)");
  sidecar->add_option("--bundle", flags.run.bundle,
                      "Trust bundle to authenticate the authority (its bundle.pem); required "
                      "unless the service has identity: files");
  sidecar->add_option("--token-file", flags.token_file,
                      "File (mode 0600) holding a join token for spiffe://<td>/svc/<service>");
  sidecar->add_option("--token-fd", flags.token_fd,
                      "Inherited descriptor to read the join token from (instead of --token-file)");
  sidecar->add_option("--upstream-timeout", flags.timeout,
                      "Bound on each forwarded exchange, e.g. 30s, 2m (default 30s)");
  sidecar->add_option("--access-log", flags.run.access_log,
                      "Append one JSON line per request to this file ('-' for stdout); written "
                      "by a separate thread, lines are dropped (and counted) when it falls "
                      "behind (default: no access log)");
  sidecar->add_option("--decision-log", flags.run.decision_log,
                      "Append one JSON line per authorization decision to this file ('-' for "
                      "stdout): peer, method, normalized path, allow/deny, rule or reason, trace "
                      "id, policy version; dropped (and counted) when it falls behind");
  sidecar->add_option(
      "--service-netns-pid", flags.service_netns_pid,
      "Make the service-facing sockets (outbound and calls[].listen listeners, "
      "connections to 127.0.0.1:<port>) inside the network namespace of this "
      "process (the sandboxed service; needs root, see --run-as). Set by bulwark up");
  sidecar->add_option("--run-as", flags.run_as,
                      "UID:GID to drop to (every capability with it) once the service's namespace "
                      "is joined and the join token read. Set by bulwark up");
  sidecar
      ->add_option("--decision-sample", flags.run.decision_sample,
                   "Log every deny and 1 allow in N (default 1: every decision)")
      ->check(CLI::Range(1u, 1'000'000u));
  sidecar->callback([&action] { action = [] { return RunSidecarCommand(flags); }; });
}

}  // namespace bulwark::cli
