#include "policy/policy.h"

#include <algorithm>
#include <array>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "core/status.h"
#include "fmt/format.h"
#include "identity/spiffe_id.h"
#include "policy/expr.h"
#include "policy/internal/path_trie.h"
#include "policy/path_template.h"

namespace bulwark::policy {
namespace {

// The methods mesh.yaml may name, one trie each; every other method shares the last slot, which
// only rules without `methods` (any method) reach.
constexpr std::array<std::string_view, 7> kMethods = {"GET",   "HEAD",   "POST",   "PUT",
                                                      "PATCH", "DELETE", "OPTIONS"};
constexpr std::size_t kOtherMethod = kMethods.size();

std::size_t MethodSlot(std::string_view method) {
  for (std::size_t i = 0; i < kMethods.size(); ++i) {
    if (kMethods[i] == method) {
      return i;
    }
  }
  return kOtherMethod;
}

// A principal's rules: a path trie per method slot.
using MethodTries = std::array<internal::PathTrie, kMethods.size() + 1>;

// One template of one rule: which segments of the path its parameters bind.
struct Route {
  std::uint32_t rule;
  std::vector<std::pair<std::string, std::uint16_t>> params;  // name, segment index
};

struct Rule {
  std::string description;
  std::optional<CompiledExpr> when;
};

std::string Join(const std::vector<std::string>& items, std::string_view none) {
  return items.empty() ? std::string(none) : fmt::format("{}", fmt::join(items, ", "));
}

std::string Describe(const mesh::AllowRule& rule) {
  std::string text = fmt::format("from {}; methods {}; paths {}", Join(rule.from, "nobody"),
                                 Join(rule.methods, "any"), Join(rule.paths, "any"));
  if (rule.when) {
    text += fmt::format("; when {}", rule.when->text);
  }
  return text;
}

// Returns the names every template binds (the `path.` variables a `when` may use).
std::vector<std::string> CommonParams(const std::vector<PathTemplate>& templates) {
  if (templates.empty()) {
    return {};
  }
  std::vector<std::string> common = templates.front().ParamNames();
  for (const PathTemplate& t : templates) {
    std::vector<std::string> names = t.ParamNames();
    std::erase_if(common, [&](const std::string& name) {
      return std::find(names.begin(), names.end(), name) == names.end();
    });
  }
  return common;
}

Route MakeRoute(std::uint32_t rule, const PathTemplate& path_template) {
  Route route{rule, {}};
  for (std::size_t i = 0; i < path_template.segments.size(); ++i) {
    if (path_template.segments[i].is_param) {
      route.params.emplace_back(path_template.segments[i].text, static_cast<std::uint16_t>(i));
    }
  }
  return route;
}

}  // namespace

namespace internal {

// The matcher behind a ServicePolicy: principal (exact IDs by hash, then patterns) -> method
// slot -> path trie; each trie entry is a Route, each Route belongs to a Rule.
struct CompiledPolicy {
  std::string service;
  std::string gateway_id;      // spiffe://<td>/gateway
  std::string service_prefix;  // spiffe://<td>/svc/
  absl::flat_hash_set<std::string> service_names;
  absl::flat_hash_map<std::string, MethodTries> exact;  // by SPIFFE ID
  std::vector<std::pair<identity::SpiffeIdPattern, MethodTries>> patterns;
  std::vector<Route> routes;  // in rule order, so route order is rule order
  std::vector<Rule> rules;

  // Returns the caller's mesh name: "gateway", a declared service, or "".
  std::string_view PeerService(std::string_view peer_id) const;
  // Evaluates the candidates in rule order; the first whose `when` holds allows.
  Decision Evaluate(internal::MatchList& candidates, std::span<const std::string_view> segments,
                    const DecisionInput& input) const;
};

}  // namespace internal

namespace {

class Compiler {
 public:
  Compiler(const mesh::MeshConfig& mesh, const mesh::ServiceConfig& service,
           internal::CompiledPolicy& out)
      : mesh_(mesh), service_(service), out_(out) {}

