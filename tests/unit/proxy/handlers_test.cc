// Tests of the sidecar's handlers called directly: peer checks and header rewriting inbound
// (against a real plain backend), the calls[] check outbound, and the admin endpoints.
#include "proxy/handlers.h"

#include <algorithm>
#include <cctype>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "asio/co_spawn.hpp"
#include "asio/io_context.hpp"
#include "core/status.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "proxy/headers.h"
#include "tests/support/running_server.h"
#include "tests/support/test_pki.h"

namespace bulwark::proxy {
namespace {

using namespace std::chrono_literals;
using bulwark::testing::RunningServer;
using bulwark::testing::TestPki;

// Runs a handler coroutine to completion on a private io_context.
http::Response Await(asio::awaitable<http::Response> handler) {
  std::optional<http::Response> result;
  asio::io_context io;
  asio::co_spawn(io, std::move(handler), [&](std::exception_ptr e, http::Response r) {
    result = e ? http::Response{599} : std::move(r);
  });
  io.run_for(10s);
  return result.value_or(http::Response{598});
}

// Answers with the request's headers as a JSON object (lowercased names, repeated joined).
http::Handler HeaderEcho() {
  return [](http::Request request, const http::ConnectionInfo&) -> asio::awaitable<http::Response> {
    nlohmann::json headers = nlohmann::json::object();
    for (const http::Header& h : request.headers.all()) {
      std::string name = h.name;
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      headers[name] =
          headers.contains(name) ? headers[name].get<std::string>() + "," + h.value : h.value;
    }
    http::Response response;
    response.headers.Set("Keep-Alive", "timeout=5");
    response.headers.Set("Proxy-Backend", "1");
    response.body = nlohmann::json{{"path", request.target}, {"headers", headers}}.dump();
    co_return response;
  };
}

class HandlersTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = std::make_unique<TestPki>(); }
  static void TearDownTestSuite() { pki_.reset(); }
  void SetUp() override { ASSERT_TRUE(pki_->ok()); }

  // A context for service "b" on `port`, which "a" may call (GET /, /hello, /public/**); b may
  // call nothing.
  ProxyContextPtr Context(std::uint16_t port, std::string revoked = "") {
    std::string yaml = fmt::format(R"(trust_domain: example.org
services:
  a:
    port: {}
    calls: [b]
  b:
    port: {}
    sidecar: {{ inbound: "127.0.0.1:11", outbound: "127.0.0.1:12", admin: "127.0.0.1:13" }}
    allow:
      - {{ from: a, methods: [GET], paths: ["/", /hello, "/public/**"] }}
)",
                                   port == 1 ? 2 : port - 1, port);
    absl::StatusOr<mesh::MeshConfig> mesh = mesh::ParseMeshConfig(yaml, "mesh.yaml");
    BULWARK_CHECK(mesh.ok());
    auto svid = std::make_shared<const identity::Svid>(identity::Svid{
        "spiffe://example.org/svc/b", pki_->Credentials("svc_b"), {pki_->Cert("root")}});
    IdentitySource source{[svid] { return svid; },
                          [revoked](const std::string& serial) { return serial == revoked; }};
    absl::StatusOr<policy::ServicePolicy> policy = policy::ServicePolicy::Compile(*mesh, "b");
    BULWARK_CHECK(policy.ok());
    auto context = std::make_shared<ProxyContext>(
        ProxyContext{*std::move(mesh), "b", std::move(source), SidecarOptions{5s, {}}});
    context->policy = std::make_shared<const policy::ServicePolicy>(*std::move(policy));
    return context;
  }
  static http::ConnectionInfo From(const std::string& leaf) {
    http::ConnectionInfo info;
    if (!leaf.empty()) {
      info.peer_certificate = pki_->Cert(leaf);
    }
    return info;
  }
  static http::Request Get(std::string target) {
    http::Request request{"GET", std::move(target)};
    request.headers.Add("Host", "b");
    return request;
  }

  static inline std::unique_ptr<TestPki> pki_;
};

TEST_F(HandlersTest, InboundPassesVerifiedPeerIdAndStripsHopByHop) {
  RunningServer backend(nullptr, HeaderEcho());
  ASSERT_TRUE(backend.ok());
  http::Request request = Get("/hello?x=1");
  request.headers.Add(std::string(kPeerIdHeader), "spiffe://example.org/svc/admin");
  request.headers.Add("Connection", "X-Private");
  request.headers.Add("X-Private", "secret");
  request.headers.Add("X-Public", "ok");
  http::Response r =
      Await(HandleInbound(Context(backend.port()), std::move(request), From("svc_a")));
  ASSERT_EQ(r.status, 200) << r.body;
  nlohmann::json body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["path"], "/hello?x=1");
  EXPECT_EQ(body["headers"]["x-bulwark-peer-id"], "spiffe://example.org/svc/a");
  EXPECT_EQ(body["headers"]["x-public"], "ok");
  EXPECT_FALSE(body["headers"].contains("x-private"));
  EXPECT_FALSE(r.headers.Get("Keep-Alive").has_value());
  EXPECT_FALSE(r.headers.Get("Proxy-Backend").has_value());
}

