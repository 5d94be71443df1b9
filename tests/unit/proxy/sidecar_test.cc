// Tests of Sidecar::Reload: what a reload applies (calls, port) and what it refuses because it
// needs a restart (listener addresses, workers, timeouts, trust domain, the service itself).
#include "proxy/sidecar.h"

#include <memory>
#include <string>

#include "asio/io_context.hpp"
#include "core/status.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "tests/support/test_pki.h"

namespace bulwark::proxy {
namespace {

using bulwark::testing::TestPki;

// services a (port 9001, calls `calls` unless empty, sidecar as given) and b.
mesh::MeshConfig Mesh(const std::string& calls, const std::string& sidecar,
                      const std::string& trust_domain = "example.org",
                      const std::string& allow = "") {
  std::string yaml = fmt::format(R"(trust_domain: {}
services:
  a:
    port: 9001
    {}
    {}
    sidecar: {}
  b:
    port: 9002
    sidecar: {{ inbound: "127.0.0.1:15011" }}
)",
                                 trust_domain, calls.empty() ? "" : "calls: " + calls,
                                 allow.empty() ? "" : "allow: " + allow, sidecar);
  absl::StatusOr<mesh::MeshConfig> mesh = mesh::ParseMeshConfig(yaml, "mesh.yaml");
  EXPECT_TRUE(mesh.ok()) << mesh.status() << "\n" << yaml;
  return mesh.ok() ? *std::move(mesh) : mesh::MeshConfig{};
}

constexpr char kListeners[] =
    R"({ inbound: "127.0.0.1:0", outbound: "127.0.0.1:0", admin: "127.0.0.1:0" })";

class SidecarReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(pki_.ok());
    auto svid = std::make_shared<const identity::Svid>(identity::Svid{
        "spiffe://example.org/svc/a", pki_.Credentials("svc_a"), {pki_.Cert("root")}});
    IdentitySource source{[svid] { return svid; }, [](const std::string&) { return false; },
                          nullptr};
    absl::StatusOr<std::unique_ptr<Sidecar>> sidecar =
        Sidecar::Create(io_, Mesh("[b]", kListeners), "a", std::move(source));
    ASSERT_TRUE(sidecar.ok()) << sidecar.status();
    sidecar_ = *std::move(sidecar);
  }
  void TearDown() override { sidecar_.reset(); }

  TestPki pki_;
  asio::io_context io_;
  std::unique_ptr<Sidecar> sidecar_;
};

TEST_F(SidecarReloadTest, AppliesCallsToTheNextRequest) {
  ProxyContextPtr before = sidecar_->context();
  ASSERT_EQ(before->self().calls.size(), 1u);
  ASSERT_TRUE(sidecar_->Reload(Mesh("", kListeners)).ok());
  EXPECT_TRUE(sidecar_->context()->self().calls.empty());
  EXPECT_EQ(before->self().calls.size(), 1u);  // a request already running keeps its snapshot
  // The pools and the client TLS contexts carry over.
  ASSERT_EQ(sidecar_->context()->pools.size(), 1u);
  EXPECT_EQ(sidecar_->context()->pools[0].outbound, before->pools[0].outbound);
  EXPECT_EQ(sidecar_->context()->client_tls, before->client_tls);
}

// Decides GET `path` from b with the policy a request arriving now would see.
bool AllowsFromB(const Sidecar& sidecar, std::string_view path) {
  return sidecar.context()->policy->Decide({"GET", path, "spiffe://example.org/svc/b"}).allowed;
}

