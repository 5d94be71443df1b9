#include "up/plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "fmt/format.h"
#include "mesh/config.h"

namespace bulwark::up {
namespace {

constexpr char kMesh[] = R"(trust_domain: dvd.example
authority: { listen: 127.0.0.1:7443 }
gateway:
  listen: 127.0.0.1:8443
  issuers:
    - { name: partner, issuer: https://issuer.test, jwks: file:keys/jwks.json, audiences: [x] }
  routes:
    - { prefix: /rentals, service: contract, auth: [none] }
services:
  contract:
    command: [python3, contract.py]
    port: 9001
    calls: [user]
    allow: [{ from: gateway, paths: [/rentals] }]
    sidecar: { inbound: 127.0.0.1:15001 }
  user:
    command: [python3, user.py]
    port: 9002
    allow: [{ from: contract, methods: [POST], paths: ["/users/{id}/charge"] }]
)";

// Hands out 20001, 20002, ... so that the plan is deterministic.
PortPicker Counter() {
  auto next = std::make_shared<std::uint16_t>(20000);
  return [next]() -> absl::StatusOr<std::uint16_t> { return ++*next; };
}

mesh::MeshConfig Parse(const std::string& text) {
  absl::StatusOr<mesh::MeshConfig> mesh = mesh::ParseMeshConfig(text, "/srv/dvd/mesh.yaml");
  EXPECT_TRUE(mesh.ok()) << mesh.status();
  return *mesh;
}

PlanOptions Options() {
  return {.bulwark = "/usr/bin/bulwark",
          .mesh_path = "/srv/dvd/mesh.yaml",
          .state_dir = "/var/lib/dvd",
          .uid_base = 61000};
}

bool Has(const std::vector<std::string>& argv, const std::string& flag, const std::string& value) {
  auto it = std::find(argv.begin(), argv.end(), flag);
  return it != argv.end() && it + 1 != argv.end() && *(it + 1) == value;
}

TEST(PlanTest, StartsAuthorityThenGatewayThenEachServiceBeforeItsSidecar) {
  absl::StatusOr<Plan> plan = BuildPlan(Parse(kMesh), Options(), Counter());
  ASSERT_TRUE(plan.ok()) << plan.status();
  std::vector<std::string> names;
  for (const ProcessSpec& p : plan->processes) {
    names.push_back(p.name);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"authority", "gateway", "contract", "sidecar-contract",
                                             "user", "sidecar-user"}));
  EXPECT_EQ(plan->processes[0].ready_file, "/var/lib/dvd/authority/endpoint");
  EXPECT_TRUE(Has(plan->processes[0].argv, "--config", "/var/lib/dvd/mesh.yaml"));
  EXPECT_EQ(plan->processes[2].kind, ProcessKind::kService);
  EXPECT_EQ(plan->processes[2].working_directory, "/srv/dvd");
  EXPECT_EQ(plan->processes[2].ready_port, 9001);
  EXPECT_EQ(plan->processes[5].log_file, "/var/lib/dvd/logs/sidecar-user.log");
}

TEST(PlanTest, EveryProcessHasItsOwnNonRootUidAndTheSidecarDropsToIt) {
  absl::StatusOr<Plan> plan = BuildPlan(Parse(kMesh), Options(), Counter());
  ASSERT_TRUE(plan.ok()) << plan.status();
  std::set<uid_t> uids;
  for (const ProcessSpec& p : plan->processes) {
    EXPECT_NE(p.uid, 0u) << p.name;
    EXPECT_EQ(p.uid, p.gid) << p.name;
    uids.insert(p.uid);
  }
  EXPECT_EQ(uids.size(), plan->processes.size());
  const ProcessSpec& sidecar = plan->processes[3];
  EXPECT_EQ(sidecar.kind, ProcessKind::kSidecar);
  EXPECT_TRUE(Has(sidecar.argv, "--run-as", fmt::format("{}:{}", sidecar.uid, sidecar.gid)));
  EXPECT_NE(sidecar.uid, plan->processes[2].uid);  // not its service's
}

TEST(PlanTest, JoinTokensGoOnDescriptor3AndNeverInArgvOrEnv) {
  absl::StatusOr<Plan> plan = BuildPlan(Parse(kMesh), Options(), Counter());
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->processes[1].join_id, "spiffe://dvd.example/gateway");
  EXPECT_EQ(plan->processes[3].join_id, "spiffe://dvd.example/svc/contract");
  EXPECT_FALSE(plan->processes[0].join_id.has_value());
  EXPECT_FALSE(plan->processes[2].join_id.has_value());  // a service never joins
  for (const ProcessSpec& p : plan->processes) {
    if (p.join_id) {
      EXPECT_TRUE(Has(p.argv, "--token-fd", "3")) << p.name;
    }
    for (const std::string& arg : p.argv) {
      EXPECT_EQ(arg.find("token-file"), std::string::npos) << p.name;
    }
  }
}