  absl::Status CompileRule(std::size_t index) {
    const mesh::AllowRule& rule = service_.allow[index];
    std::vector<PathTemplate> templates;
    for (std::size_t i = 0; i < rule.paths.size(); ++i) {
      absl::StatusOr<PathTemplate> parsed = ParsePathTemplate(rule.paths[i]);
      if (!parsed.ok()) {
        mesh::SourcePosition at =
            i < rule.path_positions.size() ? rule.path_positions[i] : rule.position;
        return Error(at, fmt::format("allow[{}].paths[{}]", index, i), parsed.status());
      }
      templates.push_back(*std::move(parsed));
    }
    Rule compiled{Describe(rule), std::nullopt};
    if (rule.when) {
      BULWARK_ASSIGN_OR_RETURN(
          compiled.when,
          CompiledExpr::Compile(*rule.when, ExprScope{CommonParams(templates)}, mesh_.file_name));
    }
    out_.rules.push_back(std::move(compiled));
    if (templates.empty()) {
      templates.push_back(*ParsePathTemplate("/**"));
    }
    const auto first_entry = static_cast<std::uint32_t>(out_.routes.size());
    for (const PathTemplate& path_template : templates) {
      out_.routes.push_back(MakeRoute(static_cast<std::uint32_t>(index), path_template));
    }
    for (const std::string& from : rule.from) {
      // Not kept across iterations: the next principal may move this one.
      BULWARK_ASSIGN_OR_RETURN(MethodTries * tries, Principal(from, index));
      for (std::size_t t = 0; t < templates.size(); ++t) {
        Insert(rule, templates[t], first_entry + static_cast<std::uint32_t>(t), *tries);
      }
    }
    return absl::OkStatus();
  }

 private:
  // Returns the tries of the principal `from` names, creating them on first use.
  absl::StatusOr<MethodTries*> Principal(const std::string& from, std::size_t index) {
    std::string id;
    if (from == "gateway") {
      id = identity::GatewayId(mesh_.trust_domain);
    } else if (!from.starts_with("spiffe://")) {
      id = identity::ServiceId(mesh_.trust_domain, from);
    } else {
      absl::StatusOr<identity::SpiffeIdPattern> pattern = identity::SpiffeIdPattern::Parse(from);
      if (!pattern.ok()) {
        return Error(service_.allow[index].position, fmt::format("allow[{}].from", index),
                     pattern.status());
      }
      if (pattern->kind() == identity::SpiffeIdPattern::Kind::kExact) {
        id = from;
      } else {
        for (auto& [existing, tries] : out_.patterns) {
          if (existing.str() == from) {
            return &tries;
          }
        }
        out_.patterns.emplace_back(*std::move(pattern), MethodTries{});
        return &out_.patterns.back().second;
      }
    }
    return &out_.exact[id];
  }

  static void Insert(const mesh::AllowRule& rule, const PathTemplate& path_template,
                     std::uint32_t entry, MethodTries& tries) {
    if (rule.methods.empty()) {
      for (internal::PathTrie& trie : tries) {
        trie.Insert(path_template, entry);
      }
      return;
    }
    for (const std::string& method : rule.methods) {
      tries[MethodSlot(method)].Insert(path_template, entry);
    }
  }

  absl::Status Error(const mesh::SourcePosition& at, std::string_view field,
                     const absl::Status& cause) const {
    std::string where = at.line > 0 ? fmt::format("{}:{}:{}: ", mesh_.file_name, at.line, at.column)
                                    : fmt::format("{}: ", mesh_.file_name);
    return absl::InvalidArgumentError(
        fmt::format("{}services.{}.{}: {}", where, service_.name, field, cause.message()));
  }

