#include "sandbox/internal/child.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstring>

namespace bulwark::sandbox::internal {
namespace {

[[noreturn]] void Fail(const ChildPlan& plan, Step step, int error) {
  ChildFailure failure{step, error};
  ssize_t ignored = write(plan.error_fd, &failure, sizeof failure);
  (void)ignored;
  _exit(127);
}

// Runs one step: `ok` false means it failed with errno.
void Check(const ChildPlan& plan, Step step, bool ok) {
  if (!ok) {
    Fail(plan, step, errno);
  }
}

bool ResetSignals() {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    sigaction(sig, &dfl, nullptr);  // SIGKILL/SIGSTOP and RT signals used by libc may refuse
  }
  sigset_t none;
  sigemptyset(&none);
  return sigprocmask(SIG_SETMASK, &none, nullptr) == 0;
}

bool JoinCgroups(const ChildPlan& plan) {
  char digits[24];
  int n = 0;
  for (pid_t pid = getpid(); pid > 0; pid /= 10) {
    digits[n++] = static_cast<char>('0' + pid % 10);
  }
  char text[24];
  for (int i = 0; i < n; ++i) {
    text[i] = digits[n - 1 - i];
  }
  for (int i = 0; i < plan.procs_count; ++i) {
    if (write(plan.procs_fds[i], text, n) != n) {
      return false;
    }
  }
  return true;
}

bool LoopbackUp() {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return false;
  }
  ifreq req{};
  std::strncpy(req.ifr_name, "lo", IFNAMSIZ - 1);
  bool ok = ioctl(fd, SIOCGIFFLAGS, &req) == 0;
  req.ifr_flags = static_cast<short>(req.ifr_flags | IFF_UP);
  ok = ok && ioctl(fd, SIOCSIFFLAGS, &req) == 0;
  int saved = errno;
  close(fd);
  errno = saved;
  return ok;
}

// Marks every descriptor >= 3 close-on-exec except the kept ones (the error pipe is CLOEXEC).
bool CloseInherited(const ChildPlan& plan) {
  unsigned first = 3;
  for (int i = 0; i <= plan.keep_count; ++i) {
    unsigned last = i < plan.keep_count ? static_cast<unsigned>(plan.keep_fds[i]) - 1 : UINT_MAX;
    if (last >= first &&
        syscall(SYS_close_range, first, last, static_cast<unsigned>(CLOSE_RANGE_CLOEXEC)) != 0) {
      return false;
    }
    if (i < plan.keep_count) {
      if (fcntl(plan.keep_fds[i], F_SETFD, 0) != 0) {
        return false;
      }
      first = static_cast<unsigned>(plan.keep_fds[i]) + 1;
    }
  }
  return true;
}

// Makes `output_fd` stdout and stderr and /dev/null stdin, and starts a session of its own: no
// controlling terminal (so no TIOCSTI into it, and a Ctrl-C reaches the supervisor, not us).
bool RedirectStdio(int output_fd) {
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(output_fd, 1) < 0 || dup2(output_fd, 2) < 0) {
    return false;
  }
  if (null_fd > 2) {
    close(null_fd);
  }
  return setsid() >= 0;
}

bool DropBoundingSet() {
  for (int cap = 0; cap < 64; ++cap) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      if (errno == EINVAL) {
        return true;  // past the last capability this kernel knows
      }
      return false;
    }
  }
  return true;
}

bool SwitchIds(const ChildPlan& plan) {
  // Raw system calls: glibc's wrappers would broadcast the change to threads the parent had.
  Check(plan, Step::kSetGroups, syscall(SYS_setgroups, 0, nullptr) == 0);
  Check(plan, Step::kSetGid, syscall(SYS_setresgid, plan.gid, plan.gid, plan.gid) == 0);
  Check(plan, Step::kSetUid, syscall(SYS_setresuid, plan.uid, plan.uid, plan.uid) == 0);
  uid_t r, e, s;
  gid_t rg, eg, sg;
  errno = EPERM;
  return getresuid(&r, &e, &s) == 0 && getresgid(&rg, &eg, &sg) == 0 && r == plan.uid &&
         e == plan.uid && s == plan.uid && rg == plan.gid && eg == plan.gid && sg == plan.gid &&
         getgroups(0, nullptr) == 0;
}

bool ClearCapabilities() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capset, &header, data) != 0) {
    return false;
  }
  __user_cap_data_struct now[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, now) != 0) {
    return false;
  }
  errno = EPERM;
  for (const auto& d : now) {
    if (d.effective != 0 || d.permitted != 0 || d.inheritable != 0) {
      return false;
    }
  }
  return true;
}

// Makes every mount read-only except /tmp and the writable paths, each first made a mount of its
// own (a bind onto itself) so that it can be switched back to read-write alone.
void ReadOnlyRoot(const ChildPlan& plan) {
  for (int i = 0; i < plan.writable_count; ++i) {
    Check(plan, Step::kBindWritable,
          mount(plan.writable[i], plan.writable[i], nullptr, MS_BIND | MS_REC, nullptr) == 0);
  }
  mount_attr read_only{};
  read_only.attr_set = MOUNT_ATTR_RDONLY;
  Check(plan, Step::kReadOnlyRoot,
        mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, &read_only, sizeof read_only) == 0);
  mount_attr writable{};
  writable.attr_clr = MOUNT_ATTR_RDONLY;
  Check(plan, Step::kWritableAgain,
        mount_setattr(AT_FDCWD, "/tmp", 0, &writable, sizeof writable) == 0);
  for (int i = 0; i < plan.writable_count; ++i) {
    Check(plan, Step::kWritableAgain,
          mount_setattr(AT_FDCWD, plan.writable[i], 0, &writable, sizeof writable) == 0);
  }
}

