// The children `bulwark up` supervises: host processes (the authority, the gateway, the
// sidecars: forked and exec'd here, each in a session of its own, optionally under its own uid)
// and sandboxed services (sandbox::Spawn), behind one small interface. Thread-compatible.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sandbox/sandbox.h"

namespace bulwark::up {

// A running child. Destroying it before it was reaped kills it (SIGKILL by PID) and reaps it.
class Child {
 public:
  virtual ~Child() = default;
  virtual pid_t pid() const = 0;
  // Returns the exit code (128 + signal when killed) once it has exited, else nullopt; never
  // blocks.
  virtual absl::StatusOr<std::optional<int>> TryWait() = 0;
  // Sends `signal` by PID while it has not been reaped.
  virtual void Signal(int signal) = 0;
};
using ChildPtr = std::unique_ptr<Child>;

struct HostProcessSpec {
  std::vector<std::string> argv;  // argv[0] an absolute path
  std::vector<std::string> env;   // the whole environment
  std::string working_directory = "/";
  uid_t uid = 0;  // 0: keep ours (root); else real, effective and saved uid and gid set to it
  gid_t gid = 0;
  int output_fd = -1;  // stdout and stderr (stdin is /dev/null)
  int fd3 = -1;        // becomes descriptor 3 (the join token pipe); -1: none
};

// Forks and execs `spec` in a session of its own (Ctrl-C reaches up, which stops the children
// in order), with PR_SET_PDEATHSIG(SIGKILL) so it cannot outlive up. Every other descriptor is
// closed. Errors: fork fails, or the child could not change ids or exec (with errno).
absl::StatusOr<ChildPtr> StartHostProcess(const HostProcessSpec& spec);

// Wraps a sandboxed service as a Child.
ChildPtr AsChild(sandbox::SandboxedProcessPtr process);

}  // namespace bulwark::up
