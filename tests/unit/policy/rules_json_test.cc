// Tests of the wire form of allow rules: a round trip decides exactly as the original, positions
// survive into compiler messages, and malformed input is refused with the rule and field named.
#include "policy/rules_json.h"

#include <gtest/gtest.h>

#include <string>

#include "mesh/config.h"

namespace bulwark::policy {
namespace {

constexpr std::string_view kMesh = R"(trust_domain: td.example
services:
  contract:
    port: 9001
  user:
    port: 9003
    allow:
      - from: contract
        methods: [POST]
        paths:
          - /users/{id}/charge
        when: token.sub == path.id
      - from: [gateway]
        paths: [/public/**]
)";

mesh::MeshConfig Mesh() {
  absl::StatusOr<mesh::MeshConfig> mesh = mesh::ParseMeshConfig(kMesh, "mesh.yaml");
  EXPECT_TRUE(mesh.ok()) << mesh.status();
  return *std::move(mesh);
}

TEST(RulesJsonTest, RoundTripDecidesLikeTheOriginal) {
  mesh::MeshConfig mesh = Mesh();
  nlohmann::json wire = AllowRulesToJson(mesh.FindService("user")->allow);
  // Through text, as it travels.
  absl::StatusOr<std::vector<mesh::AllowRule>> rules =
      AllowRulesFromJson(nlohmann::json::parse(wire.dump()));
  ASSERT_TRUE(rules.ok()) << rules.status();
  ASSERT_EQ(rules->size(), 2u);
  EXPECT_EQ((*rules)[0].position, mesh.FindService("user")->allow[0].position);
  // Compiled into a mesh where user has no rules of its own: the wire rules are what counts.
  mesh::MeshConfig bare = mesh;
  for (mesh::ServiceConfig& s : bare.services) {
    s.allow.clear();
  }
  absl::StatusOr<ServicePolicy> policy = CompileRules(bare, "user", *std::move(rules));
  ASSERT_TRUE(policy.ok()) << policy.status();
  nlohmann::json claims = {{"sub", "42"}};
  DecisionInput charge{"POST", "/users/42/charge", "spiffe://td.example/svc/contract", &claims};
  EXPECT_TRUE(policy->Decide(charge).allowed);
  nlohmann::json other = {{"sub", "7"}};
  charge.claims = &other;
  Decision denied = policy->Decide(charge);
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.reason, DenyReason::kCondition);
  EXPECT_TRUE(policy->Decide({"GET", "/public/x", "spiffe://td.example/gateway"}).allowed);
  EXPECT_FALSE(policy->Decide({"GET", "/admin", "spiffe://td.example/gateway"}).allowed);
  EXPECT_EQ(policy->RuleDescription(0), ServicePolicy::Compile(mesh, "user")->RuleDescription(0));
}

TEST(RulesJsonTest, CompilerMessagesCiteTheOriginalPosition) {
  mesh::MeshConfig mesh = Mesh();
  nlohmann::json wire = AllowRulesToJson(mesh.FindService("user")->allow);
  wire[0]["when"] = "token.sub ==";
  absl::StatusOr<std::vector<mesh::AllowRule>> rules = AllowRulesFromJson(wire);
  ASSERT_TRUE(rules.ok()) << rules.status();
  absl::StatusOr<ServicePolicy> policy = CompileRules(mesh, "user", *std::move(rules));
  ASSERT_FALSE(policy.ok());
  EXPECT_NE(policy.status().message().find("mesh.yaml:12:"), std::string::npos) << policy.status();
  EXPECT_EQ(CompileRules(mesh, "nobody", {}).status().code(), absl::StatusCode::kNotFound);
}

TEST(RulesJsonTest, RefusesMalformedRules) {
  nlohmann::json good = AllowRulesToJson(Mesh().FindService("user")->allow);
  struct Case {
    const char* what;
    nlohmann::json value;
    const char* message;
  };
  std::vector<Case> cases = {
      {"not an array", nlohmann::json::object(), "allow: must be an array"},
      {"rule not an object", nlohmann::json::array({1}), "allow[0]: must be an object"},
  };
  auto with = [&](const char* key, nlohmann::json value) {
    nlohmann::json copy = good;
    copy[1][key] = std::move(value);
    return copy;
  };
  cases.push_back({"unknown key", with("extra", 1), "allow[1].extra: unknown key"});
  cases.push_back({"from not strings", with("from", {1}), "allow[1].from: must be an array"});
  cases.push_back({"bad position", with("at", "x"), "allow[1].at: must be [line, column]"});
  cases.push_back({"path_at count", with("path_at", nlohmann::json::array()), "allow[1].path_at"});
  cases.push_back({"when without at", with("when", "true"),
                   "allow[1].when_at: is missing: 'when' and 'when_at' must be given together"});
  nlohmann::json missing = good;
  missing[1].erase("methods");
  cases.push_back({"missing", missing, "allow[1].methods: is missing"});
  for (const Case& c : cases) {
    absl::StatusOr<std::vector<mesh::AllowRule>> rules = AllowRulesFromJson(c.value);
    ASSERT_FALSE(rules.ok()) << c.what;
    EXPECT_NE(rules.status().message().find(c.message), std::string::npos)
        << c.what << ": " << rules.status();
  }
}

}  // namespace
}  // namespace bulwark::policy