TEST_F(SidecarReloadTest, PolicyIsLocalUntilTheAuthoritySendsOne) {
  EXPECT_EQ(sidecar_->context()->policy_version, 0);
  EXPECT_FALSE(AllowsFromB(*sidecar_, "/x"));  // no rule: default deny
  const std::string allow_x = "[{ from: b, paths: [/x] }]";
  ASSERT_TRUE(sidecar_->Reload(Mesh("[b]", kListeners, "example.org", allow_x)).ok());
  EXPECT_TRUE(AllowsFromB(*sidecar_, "/x"));
  // A reload whose policy does not compile keeps everything.
  absl::Status bad =
      sidecar_->Reload(Mesh("", kListeners, "example.org", "[{ from: b, when: 'path.nope' }]"));
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(sidecar_->context()->self().calls.size(), 1u);
  EXPECT_TRUE(AllowsFromB(*sidecar_, "/x"));
  // The authority's version replaces it; requests already running keep their snapshot.
  ProxyContextPtr before = sidecar_->context();
  mesh::MeshConfig y = Mesh("[b]", kListeners, "example.org", "[{ from: b, paths: [/y] }]");
  ASSERT_TRUE(sidecar_->ApplyPolicy(5, y.FindService("a")->allow).ok());
  EXPECT_EQ(sidecar_->context()->policy_version, 5);
  EXPECT_FALSE(AllowsFromB(*sidecar_, "/x"));
  EXPECT_TRUE(AllowsFromB(*sidecar_, "/y"));
  EXPECT_TRUE(before->policy->Decide({"GET", "/x", "spiffe://example.org/svc/b"}).allowed);
  // From now on a local reload changes the rest but not the authority's policy.
  ASSERT_TRUE(sidecar_->Reload(Mesh("", kListeners, "example.org", allow_x)).ok());
  EXPECT_TRUE(sidecar_->context()->self().calls.empty());
  EXPECT_TRUE(AllowsFromB(*sidecar_, "/y"));
  EXPECT_EQ(sidecar_->context()->policy_version, 5);
  // Rules that do not compile are refused and the current policy stays.
  std::vector<mesh::AllowRule> broken = y.FindService("a")->allow;
  broken[0].paths = {"no-slash"};
  EXPECT_FALSE(sidecar_->ApplyPolicy(6, broken).ok());
  EXPECT_EQ(sidecar_->context()->policy_version, 5);
  EXPECT_TRUE(AllowsFromB(*sidecar_, "/y"));
}

TEST_F(SidecarReloadTest, RefusesWhatNeedsARestart) {
  struct Case {
    mesh::MeshConfig mesh;
    std::string message;
  };
  Case cases[] = {
      {Mesh("[b]", R"({ inbound: "127.0.0.1:0", outbound: "127.0.0.1:1", admin: "127.0.0.1:0" })"),
       "services.a.sidecar.outbound changed from 127.0.0.1:0 to 127.0.0.1:1; listener changes "
       "need a restart"},
      {Mesh(R"([{ service: b, listen: "127.0.0.1:0" }])", kListeners),
       "services.a.calls[].listen changed"},
      {Mesh("[b]", R"({ inbound: "127.0.0.1:0", outbound: "127.0.0.1:0", admin: "127.0.0.1:0",
                      workers: 3 })"),
       "workers or timeouts changed"},
      {Mesh("[b]", R"({ inbound: "127.0.0.1:0", outbound: "127.0.0.1:0", admin: "127.0.0.1:0",
                      timeouts: { header: 1s } })"),
       "workers or timeouts changed"},
      {Mesh("[b]", kListeners, "other.org"), "trust_domain changed"},
  };
  for (Case& c : cases) {
    absl::Status s = sidecar_->Reload(std::move(c.mesh));
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
    EXPECT_NE(s.message().find(c.message), std::string::npos) << s;
    EXPECT_EQ(sidecar_->context()->self().calls.size(), 1u);  // unchanged
  }
  absl::StatusOr<mesh::MeshConfig> without_a = mesh::ParseMeshConfig(
      "trust_domain: example.org\nservices:\n  b:\n    port: 9002\n", "mesh.yaml");
  ASSERT_TRUE(without_a.ok());
  absl::Status s = sidecar_->Reload(*std::move(without_a));
  EXPECT_NE(s.message().find("service 'a' is no longer in mesh.yaml"), std::string::npos) << s;
}

}  // namespace
}  // namespace bulwark::proxy
