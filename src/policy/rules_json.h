// The wire form of one service's allow rules, as the authority distributes them to its sidecars
// (GET /v1/policy, docs/api.md): a JSON array with one object per `services.<name>.allow[]`
// rule, keeping where each rule was written so that a sidecar's messages cite the authority's
// mesh.yaml. Only the rules of the asking service travel. Pure functions; thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "mesh/config.h"
#include "nlohmann/json.hpp"
#include "policy/policy.h"

namespace bulwark::policy {

// Returns `rules` as a JSON array of {"from", "methods", "paths", "when"?, "at": [line, column],
// "path_at": [[line, column]...], "when_at"?: [line, column]}.
nlohmann::json AllowRulesToJson(const std::vector<mesh::AllowRule>& rules);

// Parses what AllowRulesToJson wrote. InvalidArgument naming the rule index and field when
// `json` is not an array of such objects (unknown keys included).
absl::StatusOr<std::vector<mesh::AllowRule>> AllowRulesFromJson(const nlohmann::json& json);

// Compiles `rules` as the allow rules of `service` in `mesh` (which otherwise keeps its trust
// domain and file name). Errors: as ServicePolicy::Compile.
absl::StatusOr<ServicePolicy> CompileRules(const mesh::MeshConfig& mesh, std::string_view service,
                                           std::vector<mesh::AllowRule> rules);

}  // namespace bulwark::policy