TEST_F(HandlersTest, InboundRefusesRevokedMissingAndForeignPeers) {
  RunningServer backend(nullptr, HeaderEcho());
  ASSERT_TRUE(backend.ok());
  std::string serial = pki_->Cert("svc_a").SerialHex();
  http::Response revoked =
      Await(HandleInbound(Context(backend.port(), serial), Get("/"), From("svc_a")));
  EXPECT_EQ(revoked.status, 403);
  EXPECT_NE(revoked.body.find("revoked"), std::string::npos) << revoked.body;
  EXPECT_EQ(Await(HandleInbound(Context(backend.port()), Get("/"), From(""))).status, 403);
  http::Response foreign =
      Await(HandleInbound(Context(backend.port()), Get("/"), From("foreign_td")));
  EXPECT_EQ(foreign.status, 403);
  EXPECT_NE(foreign.body.find("trust domain example.org"), std::string::npos) << foreign.body;
  http::Response two = Await(HandleInbound(Context(backend.port()), Get("/"), From("two_ids")));
  EXPECT_EQ(two.status, 403);
  EXPECT_NE(two.body.find("exactly one"), std::string::npos) << two.body;
}

TEST_F(HandlersTest, InboundRefusesTxnTokensItCannotVerify) {
  RunningServer backend(nullptr, HeaderEcho());
  ASSERT_TRUE(backend.ok());
  http::Request request = Get("/");
  request.headers.Add(std::string(kTxnTokenHeader), "eyJhbGciOiJub25lIn0.e30.");
  // This context has no token filter: a token is refused, not passed on unverified.
  http::Response r =
      Await(HandleInbound(Context(backend.port()), std::move(request), From("svc_a")));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"], "invalid_token");
  EXPECT_EQ(r.body.find("token filter"), std::string::npos) << "the reason leaked: " << r.body;
}

TEST_F(HandlersTest, InboundReports502WhenTheServiceIsDown) {
  http::Response r = Await(HandleInbound(Context(1), Get("/"), From("svc_a")));
  EXPECT_EQ(r.status, 502);
  nlohmann::json body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["error"], "bad_gateway");
  EXPECT_NE(body["error_description"].get<std::string>().find("service 'b'"), std::string::npos);
}

TEST_F(HandlersTest, OutboundRefusesTargetsNotInCalls) {
  http::Request request = Get("/");
  request.headers.Set("Host", "a");
  http::Response r = Await(HandleOutbound(Context(9000), std::nullopt, std::move(request)));
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("may not call 'a'"), std::string::npos) << r.body;
  http::Response no_host =
      Await(HandleOutbound(Context(9000), std::nullopt, http::Request{"GET", "/"}));
  EXPECT_EQ(no_host.status, 400);
}

TEST_F(HandlersTest, AdminHealthAndReadiness) {
  EXPECT_EQ(Await(HandleAdmin(Context(9000), http::Request{"GET", "/healthz"})).status, 200);
  http::Response ready = Await(HandleAdmin(Context(9000), http::Request{"GET", "/readyz"}));
  EXPECT_EQ(ready.status, 200);
  EXPECT_NE(ready.body.find("spiffe://example.org/svc/b"), std::string::npos);
  EXPECT_EQ(Await(HandleAdmin(Context(9000), http::Request{"GET", "/nope"})).status, 404);
}

