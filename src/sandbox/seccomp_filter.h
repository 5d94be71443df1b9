// The seccomp deny-list of sandboxed services (docs/sandbox.md lists each system call and why):
// compiled with libseccomp in the parent into a classic BPF program, so that the forked child
// only has to install it with one prctl (no allocation after fork). Thread-compatible.
#pragma once

#include <linux/filter.h>

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace bulwark::sandbox {

// One refused system call and the reason it is refused.
struct DeniedSyscall {
  std::string_view name;
  std::string_view why;
};

// Returns the deny-list: every call fails with EPERM (clone3 with ENOSYS, so that libc falls back
// to clone, whose namespace flags the filter can inspect; clone with any CLONE_NEW* flag fails
// with EPERM).
const std::vector<DeniedSyscall>& DeniedSyscalls();

// A compiled filter: the BPF instructions for PR_SET_SECCOMP (kept alive by this value).
struct SeccompProgram {
  std::vector<sock_filter> instructions;
  int rule_count = 0;  // system calls refused (names the kernel of this architecture knows)
};

// Compiles the deny-list for the native architecture; other architectures' calls (32-bit int 0x80,
// x32) kill the process. Errors: libseccomp refuses a rule or cannot export the program.
absl::StatusOr<SeccompProgram> CompileDenyList();

}  // namespace bulwark::sandbox