bool Limit(int resource, rlim_t value) {
  rlimit limit{value, value};
  return setrlimit(resource, &limit) == 0;
}

}  // namespace

const char* StepName(Step step) {
  switch (step) {
    case Step::kStdio:
      return "stdio and session";
    case Step::kSignals:
      return "reset signals";
    case Step::kCgroup:
      return "join cgroup";
    case Step::kMountNamespace:
      return "mount namespace";
    case Step::kMountPrivate:
      return "make mounts private";
    case Step::kMountTmp:
      return "private /tmp";
    case Step::kBindWritable:
      return "bind writable path";
    case Step::kReadOnlyRoot:
      return "read-only root";
    case Step::kWritableAgain:
      return "writable path";
    case Step::kNetworkNamespace:
      return "network namespace";
    case Step::kLoopbackUp:
      return "bring up lo";
    case Step::kMountSys:
      return "sysfs of the network namespace";
    case Step::kCloseFds:
      return "close inherited descriptors";
    case Step::kSecurebits:
      return "securebits";
    case Step::kBoundingSet:
      return "drop bounding capabilities";
    case Step::kSetGroups:
      return "setgroups";
    case Step::kSetGid:
      return "setgid";
    case Step::kSetUid:
      return "setuid";
    case Step::kVerifyIds:
      return "verify ids";
    case Step::kParentDeath:
      return "parent death signal";
    case Step::kChdir:
      return "working directory";
    case Step::kNoNewPrivs:
      return "no_new_privs";
    case Step::kAmbientCaps:
      return "clear ambient capabilities";
    case Step::kCapabilities:
      return "clear capabilities";
    case Step::kRlimitNofile:
      return "rlimit nofile";
    case Step::kRlimitNproc:
      return "rlimit nproc";
    case Step::kRlimitAs:
      return "rlimit address space";
    case Step::kRlimitCore:
      return "rlimit core";
    case Step::kSeccomp:
      return "seccomp filter";
    case Step::kExec:
      return "execve";
  }
  return "unknown step";
}

void RunChild(const ChildPlan& plan) {
  Check(plan, Step::kSignals, ResetSignals());
  if (plan.output_fd >= 0) {
    Check(plan, Step::kStdio, RedirectStdio(plan.output_fd));
  }
  Check(plan, Step::kCgroup, JoinCgroups(plan));
  Check(plan, Step::kMountNamespace, unshare(CLONE_NEWNS) == 0);
  // Without this, our /tmp mount would propagate back to the host's shared mounts.
  Check(plan, Step::kMountPrivate, mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0);
  Check(plan, Step::kMountTmp,
        mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, plan.tmp_options) == 0);
  if (plan.private_network) {
    Check(plan, Step::kNetworkNamespace, unshare(CLONE_NEWNET) == 0);
    Check(plan, Step::kLoopbackUp, LoopbackUp());
    // sysfs shows the network namespace of whoever mounted it: a fresh, read-only one shows
    // ours (and hides the host's cgroupfs under /sys/fs/cgroup).
    Check(plan, Step::kMountSys,
          mount("sysfs", "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) ==
              0);
  }
  if (plan.read_only_root) {
    ReadOnlyRoot(plan);
  }
  Check(plan, Step::kCloseFds, CloseInherited(plan));
  // While still root: no way back to root privileges through uid 0, set-uid files or keepcaps.
  Check(plan, Step::kSecurebits,
        prctl(PR_SET_SECUREBITS,
              SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP_LOCKED |
                  SECBIT_KEEP_CAPS_LOCKED,
              0, 0, 0) == 0);
  // The bounding set needs CAP_SETPCAP, which setuid below takes away.
  Check(plan, Step::kBoundingSet, DropBoundingSet());
  Check(plan, Step::kVerifyIds, SwitchIds(plan));
  // Set after the id change, which clears it; then make sure the parent did not die meanwhile.
  Check(plan, Step::kParentDeath, prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == 0);
  errno = ESRCH;
  Check(plan, Step::kParentDeath, getppid() == plan.parent);
  Check(plan, Step::kChdir, chdir(plan.working_directory) == 0);
  Check(plan, Step::kNoNewPrivs, prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
  Check(plan, Step::kAmbientCaps, prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == 0);
  Check(plan, Step::kCapabilities, ClearCapabilities());
  Check(plan, Step::kRlimitNofile, Limit(RLIMIT_NOFILE, plan.nofile));
  Check(plan, Step::kRlimitNproc, Limit(RLIMIT_NPROC, plan.nproc));
  Check(plan, Step::kRlimitAs, Limit(RLIMIT_AS, plan.memory));
  Check(plan, Step::kRlimitCore, Limit(RLIMIT_CORE, 0));
  Check(plan, Step::kSeccomp, prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &plan.seccomp, 0, 0) == 0);
  execve(plan.path, plan.argv, plan.envp);
  Fail(plan, Step::kExec, errno);
}

}  // namespace bulwark::sandbox::internal
