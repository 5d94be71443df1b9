#include "policy/policy.h"

#include <gtest/gtest.h>

#include <string>

#include "mesh/config.h"
#include "policy/path.h"

namespace bulwark::policy {
namespace {

constexpr std::string_view kMesh = R"(trust_domain: td.example
services:
  contract:
    port: 9001
  billing:
    port: 9002
  user:
    port: 9003
    allow:
      - from: contract
        methods: [POST]
        paths:
          - /users/{id}/charge
      - from: [gateway, billing]
        methods: [GET, HEAD]
        paths:
          - /users/{id}
          - /users/{id}/profile
          - /health
      - from: spiffe://td.example/admin/*
        paths:
          - /admin/**
      - from: spiffe://partner.example/**
        methods: [GET]
        paths:
          - /public/**
      - from: spiffe://td.example/svc/billing
        methods: [DELETE]
        paths:
          - /users/{id}
      - from: contract
        methods: [POST]
        paths:
          - /users/**
      - from: spiffe://td.example/svc/*
        methods: [OPTIONS]
)";

ServicePolicy CompileOrDie(std::string_view yaml, std::string_view service) {
  absl::StatusOr<mesh::MeshConfig> mesh = mesh::ParseMeshConfig(yaml, "mesh.yaml");
  EXPECT_TRUE(mesh.ok()) << mesh.status();
  absl::StatusOr<ServicePolicy> policy = ServicePolicy::Compile(*mesh, service);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return *std::move(policy);
}

struct MatchCase {
  const char* peer;
  const char* method;
  const char* path;
  bool allowed;
  int rule;
  DenyReason reason;
};

constexpr DenyReason kNone = DenyReason::kNone;
constexpr DenyReason kCaller = DenyReason::kNoRuleForCaller;
constexpr DenyReason kMethod = DenyReason::kMethod;
constexpr DenyReason kPath = DenyReason::kPath;

TEST(ServicePolicyTest, MatchesPrincipalsMethodsAndTemplatesInRuleOrder) {
  const ServicePolicy policy = CompileOrDie(kMesh, "user");
  ASSERT_EQ(policy.rule_count(), 7u);
  const char* contract = "spiffe://td.example/svc/contract";
  const char* billing = "spiffe://td.example/svc/billing";
  const char* gateway = "spiffe://td.example/gateway";
  const char* alice = "spiffe://td.example/admin/alice";
  const char* partner = "spiffe://partner.example/svc/x";
  const MatchCase cases[] = {
      // Rule order: rule 0 and rule 5 both match; the first one in the file is reported.
      {contract, "POST", "/users/42/charge", true, 0, kNone},
      {contract, "POST", "/users/42/refund", true, 5, kNone},
      {contract, "POST", "/users", true, 5, kNone},  // /** includes nothing
      {contract, "GET", "/users/42", false, -1, kMethod},
      {contract, "post", "/users/42/charge", false, -1, kMethod},  // methods are case-sensitive
      {contract, "OPTIONS", "/anything", true, 6, kNone},          // spiffe://td.example/svc/*
      {gateway, "GET", "/users/42", true, 1, kNone},
      {gateway, "HEAD", "/health", true, 1, kNone},
      {gateway, "GET", "/users/42/profile", true, 1, kNone},
      {gateway, "GET", "/users/42/other", false, -1, kPath},
      {gateway, "GET", "/users/", false, -1, kPath},  // a parameter is never empty
      {gateway, "GET", "/users/42/", false, -1, kPath},
      {gateway, "GET", "/users", false, -1, kPath},
      {gateway, "GET", "/health/x", false, -1, kPath},
      {gateway, "POST", "/users/42", false, -1, kMethod},
      {gateway, "OPTIONS", "/users/42", false, -1, kMethod},  // /gateway is not under /svc/
      {billing, "DELETE", "/users/7", true, 4, kNone},
      {billing, "GET", "/users/7/profile", true, 1, kNone},
      {billing, "DELETE", "/users/7/profile", false, -1, kPath},
      {billing, "PUT", "/users/7", false, -1, kMethod},
      {alice, "GET", "/admin", true, 2, kNone},
      {alice, "DELETE", "/admin/x/y", true, 2, kNone},  // no methods: any method
      {alice, "TRACE", "/admin/x", true, 2, kNone},     // including ones mesh.yaml cannot name
      {alice, "GET", "/users/1", false, -1, kPath},
      {"spiffe://td.example/admin/alice/x", "GET", "/admin", false, -1, kCaller},  // /* is one
      {"spiffe://td.example/admin", "GET", "/admin", false, -1, kCaller},
      {partner, "GET", "/public/a/b", true, 3, kNone},
      {partner, "GET", "/public", true, 3, kNone},
      {partner, "POST", "/public", false, -1, kMethod},
      {partner, "GET", "/publicity", false, -1, kPath},
      {"spiffe://td.example/svc/unknown", "OPTIONS", "/x", true, 6, kNone},
      {"spiffe://td.example/svc/unknown", "GET", "/x", false, -1, kMethod},
      {"spiffe://td.example/svc/user", "GET", "/users/1", false, -1, kMethod},
      // The same name in another trust domain is another principal.
      {"spiffe://other.example/svc/contract", "POST", "/users/42/charge", false, -1, kCaller},
      {"spiffe://td.example/svc/contractx", "POST", "/users/42/charge", false, -1, kMethod},
      {"", "GET", "/health", false, -1, kCaller},
  };
  for (const MatchCase& c : cases) {
    Decision d = policy.Decide({c.method, c.path, c.peer});
    EXPECT_EQ(d.allowed, c.allowed) << c.peer << " " << c.method << " " << c.path;
    EXPECT_EQ(d.rule, c.rule) << c.peer << " " << c.method << " " << c.path;
    EXPECT_EQ(d.reason, c.reason) << c.peer << " " << c.method << " " << c.path << ": "
                                  << DenyReasonName(d.reason);
  }
}

TEST(ServicePolicyTest, DefaultDenyWithoutRules) {
  const ServicePolicy policy = CompileOrDie(kMesh, "contract");
  EXPECT_EQ(policy.rule_count(), 0u);
  for (const char* peer : {"spiffe://td.example/svc/user", "spiffe://td.example/gateway", ""}) {
    Decision d = policy.Decide({"GET", "/", peer});
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.reason, kCaller);
    EXPECT_EQ(DenyReasonName(d.reason), "no_rule_for_caller");
  }
}

TEST(ServicePolicyTest, RulesWithoutMethodsOrPathsAllowAnyMethodAndPath) {
  const ServicePolicy policy = CompileOrDie(R"(trust_domain: td
services:
  a:
    port: 1
  b:
    port: 2
    allow:
      - from: a
)",
                                            "b");
  for (const char* method : {"GET", "DELETE", "PROPFIND"}) {
    for (const char* path : {"/", "/x", "/x/y/z/"}) {
      Decision d = policy.Decide({method, path, "spiffe://td/svc/a"});
      EXPECT_TRUE(d.allowed) << method << " " << path;
      EXPECT_EQ(d.rule, 0);
    }
  }
  EXPECT_FALSE(policy.Decide({"GET", "/", "spiffe://td/svc/b"}).allowed);
}

TEST(ServicePolicyTest, DescribesRulesAndNamesReasons) {
  const ServicePolicy policy = CompileOrDie(kMesh, "user");
  EXPECT_EQ(policy.service(), "user");
  EXPECT_EQ(policy.RuleDescription(0), "from contract; methods POST; paths /users/{id}/charge");
  EXPECT_EQ(policy.RuleDescription(1),
            "from gateway, billing; methods GET, HEAD; paths /users/{id}, /users/{id}/profile, "
            "/health");
  EXPECT_EQ(policy.RuleDescription(6),
            "from spiffe://td.example/svc/*; methods OPTIONS; paths any");
  EXPECT_EQ(DenyReasonName(DenyReason::kMethod), "method");
  EXPECT_EQ(DenyReasonName(DenyReason::kPath), "path");
  EXPECT_EQ(DenyReasonName(DenyReason::kCondition), "condition");
  EXPECT_EQ(DenyReasonName(DenyReason::kNone), "");
}

TEST(ServicePolicyTest, UnknownServiceIsNotFound) {
  absl::StatusOr<mesh::MeshConfig> mesh = mesh::ParseMeshConfig(kMesh, "mesh.yaml");
  ASSERT_TRUE(mesh.ok());
  absl::StatusOr<ServicePolicy> policy = ServicePolicy::Compile(*mesh, "nope");
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(policy.status().message(), "mesh.yaml: no service 'nope'");
}

TEST(ServicePolicyTest, TemplateErrorsCiteFileLineColumnAndField) {
  const std::pair<const char*, const char*> cases[] = {
      {"/users/{id}/{id}", "parameter 'id' appears twice"},
      {"/a/**/b", "'**' must be the last segment (as in /files/**)"},
      {"\"/a/{}\"",
       "parameter '{}': a name is a letter or '_' followed by letters, digits and '_'"},
  };
  for (const auto& [path, message] : cases) {
    std::string yaml = std::string(R"(trust_domain: td
services:
  user:
    port: 9001
    allow:
      - from: gateway
        paths:
          - /ok
          - )") + path +
                       "\n";
    absl::StatusOr<mesh::MeshConfig> mesh = mesh::ParseMeshConfig(yaml, "mesh.yaml");
    ASSERT_TRUE(mesh.ok()) << mesh.status();
    absl::StatusOr<ServicePolicy> policy = ServicePolicy::Compile(*mesh, "user");
    ASSERT_FALSE(policy.ok()) << path;
    EXPECT_EQ(policy.status().message(),
              std::string("mesh.yaml:9:13: services.user.allow[0].paths[1]: ") + message);
  }
}

// Requests that try to reach /admin through a rule that only allows /public/**: each is refused
// by normalization or normalized into a path that the policy denies.
TEST(ServicePolicyTest, NormalizationBypassAttemptsStillDenied) {
  const ServicePolicy policy = CompileOrDie(R"(trust_domain: td
services:
  a:
    port: 1
  b:
    port: 2
    allow:
      - from: a
        methods: [GET]
        paths:
          - /public/**
          - /users/{id}
)",
                                            "b");
  const char* attempts[] = {
      "/public/../admin",
      "/public/%2e%2e/admin",
      "/public/%2E%2E/admin",
      "/public/.%2e/admin",
      "/public/%2e%2e%2fadmin",
      "/public%2F..%2Fadmin",
      "/public/..;/admin",
      "/public;/../admin",
      "/public/..\\admin",
      "/public/%5c..%5cadmin",
      "/public/%c0%ae%c0%ae/admin",
      "/public/%c0%af../admin",
      "/public/%e0%80%ae%e0%80%ae/admin",
      "/public/%ef%bc%8e%ef%bc%8e/admin",
      "/public/\xef\xbc\x8e\xef\xbc\x8e\xef\xbc\x8f"
      "admin",
      "/public/..%e2%88%95admin",
      "/public/%00/../../admin",
      "//public/../admin",
      "/./public/./../admin",
      "/users/1/../../admin",
      "/users/%2e%2e/admin",
      "/users/..%00/admin",
      "/%61dmin",
      "/public/../../admin",
  };
  for (const char* raw : attempts) {
    absl::StatusOr<std::string> path = NormalizePath(raw);
    if (!path.ok()) {
      continue;  // refused: the sidecar answers 400
    }
    Decision d = policy.Decide({"GET", *path, "spiffe://td/svc/a"});
    EXPECT_FALSE(d.allowed) << raw << " normalized to " << *path;
    EXPECT_EQ(d.reason, DenyReason::kPath) << raw;
  }
  // And legitimate spellings of allowed paths still match.
  for (const char* raw : {"/public/./a", "/public//a", "/%70ublic/a", "/users/%34%32"}) {
    absl::StatusOr<std::string> path = NormalizePath(raw);
    ASSERT_TRUE(path.ok()) << raw;
    EXPECT_TRUE(policy.Decide({"GET", *path, "spiffe://td/svc/a"}).allowed) << raw;
  }
}

}  // namespace
}  // namespace bulwark::policy
