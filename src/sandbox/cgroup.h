// Per-service cgroups for the sandbox: memory and pids limits under this process's own cgroup,
// through cgroup v2 (memory.max, pids.max) or v1 (memory.limit_in_bytes, pids.max), whichever the
// host offers for each controller. What the host cannot do is reported, not fatal.
// Thread-compatible; a Cgroup is owned by the SandboxedProcess whose service it limits.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace bulwark::sandbox {

// Where this process's own cgroups are: for each v1 controller its directory, and the v2 one.
struct CgroupLayout {
  std::map<std::string, std::string> v1;  // "memory" -> "/sys/fs/cgroup/memory/a/b"
  std::optional<std::string> v2;          // "/sys/fs/cgroup/unified/a/b"
};

// Parses /proc/self/mountinfo and /proc/self/cgroup text into a layout. Pure; mounts it cannot
// read are left out.
CgroupLayout ParseCgroupLayout(std::string_view mountinfo, std::string_view self_cgroup);
// Reads the two files of this process and parses them (an empty layout when unreadable).
CgroupLayout DetectCgroupLayout();

struct CgroupLimits {
  std::uint64_t memory = 0;  // bytes; 0: no limit
  std::uint32_t pids = 0;    // tasks; 0: no limit
};

class Cgroup;
using CgroupPtr = std::unique_ptr<Cgroup>;

class Cgroup {
 public:
  // Creates cgroup `name` (letters, digits, '.', '_', '-') under each own cgroup of `layout`
  // that has the memory or pids controller, writes the limits and opens cgroup.procs for the
  // child to join. A controller the host lacks, or a directory or limit the kernel refuses, is
  // listed in not_applied() with the reason. Errors: only a bad name.
  static absl::StatusOr<CgroupPtr> Create(std::string_view name, const CgroupLimits& limits,
                                          const CgroupLayout& layout);
  // Kills (SIGKILL by PID) what is left in the cgroup, the service's own children, and removes
  // the directories.
  ~Cgroup();
  Cgroup(const Cgroup&) = delete;
  Cgroup& operator=(const Cgroup&) = delete;

  // Descriptors (O_CLOEXEC, write-only) of the cgroup.procs files the child writes its PID to.
  const std::vector<int>& procs_fds() const { return procs_fds_; }
  const std::vector<std::string>& applied() const { return applied_; }
  const std::vector<std::string>& not_applied() const { return not_applied_; }
  const std::vector<std::string>& directories() const { return directories_; }

 private:
  Cgroup() = default;
  // Creates `dir` (once) and opens its cgroup.procs; false (with a reason) when it cannot.
  void KillAll();
  bool Enter(const std::string& dir, std::string_view what);
  void Limit(const std::string& dir, std::string_view file, std::uint64_t value,
             std::string_view what);
  void CreateV1(const std::string& name, const CgroupLimits& limits, const CgroupLayout& layout,
                std::string_view controller);
  void CreateV2(const std::string& name, const CgroupLimits& limits, const std::string& parent,
                const std::vector<std::string_view>& controllers);

  std::vector<int> procs_fds_;
  std::vector<std::string> applied_;
  std::vector<std::string> not_applied_;
  std::vector<std::string> directories_;
};

}  // namespace bulwark::sandbox
