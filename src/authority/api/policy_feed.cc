// Loading, compiling and versioning the distributed policy.
#include "authority/api/policy_feed.h"

#include "core/status.h"
#include "fmt/format.h"
#include "mesh/config.h"
#include "policy/policy.h"
#include "policy/rules_json.h"
#include "spdlog/spdlog.h"

namespace bulwark::authority::api {

absl::StatusOr<PolicySnapshot> PolicyFeed::Compile(const std::string& path) {
  BULWARK_ASSIGN_OR_RETURN(mesh::MeshConfig mesh, mesh::LoadMeshConfig(path));
  PolicySnapshot snapshot;
  snapshot.trust_domain = mesh.trust_domain;
  for (const mesh::ServiceConfig& service : mesh.services) {
    // Compiled only to refuse what a sidecar could not compile; the rules travel as written.
    BULWARK_RETURN_IF_ERROR(policy::ServicePolicy::Compile(mesh, service.name).status());
    snapshot.rules[service.name] = policy::AllowRulesToJson(service.allow);
  }
  return snapshot;
}

PolicyFeed::Stamp PolicyFeed::StampOf(const std::string& path) {
  std::error_code ec;
  Stamp stamp;
  stamp.mtime = std::filesystem::last_write_time(path, ec);
  stamp.size = ec ? 0 : std::filesystem::file_size(path, ec);
  return stamp;
}

absl::StatusOr<std::unique_ptr<PolicyFeed>> PolicyFeed::Load(std::string path,
                                                             std::int64_t first_version) {
  Stamp stamp = StampOf(path);
  BULWARK_ASSIGN_OR_RETURN(PolicySnapshot snapshot, Compile(path));
  snapshot.version = first_version;
  auto first = std::make_shared<const PolicySnapshot>(std::move(snapshot));
  return std::unique_ptr<PolicyFeed>(new PolicyFeed(std::move(path), std::move(first), stamp));
}

void PolicyFeed::ReloadIfChanged() {
  {
    std::lock_guard lock(reload_mu_);
    if (StampOf(path_) == stamp_) {
      return;
    }
  }
  Reload();
}

bool PolicyFeed::Reload() {
  std::lock_guard lock(reload_mu_);
  stamp_ = StampOf(path_);  // taken before reading: a write during the read is seen next time
  std::shared_ptr<const PolicySnapshot> current = current_.load();
  absl::StatusOr<PolicySnapshot> next = Compile(path_);
  if (!next.ok()) {
    spdlog::error("policy: {} not applied, keeping version {}: {}", path_, current->version,
                  next.status().message());
    return false;
  }
  if (next->trust_domain == current->trust_domain && next->rules == current->rules) {
    return false;
  }
  next->version = current->version + 1;
  std::int64_t version = next->version;
  current_.store(std::make_shared<const PolicySnapshot>(*std::move(next)));
  spdlog::info("policy: {} is now version {}", path_, version);
  feed_.Notify(version);
  return true;
}

}  // namespace bulwark::authority::api