TEST_F(HandlersTest, RequestsAreCountedAndLoggedAndServedOnMetrics) {
  std::string lines;
  std::string metrics_text;
  {
    auto log = std::make_shared<AccessLog>([&](std::string_view l) { lines += l; }, 16);
    ProxyContextPtr base = Context(9000);
    auto context = std::make_shared<ProxyContext>(*base);
    context->options.access_log = log;
    http::Request request = Get("/x?token=secret");
    request.headers.Set("Host", "a");
    request.headers.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    EXPECT_EQ(Await(HandleOutbound(context, std::nullopt, std::move(request))).status, 403);
    http::Response scrape = Await(HandleAdmin(context, http::Request{"GET", "/metrics"}));
    EXPECT_EQ(scrape.status, 200);
    EXPECT_EQ(*scrape.headers.Get("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    metrics_text = scrape.body;
  }  // the log's writer has written everything once the context and log are gone
  EXPECT_NE(metrics_text.find(
                R"(bulwark_sidecar_requests_total{direction="outbound",peer="a",code="4xx"} 1)"),
            std::string::npos)
      << metrics_text;
  EXPECT_NE(metrics_text.find("bulwark_sidecar_svid_expiry_seconds "), std::string::npos);
  nlohmann::json line = nlohmann::json::parse(lines);
  EXPECT_EQ(line["direction"], "outbound");
  EXPECT_EQ(line["peer"], "a");
  EXPECT_EQ(line["path"], "/x");
  EXPECT_EQ(line["status"], 403);
  EXPECT_EQ(line["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
}

// The targets a backend received, for tests that check what never reached it.
struct Seen {
  std::mutex mu;
  std::vector<std::string> targets;
};

TEST_F(HandlersTest, InboundEnforcesThePolicyOnTheNormalizedPathAndForwardsIt) {
  auto seen = std::make_shared<Seen>();
  RunningServer backend(nullptr,
                        [seen](http::Request request,
                               const http::ConnectionInfo&) -> asio::awaitable<http::Response> {
                          std::lock_guard<std::mutex> lock(seen->mu);
                          seen->targets.push_back(request.target);
                          co_return http::Response{};
                        });
  ASSERT_TRUE(backend.ok());
  std::string lines;
  {
    auto context = std::make_shared<ProxyContext>(*Context(backend.port()));
    context->options.decision_log =
        std::make_shared<DecisionLog>([&](std::string_view l) { lines += l; }, 1);
    context->policy_version = 7;
    struct Case {
      std::string method, target, peer;
      int status;
    };
    std::vector<Case> cases = {
        {"GET", "//public//./x?q=%2F", "svc_a", 200},  // forwarded as /public/x?q=%2F
        {"GET", "/admin", "svc_a", 403},               // no template matches
        {"GET", "/public/../admin", "svc_a", 403},     // resolves to /admin
        {"GET", "/public/%2e%2e/admin", "svc_a", 403},
        {"GET", "/public/..%2fadmin", "svc_a", 400},  // encoded slash: refused
        {"GET", "/public/x;jsessionid=1", "svc_a", 400},
        {"POST", "/public/x", "svc_a", 403},  // method
        {"GET", "/public/x", "svc_b", 403},   // b is not a caller of b
    };
    for (const Case& c : cases) {
      http::Request request{c.method, c.target};
      http::Response r = Await(HandleInbound(context, std::move(request), From(c.peer)));
      EXPECT_EQ(r.status, c.status) << c.method << " " << c.target << ": " << r.body;
      if (c.status == 403) {
        EXPECT_EQ(r.body, R"({"error":"forbidden","error_description":"not allowed"})");
      }
    }
    http::Response scrape = Await(HandleAdmin(context, http::Request{"GET", "/metrics"}));
    EXPECT_NE(scrape.body.find(R"(policy_decisions_total{decision="deny",rule="path"} 3)"),
              std::string::npos)
        << scrape.body;
    EXPECT_NE(scrape.body.find("bulwark_sidecar_policy_version 7\n"), std::string::npos);
  }
  EXPECT_EQ(seen->targets, std::vector<std::string>{"/public/x?q=%2F"});
  std::vector<nlohmann::json> records;
  std::size_t start = 0;
  for (std::size_t end; (end = lines.find('\n', start)) != std::string::npos; start = end + 1) {
    records.push_back(nlohmann::json::parse(lines.substr(start, end - start)));
  }
  ASSERT_EQ(records.size(), 8u) << lines;
  EXPECT_EQ(records[0]["decision"], "allow");
  EXPECT_EQ(records[0]["path"], "/public/x");
  EXPECT_EQ(records[0]["rule"], 0);
  EXPECT_EQ(records[0]["policy_version"], 7);
  EXPECT_EQ(records[2]["path"], "/admin");
  EXPECT_EQ(records[2]["reason"], "path");
  EXPECT_TRUE(records[4]["reason"].get<std::string>().starts_with("bad_path: ")) << records[4];
  EXPECT_EQ(records[6]["reason"], "method");
  EXPECT_EQ(records[7]["reason"], "no_rule_for_caller");
}

TEST_F(HandlersTest, AForgedPeerIdHeaderCannotSatisfyAHeaderCondition) {
  RunningServer backend(nullptr, HeaderEcho());
  ASSERT_TRUE(backend.ok());
  absl::StatusOr<mesh::MeshConfig> mesh = mesh::ParseMeshConfig(R"(trust_domain: example.org
services:
  b:
    port: 9
    allow:
      - from: "spiffe://example.org/**"
        when: headers.x-bulwark-peer-id == "spiffe://example.org/svc/admin"
)",
                                                                "mesh.yaml");
  ASSERT_TRUE(mesh.ok()) << mesh.status();
  absl::StatusOr<policy::ServicePolicy> policy = policy::ServicePolicy::Compile(*mesh, "b");
  ASSERT_TRUE(policy.ok()) << policy.status();
  auto context = std::make_shared<ProxyContext>(*Context(backend.port()));
  context->policy = std::make_shared<const policy::ServicePolicy>(*std::move(policy));
  // The policy sees the headers the service will get: the verified ID replaced the forged one.
  http::Request request = Get("/");
  request.headers.Add(std::string(kPeerIdHeader), "spiffe://example.org/svc/admin");
  EXPECT_EQ(Await(HandleInbound(context, std::move(request), From("svc_a"))).status, 403);
}

TEST_F(HandlersTest, InboundWithoutAPolicyDeniesEverything) {
  RunningServer backend(nullptr, HeaderEcho());
  ASSERT_TRUE(backend.ok());
  auto context = std::make_shared<ProxyContext>(*Context(backend.port()));
  context->policy = nullptr;
  EXPECT_EQ(Await(HandleInbound(context, Get("/"), From("svc_a"))).status, 403);
}

}  // namespace
}  // namespace bulwark::proxy
