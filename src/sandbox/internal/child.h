// The forked child's side of Spawn: everything here runs between fork and execve, so it only
// makes system calls on memory prepared by the parent (async-signal-safe: no allocation, no
// locks, no logging). A failing step writes a ChildFailure to the error pipe and exits.
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <cstdint>

namespace bulwark::sandbox::internal {

// The steps, in the order the child takes them; names for messages in StepName().
enum class Step : std::int32_t {
  kSignals,
  kStdio,
  kCgroup,
  kMountNamespace,
  kMountPrivate,
  kMountTmp,
  kBindWritable,
  kReadOnlyRoot,
  kWritableAgain,
  kNetworkNamespace,
  kLoopbackUp,
  kMountSys,
  kCloseFds,
  kSecurebits,
  kBoundingSet,
  kSetGroups,
  kSetGid,
  kSetUid,
  kVerifyIds,
  kParentDeath,
  kChdir,
  kNoNewPrivs,
  kAmbientCaps,
  kCapabilities,
  kRlimitNofile,
  kRlimitNproc,
  kRlimitAs,
  kRlimitCore,
  kSeccomp,
  kExec,
};

const char* StepName(Step step);

// What the child sends when a step fails: the step and its errno.
struct ChildFailure {
  Step step;
  std::int32_t error;
};

// Everything the child needs, prepared (and owned) by the parent before fork.
struct ChildPlan {
  int error_fd = -1;  // write end of the CLOEXEC pipe
  int output_fd =
      -1;  // becomes stdout and stderr (stdin: /dev/null, a session of its own); -1: inherited
  pid_t parent = 0;
  const int* procs_fds = nullptr;  // cgroup.procs files to write our PID to
  int procs_count = 0;
  const int* keep_fds = nullptr;  // sorted, all >= 3
  int keep_count = 0;
  const char* tmp_options = nullptr;  // tmpfs options for /tmp
  bool read_only_root = false;
  const char* const* writable = nullptr;  // absolute paths that stay writable
  int writable_count = 0;
  bool private_network = true;
  uid_t uid = 0;
  gid_t gid = 0;
  const char* working_directory = "/";
  std::uint64_t memory = 0;
  std::uint32_t nofile = 0;
  std::uint32_t nproc = 0;
  sock_fprog seccomp{};
  const char* path = nullptr;  // resolved executable
  char* const* argv = nullptr;
  char* const* envp = nullptr;
};

// Applies every step of `plan` and execs; never returns.
[[noreturn]] void RunChild(const ChildPlan& plan);

}  // namespace bulwark::sandbox::internal
