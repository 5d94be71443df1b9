#include "sandbox/seccomp_filter.h"

#include <errno.h>
#include <gtest/gtest.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <string>

namespace bulwark::sandbox {
namespace {

TEST(SeccompFilterTest, ListsEveryCallTheIssueNames) {
  std::set<std::string> names;
  for (const DeniedSyscall& call : DeniedSyscalls()) {
    EXPECT_FALSE(call.why.empty()) << call.name;
    names.insert(std::string(call.name));
  }
  for (const char* required : {"ptrace",
                               "process_vm_readv",
                               "process_vm_writev",
                               "mount",
                               "umount2",
                               "pivot_root",
                               "chroot",
                               "kexec_load",
                               "kexec_file_load",
                               "init_module",
                               "finit_module",
                               "delete_module",
                               "bpf",
                               "perf_event_open",
                               "keyctl",
                               "add_key",
                               "request_key",
                               "userfaultfd",
                               "unshare",
                               "setns",
                               "swapon",
                               "swapoff",
                               "reboot",
                               "open_by_handle_at",
                               "iopl",
                               "ioperm",
                               "quotactl",
                               "acct",
                               "settimeofday",
                               "clock_settime",
                               "personality"}) {
    EXPECT_TRUE(names.contains(required)) << required;
  }
}

TEST(SeccompFilterTest, CompilesForThisArchitecture) {
  absl::StatusOr<SeccompProgram> program = CompileDenyList();
  ASSERT_TRUE(program.ok()) << program.status();
  EXPECT_GT(program->instructions.size(), 10u);
#if defined(__x86_64__)
  EXPECT_EQ(program->rule_count, static_cast<int>(DeniedSyscalls().size()));
#endif
}

// The filter installed in a forked child (no_new_privs: no privilege needed) refuses the calls
// and lets ordinary ones through. The child reports through its exit code which check failed.
TEST(SeccompFilterTest, InstalledFilterRefusesTheCalls) {
  absl::StatusOr<SeccompProgram> program = CompileDenyList();
  ASSERT_TRUE(program.ok());
  sock_fprog fprog{static_cast<unsigned short>(program->instructions.size()),
                   program->instructions.data()};
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) != 0) {
      _exit(10);
    }
    // Check n exits with code n when its condition does not hold.
    int n = 10;
    auto check = [&n](bool holds) {
      ++n;
      if (!holds) {
        _exit(n);
      }
    };
    check(ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) < 0 && errno == EPERM);
    check(mount("none", "/", "tmpfs", 0, nullptr) < 0 && errno == EPERM);
    check(unshare(CLONE_NEWUSER) < 0 && errno == EPERM);
    check(syscall(SYS_clone3, nullptr, 0) < 0 && errno == ENOSYS);
    check(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0) < 0 && errno == EPERM);
    check(syscall(SYS_fsopen, "tmpfs", 0) < 0 && errno == EPERM);
    check(syscall(SYS_io_uring_setup, 8, nullptr) < 0 && errno == EPERM);
    check(getpid() > 0);   // an ordinary call still works
    pid_t child = fork();  // and fork (clone without namespace flags) too
    check(child >= 0);
    if (child == 0) {
      _exit(0);
    }
    int st = 0;
    check(waitpid(child, &st, 0) == child && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "check " << WEXITSTATUS(status) - 10 << " failed";
}

}  // namespace
}  // namespace bulwark::sandbox