  const mesh::MeshConfig& mesh_;
  const mesh::ServiceConfig& service_;
  internal::CompiledPolicy& out_;
};

}  // namespace

std::string_view DenyReasonName(DenyReason reason) {
  switch (reason) {
    case DenyReason::kNone:
      return "";
    case DenyReason::kNoRuleForCaller:
      return "no_rule_for_caller";
    case DenyReason::kMethod:
      return "method";
    case DenyReason::kPath:
      return "path";
    case DenyReason::kCondition:
      return "condition";
  }
  return "";
}

absl::StatusOr<ServicePolicy> ServicePolicy::Compile(const mesh::MeshConfig& mesh,
                                                     std::string_view service) {
  const mesh::ServiceConfig* config = mesh.FindService(service);
  if (config == nullptr) {
    return absl::NotFoundError(fmt::format("{}: no service '{}'", mesh.file_name, service));
  }
  auto compiled = std::make_unique<internal::CompiledPolicy>();
  compiled->service = config->name;
  compiled->gateway_id = identity::GatewayId(mesh.trust_domain);
  compiled->service_prefix = identity::ServiceId(mesh.trust_domain, "");
  for (const mesh::ServiceConfig& s : mesh.services) {
    compiled->service_names.insert(s.name);
  }
  Compiler compiler(mesh, *config, *compiled);
  for (std::size_t i = 0; i < config->allow.size(); ++i) {
    BULWARK_RETURN_IF_ERROR(compiler.CompileRule(i));
  }
  return ServicePolicy(std::move(compiled));
}

ServicePolicy::ServicePolicy(std::unique_ptr<const internal::CompiledPolicy> compiled)
    : compiled_(std::move(compiled)) {}
ServicePolicy::ServicePolicy(ServicePolicy&&) noexcept = default;
ServicePolicy& ServicePolicy::operator=(ServicePolicy&&) noexcept = default;
ServicePolicy::~ServicePolicy() = default;

const std::string& ServicePolicy::service() const { return compiled_->service; }
std::size_t ServicePolicy::rule_count() const { return compiled_->rules.size(); }
const std::string& ServicePolicy::RuleDescription(std::size_t index) const {
  return compiled_->rules.at(index).description;
}

Decision ServicePolicy::Decide(const DecisionInput& input) const {
  const internal::CompiledPolicy& c = *compiled_;
  const std::size_t slot = MethodSlot(input.method);
  DenyReason reached = DenyReason::kNoRuleForCaller;
  absl::InlinedVector<std::string_view, 16> segments;
  internal::MatchList candidates;
  auto search = [&](const MethodTries& tries) {
    reached = std::max(reached, DenyReason::kMethod);
    if (tries[slot].empty()) {
      return;
    }
    reached = std::max(reached, DenyReason::kPath);
    if (segments.empty()) {
      SplitPathSegments(input.path, segments);
    }
    tries[slot].Match(segments, candidates);
  };
  if (auto it = c.exact.find(absl::string_view(input.peer_id.data(), input.peer_id.size()));
      it != c.exact.end()) {
    search(it->second);
  }
  for (const auto& [pattern, tries] : c.patterns) {
    if (pattern.Matches(input.peer_id)) {
      search(tries);
    }
  }
  if (candidates.empty()) {
    return Decision{false, reached, -1};
  }
  return c.Evaluate(candidates, segments, input);
}

Decision internal::CompiledPolicy::Evaluate(internal::MatchList& candidates,
                                            std::span<const std::string_view> segments,
                                            const DecisionInput& input) const {
  std::sort(candidates.begin(), candidates.end());
  Decision denied{false, DenyReason::kCondition, -1};
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (i > 0 && candidates[i] == candidates[i - 1]) {
      continue;  // the same template reached through two of the caller's principals
    }
    const Route& route = routes[candidates[i]];
    const Rule& rule = rules[route.rule];
    if (!rule.when) {
      return Decision{true, DenyReason::kNone, static_cast<int>(route.rule)};
    }
    std::array<PathParam, kMaxPathParams> params;
    for (std::size_t p = 0; p < route.params.size(); ++p) {
      params[p] = PathParam{route.params[p].first, segments[route.params[p].second]};
    }
    RequestFacts facts{
        input.claims,  std::span<const PathParam>(params.data(), route.params.size()),
        input.query,   input.headers,
        input.peer_id, PeerService(input.peer_id)};
    if (rule.when->Evaluate(facts)) {
      return Decision{true, DenyReason::kNone, static_cast<int>(route.rule)};
    }
    if (denied.rule < 0) {
      denied.rule = static_cast<int>(route.rule);
    }
  }
  return denied;
}

std::string_view internal::CompiledPolicy::PeerService(std::string_view peer_id) const {
  if (peer_id == gateway_id) {
    return "gateway";
  }
  if (!peer_id.starts_with(service_prefix)) {
    return "";
  }
  std::string_view name = peer_id.substr(service_prefix.size());
  return service_names.contains(absl::string_view(name.data(), name.size())) ? name : "";
}

}  // namespace bulwark::policy
