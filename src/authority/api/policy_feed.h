// The authorization policy the authority distributes (GET /v1/policy, docs/policy.md): each
// service's allow rules from the authority's mesh.yaml, compiled with policy::ServicePolicy so a
// bad rule never reaches a sidecar, as an immutable versioned snapshot. ReloadIfChanged (polled)
// and Reload (SIGHUP) reread the file; a file that does not load or compile keeps the last good
// version and logs the error (file:line:column). Thread-safe: Current() is a lock-free load;
// reloads serialize on a mutex.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "authority/api/revocation_feed.h"
#include "nlohmann/json.hpp"

namespace bulwark::authority::api {

struct PolicySnapshot {
  std::int64_t version = 0;
  std::string trust_domain;
  std::map<std::string, nlohmann::json> rules;  // service name -> policy::AllowRulesToJson
};

class PolicyFeed {
 public:
  // Loads and compiles `path`; its policy is version `first_version` (the caller passes its
  // start time in milliseconds, so versions keep increasing across restarts). Errors: the file
  // does not load, a rule does not compile.
  static absl::StatusOr<std::unique_ptr<PolicyFeed>> Load(std::string path,
                                                          std::int64_t first_version);

  // Returns the current snapshot (never null).
  std::shared_ptr<const PolicySnapshot> Current() const { return current_.load(); }
  // Returns the version feed long-polls wait on.
  VersionFeed& feed() { return feed_; }
  // Rereads the file when its modification time or size changed; see Reload.
  void ReloadIfChanged();
  // Rereads the file; when it loads, compiles and differs from the current rules, publishes it
  // as the next version and wakes the long-polls. Returns whether a new version was published.
  bool Reload();

 private:
  struct Stamp {
    std::filesystem::file_time_type mtime;
    std::uintmax_t size = 0;
    bool operator==(const Stamp&) const = default;
  };
  PolicyFeed(std::string path, std::shared_ptr<const PolicySnapshot> first, Stamp stamp)
      : path_(std::move(path)),
        current_(std::move(first)),
        feed_(current_.load()->version),
        stamp_(stamp) {}
  static absl::StatusOr<PolicySnapshot> Compile(const std::string& path);
  static Stamp StampOf(const std::string& path);

  const std::string path_;
  std::atomic<std::shared_ptr<const PolicySnapshot>> current_;
  VersionFeed feed_;
  std::mutex reload_mu_;  // serializes reloads
  Stamp stamp_;           // guarded by reload_mu_
};

}  // namespace bulwark::authority::api
