#include "sandbox/seccomp_filter.h"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>

#include "core/status.h"
#include "fmt/format.h"

namespace bulwark::sandbox {
namespace {

struct SeccompRelease {
  void operator()(scmp_filter_ctx ctx) const { seccomp_release(ctx); }
};
using SeccompPtr = std::unique_ptr<void, SeccompRelease>;

// The namespace flags clone() may not carry: a new namespace would let the service leave the
// ones it was put in (a user namespace gives it every capability inside).
constexpr unsigned long kNamespaceFlags[] = {CLONE_NEWNS,    CLONE_NEWUTS, CLONE_NEWIPC,
                                             CLONE_NEWUSER,  CLONE_NEWPID, CLONE_NEWNET,
                                             CLONE_NEWCGROUP};

absl::Status Refused(std::string_view what, int rc) {
  return absl::InternalError(fmt::format("seccomp: {}: {}", what, std::strerror(-rc)));
}

absl::Status AddCloneRules(scmp_filter_ctx ctx) {
  for (unsigned long flag : kNamespaceFlags) {
    int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag));
    if (rc != 0) {
      return Refused("clone namespace rule", rc);
    }
  }
  // clone3 passes its flags in memory the filter cannot read: refuse it as unknown, so that libc
  // falls back to clone (what systemd and container runtimes do).
  int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
  return rc == 0 ? absl::OkStatus() : Refused("clone3 rule", rc);
}

absl::StatusOr<std::vector<sock_filter>> Export(scmp_filter_ctx ctx) {
  int fd = memfd_create("bulwark-seccomp", MFD_CLOEXEC);
  if (fd < 0) {
    return absl::InternalError(fmt::format("seccomp: memfd_create: {}", std::strerror(errno)));
  }
  int rc = seccomp_export_bpf(ctx, fd);
  off_t size = lseek(fd, 0, SEEK_END);
  std::vector<sock_filter> program(size > 0 ? size / sizeof(sock_filter) : 0);
  ssize_t got = rc == 0 && size > 0 ? pread(fd, program.data(), size, 0) : -1;
  close(fd);
  if (rc != 0) {
    return Refused("export", rc);
  }
  if (got != size || size % sizeof(sock_filter) != 0) {
    return absl::InternalError("seccomp: the exported program could not be read back");
  }
  return program;
}

}  // namespace

const std::vector<DeniedSyscall>& DeniedSyscalls() {
  static const std::vector<DeniedSyscall> kList = {
      {"ptrace", "reads and rewrites another process's memory and registers"},
      {"process_vm_readv", "reads another process's memory"},
      {"process_vm_writev", "writes another process's memory"},
      {"mount", "changes the file system view (the sandbox's mounts are fixed)"},
      {"umount2", "could uncover what the private /tmp hides"},
      {"open_tree", "the new mount API: mounts without calling mount"},
      {"move_mount", "the new mount API: mounts without calling mount"},
      {"fsopen", "the new mount API: mounts without calling mount"},
      {"fsconfig", "the new mount API: mounts without calling mount"},
      {"fsmount", "the new mount API: mounts without calling mount"},
      {"fspick", "the new mount API: mounts without calling mount"},
      {"mount_setattr", "could make the read-only root writable again"},
      {"pivot_root", "changes the root file system"},
      {"chroot", "changes the root directory (a step of classic escapes)"},
      {"kexec_load", "replaces the running kernel"},
      {"kexec_file_load", "replaces the running kernel"},
      {"init_module", "loads kernel code"},
      {"finit_module", "loads kernel code"},
      {"delete_module", "unloads kernel code"},
      {"bpf", "loads programs into the kernel; a frequent source of kernel exploits"},
      {"perf_event_open", "observes other processes and the kernel; large attack surface"},
      {"keyctl", "the kernel keyring is not namespaced: reaches other services' keys"},
      {"add_key", "the kernel keyring is not namespaced"},
      {"request_key", "the kernel keyring is not namespaced"},
      {"userfaultfd", "stalls the kernel at will, the usual helper of race exploits"},
      {"io_uring_setup", "io_uring runs I/O that seccomp never sees; large kernel attack surface"},
      {"io_uring_enter", "io_uring runs I/O that seccomp never sees"},
      {"io_uring_register", "io_uring runs I/O that seccomp never sees"},
      {"pidfd_getfd", "copies a descriptor out of another process"},
      {"unshare", "new namespaces (a user namespace grants capabilities inside it)"},
      {"setns", "joins another process's namespaces"},
      {"swapon", "changes the host's swap"},
      {"swapoff", "changes the host's swap"},
      {"reboot", "reboots the host"},
      {"open_by_handle_at", "opens files by handle, bypassing paths (the 'shocker' escape)"},
      {"iopl", "raw I/O port access"},
      {"ioperm", "raw I/O port access"},
      {"quotactl", "changes the host's disk quotas"},
      {"acct", "turns process accounting on the host on or off"},
      {"settimeofday", "sets the host clock (breaks token and certificate expiry)"},
      {"clock_settime", "sets the host clock (breaks token and certificate expiry)"},
      {"clock_adjtime", "adjusts the host clock"},
      {"personality", "switches execution domains (e.g. disables address randomization)"},
  };
  return kList;
}

absl::StatusOr<SeccompProgram> CompileDenyList() {
  SeccompPtr ctx(seccomp_init(SCMP_ACT_ALLOW));
  if (ctx == nullptr) {
    return absl::InternalError("seccomp: seccomp_init failed");
  }
  SeccompProgram out;
  for (const DeniedSyscall& call : DeniedSyscalls()) {
    int nr = seccomp_syscall_resolve_name(std::string(call.name).c_str());
    if (nr == __NR_SCMP_ERROR || nr < 0) {
      continue;  // not a system call of this architecture (iopl/ioperm exist only on x86)
    }
    if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EPERM), nr, 0); rc != 0) {
      return Refused(fmt::format("rule for {}", call.name), rc);
    }
    ++out.rule_count;
  }
  BULWARK_RETURN_IF_ERROR(AddCloneRules(ctx.get()));
  BULWARK_ASSIGN_OR_RETURN(out.instructions, Export(ctx.get()));
  return out;
}

}  // namespace bulwark::sandbox