TEST(PlanTest, PicksPortsOnlyForOmittedSidecarAddresses) {
  absl::StatusOr<Plan> plan = BuildPlan(Parse(kMesh), Options(), Counter());
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->sidecars.size(), 2u);
  EXPECT_EQ(plan->gateway_admin->ToString(), "127.0.0.1:20001");
  EXPECT_EQ(plan->sidecars[0].inbound.ToString(), "127.0.0.1:15001");  // as written
  EXPECT_EQ(plan->sidecars[0].outbound.ToString(), "127.0.0.1:20002");
  EXPECT_EQ(plan->sidecars[0].admin.ToString(), "127.0.0.1:20003");
  EXPECT_EQ(plan->sidecars[1].inbound.ToString(), "127.0.0.1:20004");
  EXPECT_EQ(plan->processes[3].ready_url, "http://127.0.0.1:20003/readyz");
  EXPECT_EQ(plan->processes[1].ready_url, "http://127.0.0.1:20001/readyz");
  // The service finds its sidecar's outbound listener in its environment.
  const std::vector<std::string>& env = plan->processes[2].env;
  EXPECT_NE(std::find(env.begin(), env.end(), "BULWARK_OUTBOUND=127.0.0.1:20002"), env.end());
  EXPECT_NE(std::find(env.begin(), env.end(), "PORT=9001"), env.end());
}

TEST(PlanTest, RefusesWhatUpCannotRun) {
  std::string no_command = kMesh;
  no_command.replace(no_command.find("    command: [python3, user.py]\n"),
                     std::string("    command: [python3, user.py]\n").size(), "");
  absl::StatusOr<Plan> plan = BuildPlan(Parse(no_command), Options(), Counter());
  EXPECT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("services.user.command is not set"), std::string::npos)
      << plan.status();

  std::string on_socket = kMesh;
  on_socket.replace(on_socket.find("    port: 9002\n"), std::string("    port: 9002\n").size(),
                    "    socket: /run/user.sock\n");
  plan = BuildPlan(Parse(on_socket), Options(), Counter());
  EXPECT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find(
                "services.user.socket: bulwark up does not run services on Unix sockets yet"),
            std::string::npos)
      << plan.status();

  PortPicker none = []() -> absl::StatusOr<std::uint16_t> {
    return absl::UnavailableError("no free port");
  };
  EXPECT_EQ(BuildPlan(Parse(kMesh), Options(), none).status().message(), "no free port");
  PlanOptions high = Options();
  high.uid_base = 2'147'483'645;
  EXPECT_FALSE(BuildPlan(Parse(kMesh), high, Counter()).ok());
}

TEST(PlanTest, RefusesServiceFilesUnderTmpWhichTheSandboxHides) {
  // mesh.yaml under /tmp: the relative script would be looked up in the service's empty /tmp.
  PlanOptions in_tmp = Options();
  in_tmp.mesh_path = "/tmp/dvd/mesh.yaml";
  absl::Status status = BuildPlan(Parse(kMesh), in_tmp, Counter()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("services.contract.command[1]: /tmp/dvd/contract.py is under "
                                  "/tmp; a sandboxed service sees a private, empty /tmp"),
            std::string::npos)
      << status;
  // An absolute script path under /tmp, with mesh.yaml elsewhere (also through "..").
  for (const char* script : {"/tmp/contract.py", "/var/../tmp/x/contract.py"}) {
    std::string text = kMesh;
    text.replace(text.find("contract.py"), std::string("contract.py").size(), script);
    status = BuildPlan(Parse(text), Options(), Counter()).status();
    EXPECT_NE(status.message().find("services.contract.command[1]"), std::string::npos)
        << script << ": " << status;
  }
  // Under /var/tmp, or a folder merely named tmp elsewhere, is fine.
  for (const char* path : {"/var/tmp/dvd/mesh.yaml", "/srv/tmp/mesh.yaml", "/tmpx/mesh.yaml"}) {
    PlanOptions options = Options();
    options.mesh_path = path;
    EXPECT_TRUE(BuildPlan(Parse(kMesh), options, Counter()).ok()) << path;
  }
}

