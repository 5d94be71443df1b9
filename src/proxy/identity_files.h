// An SVID read from the identity files of mesh.yaml (services.<name>.identity), kept by another
// SPIFFE provider (spiffe-helper, cert-manager): ReloadIfChanged() rereads them when any file
// changed and they again make a valid SVID for the expected SPIFFE ID. Current() may be called
// on any thread; ReloadIfChanged() from one thread at a time.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <tuple>

#include "absl/status/statusor.h"
#include "identity/svid.h"
#include "mesh/config.h"

namespace bulwark::proxy {

class IdentityFileWatcher {
 public:
  // Loads the files (relative paths are resolved against `base_dir`, mesh.yaml's directory).
  // Errors: a file is missing or unreadable, key.pem is readable by others, the SVID is invalid
  // or is not `expected_id`.
  static absl::StatusOr<std::unique_ptr<IdentityFileWatcher>> Create(
      const mesh::IdentityFiles& files, const std::string& base_dir, std::string expected_id);

  // Returns the SVID loaded last (never null).
  std::shared_ptr<const identity::Svid> Current() const { return current_.load(); }
  // Reloads when a file changed (inode, size or mtime). Returns whether a new SVID is in use;
  // a failed reload is logged once per change and the previous SVID is kept.
  bool ReloadIfChanged();

 private:
  // (inode, size, mtime in ns) of each of the three files; zeros for a missing one.
  using Stamp = std::array<std::tuple<long long, long long, long long>, 3>;
  IdentityFileWatcher(mesh::IdentityFiles files, std::string expected_id)
      : files_(std::move(files)), expected_id_(std::move(expected_id)) {}
  absl::StatusOr<identity::Svid> Load() const;
  Stamp CurrentStamp() const;

  const mesh::IdentityFiles files_;  // paths already resolved
  const std::string expected_id_;
  std::atomic<std::shared_ptr<const identity::Svid>> current_;
  Stamp loaded_{};  // of the files behind current_
  Stamp failed_{};  // of the last files that did not load
};

}  // namespace bulwark::proxy
