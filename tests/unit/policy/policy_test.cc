#include "policy/policy.h"

#include <gtest/gtest.h>

#include <string>

#include "mesh/config.h"
#include "policy/path.h"
#include "tokens/txn_token.h"

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

constexpr std::string_view kWhenMesh = R"(trust_domain: td
services:
  contract:
    port: 1
  user:
    port: 2
    allow:
      - from: contract
        methods: [POST]
        paths:
          - /users/{id}/charge
        when: token.sub == path.id && "rentals:charge" in token.scope
      - from: contract
        methods: [POST]
        paths:
          - /users/{id}/charge
          - /admin/{id}/charge/**
        when: token.admin == true && peer.service == "contract" && query.force == "1"
      - from: [contract, gateway]
        methods: [GET]
        paths:
          - /users/{id}
        when: headers.x-tenant == "a" || peer.service == "gateway"
)";

TEST(ServicePolicyTest, WhenIsEvaluatedOnStructuralMatchesInRuleOrder) {
  const ServicePolicy policy = CompileOrDie(kWhenMesh, "user");
  const nlohmann::json own = {{"sub", "42"}, {"scope", "rentals:charge profile"}};
  const nlohmann::json other = {{"sub", "43"}, {"scope", "rentals:charge"}};
  const nlohmann::json no_scope = {{"sub", "42"}, {"scope", "profile"}};
  const nlohmann::json admin = {{"sub", "7"}, {"admin", true}};
  http::Headers tenant_a;
  tenant_a.Add("X-Tenant", "a");
  http::Headers tenant_b;
  tenant_b.Add("X-Tenant", "b");
  const char* contract = "spiffe://td/svc/contract";
  struct Case {
    const char* peer;
    const char* method;
    const char* path;
    const nlohmann::json* claims;
    const char* query;
    const http::Headers* headers;
    int rule;  // -1: denied
    DenyReason reason;
  };
  const Case cases[] = {
      {contract, "POST", "/users/42/charge", &own, "", nullptr, 0, kNone},
      // Another user's id: the confused-deputy case.
      {contract, "POST", "/users/43/charge", &own, "", nullptr, 0, DenyReason::kCondition},
      {contract, "POST", "/users/43/charge", &other, "", nullptr, 0, kNone},
      {contract, "POST", "/users/42/charge", &other, "", nullptr, 0, DenyReason::kCondition},
      {contract, "POST", "/users/42/charge", &no_scope, "", nullptr, 0, DenyReason::kCondition},
      {contract, "POST", "/users/42/charge", nullptr, "", nullptr, 0, DenyReason::kCondition},
      // Rule 0 fails, rule 1 allows.
      {contract, "POST", "/users/42/charge", &admin, "force=1", nullptr, 1, kNone},
      {contract, "POST", "/users/42/charge", &admin, "force=0", nullptr, 0, DenyReason::kCondition},
      {contract, "POST", "/admin/9/charge/x/y", &admin, "force=1", nullptr, 1, kNone},
      {contract, "GET", "/users/42", nullptr, "", &tenant_a, 2, kNone},
      {contract, "GET", "/users/42", nullptr, "", &tenant_b, 2, DenyReason::kCondition},
      {contract, "GET", "/users/42", nullptr, "", nullptr, 2, DenyReason::kCondition},
      {"spiffe://td/gateway", "GET", "/users/42", nullptr, "", nullptr, 2, kNone},
      // No structural match: the when is not evaluated and the reason is the structure.
      {contract, "POST", "/users/42/refund", &own, "", nullptr, -1, kPath},
      {contract, "DELETE", "/users/42/charge", &own, "", nullptr, -1, kMethod},
  };
  for (const Case& c : cases) {
    Decision d = policy.Decide({c.method, c.path, c.peer, c.claims, c.query, c.headers});
    const bool allowed = c.reason == kNone;
    EXPECT_EQ(d.allowed, allowed) << c.method << " " << c.path << "?" << c.query;
    EXPECT_EQ(d.rule, c.rule) << c.method << " " << c.path << "?" << c.query;
    EXPECT_EQ(d.reason, c.reason) << c.method << " " << c.path << "?" << c.query;
  }
}

// path.<name> is the decoded segment, the id the service reads, whatever the spelling: the
// request goes through NormalizePath first, as in the sidecar.
TEST(ServicePolicyTest, PathParamsInWhenAreComparedDecoded) {
  const ServicePolicy policy = CompileOrDie(kWhenMesh, "user");
  const char* contract = "spiffe://td/svc/contract";
  struct Case {
    const char* sub;
    const char* raw_path;
    bool allowed;
  };
  const Case cases[] = {
      // Unreserved escapes, decoded by NormalizePath already.
      {"alice", "/users/%61lice/charge", true},
      {"bob", "/users/%61lice/charge", false},
      // Reserved and non-ASCII characters stay encoded in the path: decoded for the compare.
      {"al@ice", "/users/al%40ice/charge", true},
      {"al@ice", "/users/al%40Ice/charge", false},
      {"j\xc3\xb6rg", "/users/j%C3%B6rg/charge", true},
      {"j\xc3\xb6rg", "/users/j\xc3\xb6rg/charge", true},
      {"a b", "/users/a%20b/charge", true},
      {"a+b", "/users/a+b/charge", true},  // '+' is not a space in a path
      {"a b", "/users/a+b/charge", false},
      // The attack: a user whose id is the encoded spelling of another user's id. The service
      // decodes /users/al%40ice to al@ice, so the encoded form must not match "al%40ice".
      {"al%40ice", "/users/al%40ice/charge", false},
      {"al%40ice", "/users/al%2540ice/charge", true},  // %25 is '%': the service reads al%40ice
  };
  for (const Case& c : cases) {
    const nlohmann::json claims = {{"sub", c.sub}, {"scope", "rentals:charge"}};
    absl::StatusOr<std::string> path = NormalizePath(c.raw_path);
    ASSERT_TRUE(path.ok()) << c.raw_path << ": " << path.status();
    Decision d = policy.Decide({"POST", *path, contract, &claims});
    EXPECT_EQ(d.allowed, c.allowed) << c.sub << " " << c.raw_path << " (" << *path << ")";
  }
}

// The claims of transaction tokens as the token exchange mints them: a partner's user "alice"
// is "partner:alice" (sub_iss "partner"), the authority's own "alice" stays "alice".
nlohmann::json TxnClaims(const char* subject_issuer, const char* subject) {
  tokens::TxnTokenClaims c;
  c.issuer = "https://authority.td";
  c.audience = "spiffe://td";
  c.txn = "dHhu";
  c.subject = subject;
  c.subject_issuer = subject_issuer;
  c.scope = {"rentals:charge"};
  c.requesting_workload = "spiffe://td/gateway";
  return tokens::TxnTokenClaimsToJson(c);
}

TEST(ServicePolicyTest, APartnersUserNeverPassesForTheLocalUserOfTheSameName) {
  const ServicePolicy policy = CompileOrDie(R"(trust_domain: td
services:
  contract:
    port: 1
  user:
    port: 2
    allow:
      - from: contract
        paths: ["/users/{id}/charge"]
        when: token.sub == path.id
      - from: contract
        paths: ["/local/{id}/charge"]
        when: token.sub_iss == "local" && token.sub == path.id
)",
                                            "user");
  const nlohmann::json partner = TxnClaims("partner", "partner:alice");
  const nlohmann::json local = TxnClaims("local", "alice");
  const char* contract = "spiffe://td/svc/contract";
  auto allowed = [&](const char* path, const nlohmann::json& claims) {
    return policy.Decide({"POST", path, contract, &claims}).allowed;
  };
  EXPECT_TRUE(allowed("/users/alice/charge", local));
  EXPECT_FALSE(allowed("/users/alice/charge", partner));
  EXPECT_TRUE(allowed("/users/partner:alice/charge", partner));
  EXPECT_TRUE(allowed("/local/alice/charge", local));
  EXPECT_FALSE(allowed("/local/alice/charge", partner));
  EXPECT_FALSE(allowed("/local/partner:alice/charge", partner));
}

TEST(ServicePolicyTest, WhenMayOnlyUseParamsThatEveryTemplateBinds) {
  std::string yaml = std::string(kWhenMesh);
  yaml.replace(yaml.find("query.force == \"1\""), 18, "path.id == \"x\"");
  EXPECT_TRUE(ServicePolicy::Compile(*mesh::ParseMeshConfig(yaml, "mesh.yaml"), "user").ok());
  std::string unbound = std::string(kWhenMesh);
  unbound.replace(unbound.find("/admin/{id}/charge/**"), 21, "/admin/{uid}/charge/**");
  unbound.replace(unbound.find("query.force == \"1\""), 18, "path.id == \"x\"");
  absl::StatusOr<mesh::MeshConfig> mesh = mesh::ParseMeshConfig(unbound, "mesh.yaml");
  ASSERT_TRUE(mesh.ok()) << mesh.status();
  absl::StatusOr<ServicePolicy> policy = ServicePolicy::Compile(*mesh, "user");
  ASSERT_FALSE(policy.ok());
  // The expression compiler points into the `when` of rule 1 (line 18).
  const std::string message(policy.status().message());
  EXPECT_TRUE(message.starts_with("mesh.yaml:18:")) << message;
  EXPECT_NE(message.find("'id'"), std::string::npos) << message;
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