TEST(PlanTest, StateDefaultsToDotBulwarkNextToMeshYaml) {
  StateLayout layout = LayoutFor(Parse(kMesh), "/srv/dvd/mesh.yaml", "");
  EXPECT_EQ(layout.dir, "/srv/dvd/.bulwark");
  EXPECT_EQ(layout.authority_dir, "/srv/dvd/.bulwark/authority");  // authority.data_dir
  EXPECT_EQ(LayoutFor(Parse(kMesh), "/srv/dvd/mesh.yaml", "/tmp/s").authority_dir,
            "/tmp/s/authority");
}

TEST(PlanTest, ResolvedMeshYamlHasThePickedPortsAndAbsolutePaths) {
  absl::StatusOr<Plan> plan = BuildPlan(Parse(kMesh), Options(), Counter());
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_TRUE(plan->issue_gateway_tls);
  absl::StatusOr<std::string> text = ResolveMeshYaml(kMesh, *plan, "/srv/dvd/mesh.yaml");
  ASSERT_TRUE(text.ok()) << text.status();
  absl::StatusOr<mesh::MeshConfig> resolved = mesh::ParseMeshConfig(*text, "resolved");
  ASSERT_TRUE(resolved.ok()) << resolved.status() << "\n" << *text;
  EXPECT_EQ(resolved->authority.data_dir, "/var/lib/dvd/authority");
  EXPECT_EQ(resolved->gateway->tls->cert, "/var/lib/dvd/gateway/cert.pem");
  EXPECT_EQ(resolved->gateway->tls->key, "/var/lib/dvd/gateway/key.pem");
  EXPECT_EQ(resolved->gateway->issuers[0].jwks, "file:/srv/dvd/keys/jwks.json");
  const mesh::ServiceConfig* user = resolved->FindService("user");
  EXPECT_EQ(user->sidecar.inbound->ToString(), "127.0.0.1:20004");
  EXPECT_EQ(user->sidecar.outbound->ToString(), "127.0.0.1:20005");
  EXPECT_EQ(user->sidecar.admin->ToString(), "127.0.0.1:20006");
  // Everything else is as written.
  EXPECT_EQ(user->allow.size(), 1u);
  EXPECT_EQ(resolved->FindService("contract")->calls[0].service, "user");
  EXPECT_FALSE(ResolveMeshYaml("a: [", *plan, "/srv/dvd/mesh.yaml").ok());
}

TEST(PlanTest, ResolvedMeshYamlPointsTheSessionAtTheStateDirectorysFiles) {
  std::string text = kMesh;
  text.replace(text.find("  routes:"), 0,
               "  session: { client_secret_file: secrets/gw, key_file: /etc/k, lifetime: 2h }\n");
  absl::StatusOr<Plan> plan = BuildPlan(Parse(text), Options(), Counter());
  ASSERT_TRUE(plan.ok()) << plan.status();
  absl::StatusOr<std::string> resolved_text = ResolveMeshYaml(text, *plan, "/srv/dvd/mesh.yaml");
  ASSERT_TRUE(resolved_text.ok()) << resolved_text.status();
  absl::StatusOr<mesh::MeshConfig> resolved = mesh::ParseMeshConfig(*resolved_text, "resolved");
  ASSERT_TRUE(resolved.ok()) << resolved.status() << "\n" << *resolved_text;
  const mesh::SessionConfig& session = *resolved->gateway->session;
  EXPECT_EQ(session.client_secret_file, "/var/lib/dvd/gateway/client-secret");
  EXPECT_EQ(session.key_file, "/var/lib/dvd/gateway/session.key");
  EXPECT_EQ(session.lifetime, std::chrono::hours(2));  // the rest as written
}

TEST(PlanTest, RestartDelayDoublesFrom250MsUpTo8s) {
  using std::chrono::milliseconds;
  EXPECT_EQ(RestartDelay(1), milliseconds(250));
  EXPECT_EQ(RestartDelay(2), milliseconds(500));
  EXPECT_EQ(RestartDelay(3), milliseconds(1000));
  EXPECT_EQ(RestartDelay(6), milliseconds(8000));
  EXPECT_EQ(RestartDelay(60), milliseconds(8000));
  EXPECT_EQ(RestartDelay(0), milliseconds(250));
}

TEST(PlanTest, PicksAFreeLoopbackPort) {
  absl::StatusOr<std::uint16_t> port = PickFreeLoopbackPort();
  ASSERT_TRUE(port.ok()) << port.status();
  EXPECT_GT(*port, 0);
}

}  // namespace
}  // namespace bulwark::up
