// Polling (not inotify): the sidecar calls ReloadIfChanged() once a second, which costs three
// stat() calls when nothing changed.
#include "proxy/identity_files.h"

#include <sys/stat.h>

#include <filesystem>

#include "core/files.h"
#include "core/status.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace bulwark::proxy {
namespace {

std::string Resolve(const std::string& base_dir, const std::string& path) {
  std::filesystem::path p(path);
  return p.is_absolute() || base_dir.empty() ? path
                                             : (std::filesystem::path(base_dir) / p).string();
}

}  // namespace

absl::StatusOr<std::unique_ptr<IdentityFileWatcher>> IdentityFileWatcher::Create(
    const mesh::IdentityFiles& files, const std::string& base_dir, std::string expected_id) {
  mesh::IdentityFiles resolved{Resolve(base_dir, files.svid), Resolve(base_dir, files.key),
                               Resolve(base_dir, files.bundle)};
  std::unique_ptr<IdentityFileWatcher> watcher(
      new IdentityFileWatcher(std::move(resolved), std::move(expected_id)));
  watcher->loaded_ = watcher->CurrentStamp();
  BULWARK_ASSIGN_OR_RETURN(identity::Svid svid, watcher->Load());
  watcher->current_.store(std::make_shared<const identity::Svid>(std::move(svid)));
  return watcher;
}

absl::StatusOr<identity::Svid> IdentityFileWatcher::Load() const {
  BULWARK_ASSIGN_OR_RETURN(std::string chain, core::ReadFile(files_.svid));
  BULWARK_ASSIGN_OR_RETURN(std::string key, core::ReadSecretFile(files_.key, 64 * 1024));
  BULWARK_ASSIGN_OR_RETURN(std::string bundle, core::ReadFile(files_.bundle));
  BULWARK_ASSIGN_OR_RETURN(identity::Svid svid, identity::SvidFromPem(chain, key, bundle));
  if (svid.spiffe_id != expected_id_) {
    return absl::InvalidArgumentError(
        fmt::format("{} holds {}, not {}", files_.svid, svid.spiffe_id, expected_id_));
  }
  return svid;
}

IdentityFileWatcher::Stamp IdentityFileWatcher::CurrentStamp() const {
  Stamp stamp{};
  const std::string* paths[] = {&files_.svid, &files_.key, &files_.bundle};
  for (std::size_t i = 0; i < stamp.size(); ++i) {
    struct stat st {};
    if (::stat(paths[i]->c_str(), &st) == 0) {
      stamp[i] = {static_cast<long long>(st.st_ino), static_cast<long long>(st.st_size),
                  static_cast<long long>(st.st_mtim.tv_sec) * 1'000'000'000LL + st.st_mtim.tv_nsec};
    }
  }
  return stamp;
}

bool IdentityFileWatcher::ReloadIfChanged() {
  Stamp stamp = CurrentStamp();
  if (stamp == loaded_) {
    return false;
  }
  absl::StatusOr<identity::Svid> svid = Load();
  if (!svid.ok()) {
    if (stamp != failed_) {
      spdlog::warn("sidecar: keeping the current SVID: {}", svid.status().message());
      failed_ = stamp;
    }
    return false;
  }
  spdlog::info("sidecar: reloaded {} from {} (serial {})", svid->spiffe_id, files_.svid,
               svid->leaf().SerialHex());
  loaded_ = stamp;
  current_.store(std::make_shared<const identity::Svid>(*std::move(svid)));
  return true;
}

}  // namespace bulwark::proxy
