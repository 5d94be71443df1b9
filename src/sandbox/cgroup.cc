#include "sandbox/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/algorithm/container.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "core/files.h"
#include "fmt/format.h"

namespace bulwark::sandbox {
namespace {

std::string_view Str(absl::string_view s) { return {s.data(), s.size()}; }
absl::string_view Absl(std::string_view s) { return {s.data(), s.size()}; }

// Joins a mount point and a cgroup path made relative to the mount's root.
std::optional<std::string> Under(std::string_view mount_point, std::string_view mount_root,
                                 std::string_view path) {
  if (mount_root != "/") {
    if (path.substr(0, mount_root.size()) != mount_root) {
      return std::nullopt;  // our cgroup is outside what this mount shows
    }
    path.remove_prefix(mount_root.size());
  }
  std::string dir(mount_point);
  if (!path.empty() && path != "/") {
    dir += path;
  }
  return dir;
}

bool ValidName(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.size() > 200) {
    return false;
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

bool WriteText(const std::string& path, std::string_view text) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  ssize_t n = write(fd, text.data(), text.size());
  int saved = errno;
  close(fd);
  errno = saved;
  return n == static_cast<ssize_t>(text.size());
}

}  // namespace

CgroupLayout ParseCgroupLayout(std::string_view mountinfo, std::string_view self_cgroup) {
  std::map<std::string, std::string> v1_paths;  // controller -> own path
  std::optional<std::string> v2_path;
  for (absl::string_view line : absl::StrSplit(Absl(self_cgroup), '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (f.size() != 3) {
      continue;
    }
    if (f[0] == "0" && f[1].empty()) {
      v2_path = std::string(Str(f[2]));
      continue;
    }
    for (absl::string_view c : absl::StrSplit(f[1], ',')) {
      v1_paths[std::string(Str(c))] = std::string(Str(f[2]));
    }
  }
  CgroupLayout layout;
  for (absl::string_view line : absl::StrSplit(Absl(mountinfo), '\n', absl::SkipEmpty())) {
    // id parent dev root mount-point options [optional...] - fstype source super-options
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
    size_t dash = 6;
    while (dash < f.size() && f[dash] != "-") {
      ++dash;
    }
    if (dash + 3 >= f.size()) {
      continue;  // not a mountinfo line
    }
    std::string_view root = Str(f[3]), point = Str(f[4]), type = Str(f[dash + 1]);
    if (type == "cgroup2" && v2_path) {
      if (std::optional<std::string> dir = Under(point, root, *v2_path)) {
        layout.v2 = *dir;
      }
    } else if (type == "cgroup") {
      for (absl::string_view opt : absl::StrSplit(f[dash + 3], ',')) {
        auto it = v1_paths.find(std::string(Str(opt)));
        if (it == v1_paths.end()) {
          continue;
        }
        if (std::optional<std::string> dir = Under(point, root, it->second)) {
          layout.v1[it->first] = *dir;
        }
      }
    }
  }
  return layout;
}

CgroupLayout DetectCgroupLayout() {
  absl::StatusOr<std::string> mountinfo = core::ReadFile("/proc/self/mountinfo", 4 << 20);
  absl::StatusOr<std::string> self = core::ReadFile("/proc/self/cgroup");
  if (!mountinfo.ok() || !self.ok()) {
    return {};
  }
  return ParseCgroupLayout(*mountinfo, *self);
}

absl::StatusOr<CgroupPtr> Cgroup::Create(std::string_view name, const CgroupLimits& limits,
                                         const CgroupLayout& layout) {
  if (!ValidName(name)) {
    return absl::InvalidArgumentError(fmt::format(
        "cgroup name '{}' must be 1-200 letters, digits, '.', '_' or '-' (not . or ..)", name));
  }
  CgroupPtr cgroup(new Cgroup());
  std::vector<std::string_view> on_v2;
  for (std::string_view controller : {"memory", "pids"}) {
    if (layout.v1.contains(std::string(controller))) {
      cgroup->CreateV1(std::string(name), limits, layout, controller);
    } else {
      on_v2.push_back(controller);
    }
  }
  if (!on_v2.empty() && layout.v2) {
    cgroup->CreateV2(std::string(name), limits, *layout.v2, on_v2);
  } else {
    for (std::string_view controller : on_v2) {
      cgroup->not_applied_.push_back(
          fmt::format("cgroup {}: this host offers no {} controller (neither cgroup v1 nor v2)",
                      controller, controller));
    }
  }
  return cgroup;
}

bool Cgroup::Enter(const std::string& dir, std::string_view what) {
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    not_applied_.push_back(
        fmt::format("cgroup {}: cannot create {}: {}", what, dir, std::strerror(errno)));
    return false;
  }
  if (std::find(directories_.begin(), directories_.end(), dir) == directories_.end()) {
    directories_.push_back(dir);
  }
  int fd = open((dir + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    not_applied_.push_back(
        fmt::format("cgroup {}: cannot open {}/cgroup.procs: {}", what, dir, std::strerror(errno)));
    return false;
  }
  procs_fds_.push_back(fd);
  return true;
}

void Cgroup::Limit(const std::string& dir, std::string_view file, std::uint64_t value,
                   std::string_view what) {
  std::string path = fmt::format("{}/{}", dir, file);
  if (!WriteText(path, fmt::format("{}", value))) {
    not_applied_.push_back(
        fmt::format("cgroup {}: cannot write {}: {}", what, path, std::strerror(errno)));
    return;
  }
  applied_.push_back(fmt::format("cgroup {}={} ({})", file, value, dir));
}

void Cgroup::CreateV1(const std::string& name, const CgroupLimits& limits,
                      const CgroupLayout& layout, std::string_view controller) {
  std::string dir = layout.v1.at(std::string(controller)) + "/" + name;
  bool memory = controller == "memory";
  std::uint64_t value = memory ? limits.memory : limits.pids;
  if (value == 0) {
    return;
  }
  std::string what = fmt::format("{} (v1)", controller);
  if (!Enter(dir, what)) {
    return;
  }
  Limit(dir, memory ? "memory.limit_in_bytes" : "pids.max", value, what);
}

void Cgroup::CreateV2(const std::string& name, const CgroupLimits& limits,
                      const std::string& parent, const std::vector<std::string_view>& controllers) {
  absl::StatusOr<std::string> offered = core::ReadFile(parent + "/cgroup.controllers");
  std::vector<std::string_view> usable;
  for (std::string_view controller : controllers) {
    bool listed =
        offered.ok() &&
        absl::c_linear_search(absl::StrSplit(*offered, absl::ByAnyChar(" \n"), absl::SkipEmpty()),
                              Absl(controller));
    if (!listed) {
      not_applied_.push_back(fmt::format(
          "cgroup {}: this host offers no {} controller (not in v1, not in {}/cgroup.controllers)",
          controller, controller, parent));
      continue;
    }
    // A v2 controller reaches a child only when the parent delegates it.
    if (!WriteText(parent + "/cgroup.subtree_control", fmt::format("+{}", controller))) {
      not_applied_.push_back(
          fmt::format("cgroup {} (v2): cannot enable it in {}/subtree_control: "
                      "{}",
                      controller, parent, std::strerror(errno)));
      continue;
    }
    usable.push_back(controller);
  }
  if (usable.empty() || !Enter(parent + "/" + name, "v2")) {
    return;
  }
  std::string dir = parent + "/" + name;
  for (std::string_view controller : usable) {
    bool memory = controller == "memory";
    std::uint64_t value = memory ? limits.memory : limits.pids;
    if (value != 0) {
      Limit(dir, memory ? "memory.max" : "pids.max", value, fmt::format("{} (v2)", controller));
    }
  }
}

void Cgroup::KillAll() {
  // The service's own children live on after it; they are ours to stop. Bounded: 2 s.
  for (int round = 0; round < 200; ++round) {
    bool empty = true;
    for (const std::string& dir : directories_) {
      absl::StatusOr<std::string> procs = core::ReadFile(dir + "/cgroup.procs");
      if (!procs.ok()) {
        continue;
      }
      for (absl::string_view line : absl::StrSplit(*procs, '\n', absl::SkipEmpty())) {
        int pid = 0;
        if (absl::SimpleAtoi(line, &pid) && pid > 0) {
          kill(pid, SIGKILL);
          empty = false;
        }
      }
    }
    if (empty) {
      return;
    }
    usleep(10'000);
  }
}

Cgroup::~Cgroup() {
  for (int fd : procs_fds_) {
    close(fd);
  }
  KillAll();
  for (const std::string& dir : directories_) {
    rmdir(dir.c_str());
  }
}

}  // namespace bulwark::sandbox
