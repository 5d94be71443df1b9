// JSON codec of allow rules. Values come from the network (the authority, authenticated, but
// still parsed as untrusted): every type is checked, nothing throws.
#include "policy/rules_json.h"

#include <set>
#include <string>

#include "core/status.h"
#include "fmt/format.h"

namespace bulwark::policy {
namespace {

using nlohmann::json;

json Position(const mesh::SourcePosition& p) { return json::array({p.line, p.column}); }

absl::Status FieldError(std::size_t index, std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(
      fmt::format("allow[{}]{}{}: {}", index, field.empty() ? "" : ".", field, what));
}

absl::StatusOr<mesh::SourcePosition> PositionFrom(const json& value, std::size_t index,
                                                  std::string_view field) {
  if (!value.is_array() || value.size() != 2 || !value[0].is_number_integer() ||
      !value[1].is_number_integer()) {
    return FieldError(index, field, "must be [line, column]");
  }
  return mesh::SourcePosition{value[0].get<int>(), value[1].get<int>()};
}

absl::StatusOr<std::vector<std::string>> StringsFrom(const json& value, std::size_t index,
                                                     std::string_view field) {
  if (!value.is_array()) {
    return FieldError(index, field, "must be an array of strings");
  }
  std::vector<std::string> out;
  for (const json& item : value) {
    if (!item.is_string()) {
      return FieldError(index, field, "must be an array of strings");
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

absl::StatusOr<mesh::AllowRule> RuleFrom(const json& value, std::size_t index) {
  static const std::set<std::string> kKeys = {"from", "methods", "paths",  "when",
                                              "at",   "path_at", "when_at"};
  if (!value.is_object()) {
    return FieldError(index, "", "must be an object");
  }
  for (auto it = value.begin(); it != value.end(); ++it) {
    if (!kKeys.contains(it.key())) {
      return FieldError(index, it.key(), "unknown key");
    }
  }
  for (const char* key : {"from", "methods", "paths", "at", "path_at"}) {
    if (!value.contains(key)) {
      return FieldError(index, key, "is missing");
    }
  }
  mesh::AllowRule rule;
  BULWARK_ASSIGN_OR_RETURN(rule.from, StringsFrom(value["from"], index, "from"));
  BULWARK_ASSIGN_OR_RETURN(rule.methods, StringsFrom(value["methods"], index, "methods"));
  BULWARK_ASSIGN_OR_RETURN(rule.paths, StringsFrom(value["paths"], index, "paths"));
  BULWARK_ASSIGN_OR_RETURN(rule.position, PositionFrom(value["at"], index, "at"));
  const json& path_at = value["path_at"];
  if (!path_at.is_array() || path_at.size() != rule.paths.size()) {
    return FieldError(index, "path_at", "must hold one [line, column] per path");
  }
  for (const json& p : path_at) {
    BULWARK_ASSIGN_OR_RETURN(mesh::SourcePosition position, PositionFrom(p, index, "path_at"));
    rule.path_positions.push_back(position);
  }
  if (value.contains("when") != value.contains("when_at")) {
    return FieldError(index, value.contains("when") ? "when_at" : "when",
                      "is missing: 'when' and 'when_at' must be given together");
  }
  if (value.contains("when")) {
    if (!value["when"].is_string()) {
      return FieldError(index, "when", "must be a string");
    }
    BULWARK_ASSIGN_OR_RETURN(mesh::SourcePosition at,
                             PositionFrom(value["when_at"], index, "when_at"));
    rule.when = mesh::WhenExpression{value["when"].get<std::string>(), at};
  }
  return rule;
}

}  // namespace

json AllowRulesToJson(const std::vector<mesh::AllowRule>& rules) {
  json out = json::array();
  for (const mesh::AllowRule& rule : rules) {
    json paths_at = json::array();
    for (const mesh::SourcePosition& p : rule.path_positions) {
      paths_at.push_back(Position(p));
    }
    json item = {{"from", rule.from},
                 {"methods", rule.methods},
                 {"paths", rule.paths},
                 {"at", Position(rule.position)},
                 {"path_at", std::move(paths_at)}};
    if (rule.when.has_value()) {
      item["when"] = rule.when->text;
      item["when_at"] = Position(rule.when->position);
    }
    out.push_back(std::move(item));
  }
  return out;
}

absl::StatusOr<std::vector<mesh::AllowRule>> AllowRulesFromJson(const json& value) {
  if (!value.is_array()) {
    return absl::InvalidArgumentError("allow: must be an array of rules");
  }
  std::vector<mesh::AllowRule> rules;
  for (std::size_t i = 0; i < value.size(); ++i) {
    BULWARK_ASSIGN_OR_RETURN(mesh::AllowRule rule, RuleFrom(value[i], i));
    rules.push_back(std::move(rule));
  }
  return rules;
}

absl::StatusOr<ServicePolicy> CompileRules(const mesh::MeshConfig& mesh, std::string_view service,
                                           std::vector<mesh::AllowRule> rules) {
  mesh::MeshConfig copy = mesh;
  for (mesh::ServiceConfig& config : copy.services) {
    if (config.name == service) {
      config.allow = std::move(rules);
      return ServicePolicy::Compile(copy, service);
    }
  }
  return absl::NotFoundError(fmt::format("{}: no service '{}'", mesh.file_name, service));
}

}  // namespace bulwark::policy
