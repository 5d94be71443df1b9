// `bulwark policy check|explain`: offline tools over the allow rules of mesh.yaml
// (docs/policy.md). Both compile the policy exactly as a sidecar does.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/status.h"
#include "core/strict_json.h"
#include "fmt/format.h"
#include "identity/spiffe_id.h"
#include "mesh/config.h"
#include "policy/path.h"
#include "policy/policy.h"

namespace bulwark::cli {
namespace {

// `policy explain` exit codes (documented in --help and docs/policy.md).
constexpr int kExitAllow = 0;
constexpr int kExitDeny = 1;
constexpr int kExitError = 2;

struct ExplainFlags {
  std::string config;
  std::string to;
  std::string from;
  std::string method;
  std::string path;
  std::string claims;
  std::vector<std::string> headers;
};

// Resolves --from: a service of the mesh, `gateway`, or a SPIFFE ID.
absl::StatusOr<std::string> CallerId(const mesh::MeshConfig& mesh, const std::string& caller) {
  if (caller == "gateway") {
    return identity::GatewayId(mesh.trust_domain);
  }
  if (caller.starts_with("spiffe://")) {
    BULWARK_ASSIGN_OR_RETURN(identity::SpiffeId id, identity::SpiffeId::Parse(caller));
    return id.str();
  }
  if (mesh.FindService(caller) == nullptr) {
    return absl::InvalidArgumentError(
        fmt::format("--from '{}' is neither a service of {}, gateway, nor a SPIFFE ID", caller,
                    mesh.file_name));
  }
  return identity::ServiceId(mesh.trust_domain, caller);
}

absl::StatusOr<http::Headers> ParseHeaders(const std::vector<std::string>& lines) {
  http::Headers headers;
  for (const std::string& line : lines) {
    std::size_t colon = line.find(':');
    std::string name = line.substr(0, colon);
    if (colon == std::string::npos || name.empty() ||
        name.find_first_of(" \t") != std::string::npos) {
      return absl::InvalidArgumentError(
          fmt::format("--header '{}' must look like 'Name: value'", line));
    }
    std::size_t start = line.find_first_not_of(" \t", colon + 1);
    headers.Add(name, start == std::string::npos ? "" : line.substr(start));
  }
  return headers;
}

absl::StatusOr<nlohmann::json> ParseClaims(const std::string& text) {
  if (text.empty()) {
    return nlohmann::json();
  }
  absl::StatusOr<nlohmann::json> claims = core::ParseStrictJson(text);
  if (!claims.ok() || !claims->is_object()) {
    return absl::InvalidArgumentError(
        fmt::format("--claims must be a JSON object{}",
                    claims.ok() ? "" : fmt::format(": {}", claims.status().message())));
  }
  return claims;
}

std::string DenyDetail(const policy::ServicePolicy& policy, const policy::Decision& decision,
                       const policy::DecisionInput& input) {
  switch (decision.reason) {
    case policy::DenyReason::kNoRuleForCaller:
      return fmt::format("no rule of services.{}.allow names {}", policy.service(), input.peer_id);
    case policy::DenyReason::kMethod:
      return fmt::format("rules name {}, none with method {}", input.peer_id, input.method);
    case policy::DenyReason::kPath:
      return fmt::format("no rule for {} and {} matches path {}", input.peer_id, input.method,
                         input.path);
    case policy::DenyReason::kCondition:
      return fmt::format("rule {} ({}) matches, but its when is false", decision.rule,
                         policy.RuleDescription(static_cast<std::size_t>(decision.rule)));
    case policy::DenyReason::kNone:
      break;
  }
  return "";
}

// Prints `message` like Fail, for exit code kExitError.
int Error(const absl::Status& status) {
  Fail(std::string(status.message()));
  return kExitError;
}

int RunExplain(const ExplainFlags& flags) {
  absl::StatusOr<mesh::MeshConfig> mesh = mesh::LoadMeshConfig(flags.config);
  if (!mesh.ok()) {
    return Error(mesh.status());
  }
  absl::StatusOr<policy::ServicePolicy> compiled = policy::ServicePolicy::Compile(*mesh, flags.to);
  absl::StatusOr<std::string> peer = CallerId(*mesh, flags.from);
  absl::StatusOr<nlohmann::json> claims = ParseClaims(flags.claims);
  absl::StatusOr<http::Headers> headers = ParseHeaders(flags.headers);
  for (const absl::Status& s :
       {compiled.status(), peer.status(), claims.status(), headers.status()}) {
    if (!s.ok()) {
      return Error(s);
    }
  }
  const std::size_t question = flags.path.find('?');
  const std::string raw_path = flags.path.substr(0, question);
  absl::StatusOr<std::string> path = policy::NormalizePath(raw_path);
  if (!path.ok()) {
    std::printf("DENY: bad_path (%s; the sidecar answers 400)\n",
                std::string(path.status().message()).c_str());
    return kExitDeny;
  }
  if (*path != raw_path) {
    std::printf("path %s normalizes to %s\n", raw_path.c_str(), path->c_str());
  }
  policy::DecisionInput input{flags.method,
                              *path,
                              *peer,
                              claims->is_null() ? nullptr : &*claims,
                              question == std::string::npos
                                  ? std::string_view()
                                  : std::string_view(flags.path).substr(question + 1),
                              &*headers};
  policy::Decision decision = compiled->Decide(input);
  if (decision.allowed) {
    std::printf("ALLOW by rule %d (%s)\n", decision.rule,
                compiled->RuleDescription(static_cast<std::size_t>(decision.rule)).c_str());
    return kExitAllow;
  }
  std::printf("DENY: %s (%s)\n", std::string(policy::DenyReasonName(decision.reason)).c_str(),
              DenyDetail(*compiled, decision, input).c_str());
  return kExitDeny;
}

}  // namespace

void AddPolicyCommands(CLI::App& app, Action& action) {
  CLI::App* policy = app.add_subcommand(
      "policy", "Offline tools for the authorization policy (the allow rules of mesh.yaml)");
  policy->require_subcommand(1);

  static std::string check_file;
  CLI::App* check = policy->add_subcommand(
      "check", "The same as 'bulwark check': compile every service's policy as a sidecar would");
  check->add_option("config", check_file, "mesh.yaml")->required();
  check->footer(
      "Example:\n  bulwark policy check mesh.yaml\n"
      "Exit status 0 when every policy compiles; 1 with <file>:<line>:<column> of the first\n"
      "error otherwise. See docs/policy.md.");
  check->callback([&action] { action = [] { return RunMeshCheck(check_file); }; });

  static ExplainFlags flags;
  CLI::App* explain = policy->add_subcommand(
      "explain", "Decide one request offline and say which rule allows it, or why it is denied");
  explain->add_option("--config", flags.config, "mesh.yaml")->required();
  explain->add_option("--to", flags.to, "The called service (a key of services)")->required();
  explain->add_option("--from", flags.from, "The caller: a service name, gateway or a SPIFFE ID")
      ->required();
  explain->add_option("--method", flags.method, "HTTP method, e.g. POST")->required();
  explain->add_option("--path", flags.path, "Request path, with an optional ?query")->required();
  explain->add_option("--claims", flags.claims,
                      "The transaction token's claims as a JSON object (default: no token)");
  explain->add_option("--header", flags.headers, "A request header 'Name: value' (repeatable)");
  explain->footer(
      "Examples:\n"
      "  bulwark policy explain --config mesh.yaml --to user --from contract --method POST \\\n"
      "      --path /users/42/charge --claims '{\"sub\":\"42\",\"scope\":\"rentals:charge\"}'\n"
      "  bulwark policy explain --config mesh.yaml --to user --from spiffe://dvd.example/svc/x \\\n"
      "      --method GET --path '/users/42?verbose=1' --header 'X-Tenant: a'\n"
      "Prints 'ALLOW by rule N (...)' or 'DENY: <reason> (...)', the reason being one of\n"
      "no_rule_for_caller, method, path, condition or bad_path. Exit status: 0 allowed,\n"
      "1 denied, 2 error (unreadable or invalid mesh.yaml, unknown service, bad flag value).");
  explain->callback([&action] { action = [] { return RunExplain(flags); }; });
}

}  // namespace bulwark::cli
