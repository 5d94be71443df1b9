// The process sandbox of a service (ARCHITECTURE.md §7, docs/sandbox.md): Spawn forks a child
// that, step by step and checking each, joins a per-service cgroup, gets a private mount
// namespace with its own tmpfs /tmp and a private network namespace with only `lo`, switches to
// the service's uid/gid, sets no_new_privs, drops every capability, lowers its rlimits, installs
// the seccomp deny-list and execs the service. A failing step is reported to the parent over a
// CLOEXEC pipe and Spawn returns it. Thread-compatible; Spawn may be called from any thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sandbox/cgroup.h"

namespace bulwark::sandbox {

struct SandboxSpec {
  std::string name;               // the service; names its cgroup (CgroupNameFor)
  std::vector<std::string> argv;  // argv[0] without '/' is looked up in the env's PATH
  std::vector<std::string> env;   // the service's whole environment, "KEY=value"
  uid_t uid = 0;                  // the service's own user and group: never 0
  gid_t gid = 0;
  std::string working_directory = "/";   // entered as the service user
  std::uint64_t memory = 256ULL << 20;   // address space (RLIMIT_AS) and cgroup memory limit
  std::uint32_t nofile = 1024;           // RLIMIT_NOFILE
  std::uint32_t nproc = 64;              // RLIMIT_NPROC (per uid) and cgroup pids.max
  std::uint64_t tmp_size = 64ULL << 20;  // size of the private tmpfs /tmp
  bool private_network = true;           // a network namespace of its own (only lo)
  // Every mount read-only except /tmp and `writable` (existing absolute paths).
  bool read_only_root = false;
  std::vector<std::string> writable;
  bool cgroups = true;        // try the per-service cgroup
  std::vector<int> keep_fds;  // inherited descriptors besides 0, 1, 2 (same numbers in the child)
  // When >= 0: the service's stdout and stderr (stdin /dev/null, a session of its own, no
  // controlling terminal); -1: all three inherited.
  int output_fd = -1;
};

// What Spawn put in place and what it could not (with the reason), one line each.
struct SandboxReport {
  std::vector<std::string> applied;
  std::vector<std::string> not_applied;
};

class SandboxedProcess;
using SandboxedProcessPtr = std::unique_ptr<SandboxedProcess>;

// A running sandboxed service. Destroying it before Wait() kills it (SIGKILL by PID) and reaps
// it; then its cgroup is removed.
class SandboxedProcess {
 public:
  SandboxedProcess(pid_t pid, SandboxReport report, CgroupPtr cgroup)
      : pid_(pid), report_(std::move(report)), cgroup_(std::move(cgroup)) {}
  ~SandboxedProcess();
  SandboxedProcess(const SandboxedProcess&) = delete;
  SandboxedProcess& operator=(const SandboxedProcess&) = delete;

  pid_t pid() const { return pid_; }
  const SandboxReport& report() const { return report_; }
  // Waits for the service to exit (retrying on EINTR); returns its exit code, or 128 + the
  // signal that ended it. Errors: waitpid fails, or it was already waited for.
  absl::StatusOr<int> Wait();
  // Returns the exit code (as Wait) when the service has exited, nullopt while it runs; never
  // blocks. Errors: waitpid fails, or it was already waited for.
  absl::StatusOr<std::optional<int>> TryWait();
  // Sends `signal` to the service (by PID, only while it has not been reaped).
  void Signal(int signal);

 private:
  absl::StatusOr<std::optional<int>> Reap(int options);

  pid_t pid_;
  bool reaped_ = false;
  SandboxReport report_;
  CgroupPtr cgroup_;
};

// Waits for child `pid` with waitpid(`options`: 0 or WNOHANG), retrying on EINTR. Returns its
// exit code, or 128 + the signal that ended it; nullopt when WNOHANG and it still runs.
absl::StatusOr<std::optional<int>> WaitForExit(pid_t pid, int options);

// Returns the name of a new cgroup for service `name`: "bulwark-<pid>-<n>-<name>", with this
// process's pid and a count of the calls, so that two meshes (or two runs of one service) never
// share a cgroup: stopping one would kill the other's processes, and they would share its limits.
std::string CgroupNameFor(std::string_view name);

// Checks `spec`: a command, non-root uid and gid, sane limits. Errors name the field.
absl::Status ValidateSpec(const SandboxSpec& spec);

// Starts spec.argv sandboxed (see the file comment) and returns it once execve succeeded.
// Errors: an invalid spec, the command not found, the seccomp filter not compiled, fork failing,
// or "sandbox step '<step>' failed: <errno text>" when the child could not apply a protection
// (the child has exited and been reaped then). Not being root shows as the namespace step
// failing with EPERM, with a hint.
absl::StatusOr<SandboxedProcessPtr> Spawn(const SandboxSpec& spec);

}  // namespace bulwark::sandbox
