// `bulwark check mesh.yaml` (and `bulwark policy check`, the same check): everything that can
// be verified about a mesh.yaml without starting anything: the strict parse, every service's
// policy compiled as its sidecar compiles it, the files the file names, and the gateway routes'
// JSON Schemas compiled as the gateway compiles them.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/status.h"
#include "fmt/format.h"
#include "mesh/config.h"
#include "policy/policy.h"
#include "proxy/gateway_validation.h"

namespace bulwark::cli {
namespace {

std::string Plural(std::size_t n, std::string_view word) {
  return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

// Returns "user: 2 rules; callers contract, gateway; 3 path templates; 1 when".
std::string Summary(const mesh::ServiceConfig& service) {
  if (service.allow.empty()) {
    return fmt::format("{}: no rules, every call is denied", service.name);
  }
  std::vector<std::string> callers;
  std::size_t templates = 0;
  std::size_t conditions = 0;
  for (const mesh::AllowRule& rule : service.allow) {
    for (const std::string& from : rule.from) {
      if (std::find(callers.begin(), callers.end(), from) == callers.end()) {
        callers.push_back(from);
      }
    }
    templates += rule.paths.size();
    conditions += rule.when ? 1 : 0;
  }
  return fmt::format("{}: {}; callers {}; {}; {}", service.name,
                     Plural(service.allow.size(), "rule"), fmt::join(callers, ", "),
                     Plural(templates, "path template"), Plural(conditions, "when condition"));
}

// A file mesh.yaml names, by its field path; relative paths are relative to mesh.yaml's folder,
// as every bulwark process resolves them.
struct NamedFile {
  std::string field;
  std::string path;
};

std::vector<NamedFile> NamedFiles(const mesh::MeshConfig& mesh) {
  std::vector<NamedFile> files;
  if (mesh.gateway) {
    if (mesh.gateway->tls) {
      files.push_back({"gateway.tls.cert", mesh.gateway->tls->cert});
      files.push_back({"gateway.tls.key", mesh.gateway->tls->key});
    }
    for (std::size_t i = 0; i < mesh.gateway->routes.size(); ++i) {
      if (const std::optional<std::string>& schema = mesh.gateway->routes[i].schema) {
        files.push_back({fmt::format("gateway.routes[{}].schema", i), *schema});
      }
    }
    for (std::size_t i = 0; i < mesh.gateway->issuers.size(); ++i) {
      const std::optional<std::string>& jwks = mesh.gateway->issuers[i].jwks;
      if (jwks && jwks->starts_with("file:")) {
        files.push_back({fmt::format("gateway.issuers[{}].jwks", i), jwks->substr(5)});
      }
    }
  }
  for (const mesh::ServiceConfig& service : mesh.services) {
    if (service.identity) {
      std::string prefix = fmt::format("services.{}.identity.", service.name);
      files.push_back({prefix + "svid", service.identity->svid});
      files.push_back({prefix + "key", service.identity->key});
      files.push_back({prefix + "bundle", service.identity->bundle});
    }
  }
  return files;
}

}  // namespace

absl::StatusOr<mesh::MeshConfig> CheckMesh(const std::string& file) {
  BULWARK_ASSIGN_OR_RETURN(mesh::MeshConfig mesh, mesh::LoadMeshConfig(file));
  std::filesystem::path base = std::filesystem::path(file).parent_path();
  for (const NamedFile& named : NamedFiles(mesh)) {
    std::error_code error;
    if (!std::filesystem::is_regular_file(base / named.path, error)) {
      return absl::NotFoundError(
          fmt::format("{}: {}: {}: no such file (relative paths are relative to the "
                      "folder of {})",
                      file, named.field, named.path, file));
    }
  }
  for (const mesh::ServiceConfig& service : mesh.services) {
    BULWARK_RETURN_IF_ERROR(policy::ServicePolicy::Compile(mesh, service.name).status());
  }
  if (absl::StatusOr<proxy::RouteSchemas> schemas = proxy::LoadRouteSchemas(mesh); !schemas.ok()) {
    return absl::InvalidArgumentError(fmt::format("{}: {}", file, schemas.status().message()));
  }
  return mesh;
}

int RunMeshCheck(const std::string& file) {
  absl::StatusOr<mesh::MeshConfig> mesh = CheckMesh(file);
  if (!mesh.ok()) {
    return Fail(std::string(mesh.status().message()));
  }
  for (const mesh::ServiceConfig& service : mesh->services) {
    std::printf("%s\n", Summary(service).c_str());
  }
  if (mesh->gateway) {
    std::printf("gateway: %s; %s; %s\n", mesh->gateway->listen.ToString().c_str(),
                Plural(mesh->gateway->routes.size(), "route").c_str(),
                Plural(mesh->gateway->issuers.size(), "issuer").c_str());
  }
  std::printf("%s: the policy of %s compiles\n", file.c_str(),
              Plural(mesh->services.size(), "service").c_str());
  return 0;
}

void AddCheckCommand(CLI::App& app, Action& action) {
  static std::string file;
  CLI::App* check = app.add_subcommand(
      "check", "Check a mesh.yaml: strict parse, every service's policy, the files it names");
  check->add_option("config", file, "mesh.yaml")->required();
  check->footer(
      "Example:\n  bulwark check mesh.yaml\n"
      "Prints one line per service (its rules and callers) and one for the gateway. Exit status\n"
      "0 when the file is valid; 1 with <file>:<line>:<column>: <field>: <message> of the first\n"
      "error otherwise, or the field of a file it names that does not exist. See docs/mesh.md.");
  check->callback([&action] { action = [] { return RunMeshCheck(file); }; });
}

}  // namespace bulwark::cli
