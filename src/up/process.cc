#include "up/process.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "fmt/format.h"

namespace bulwark::up {
namespace {

class HostProcess : public Child {
 public:
  explicit HostProcess(pid_t pid) : pid_(pid) {}
  ~HostProcess() override {
    if (!reaped_) {
      kill(pid_, SIGKILL);
      (void)sandbox::WaitForExit(pid_, 0);
    }
  }
  pid_t pid() const override { return pid_; }
  absl::StatusOr<std::optional<int>> TryWait() override {
    if (reaped_) {
      return absl::FailedPreconditionError(fmt::format("process {} was already reaped", pid_));
    }
    absl::StatusOr<std::optional<int>> code = sandbox::WaitForExit(pid_, WNOHANG);
    reaped_ = code.ok() && code->has_value();
    return code;
  }
  void Signal(int signal) override {
    if (!reaped_) {
      kill(pid_, signal);
    }
  }

 private:
  pid_t pid_;
  bool reaped_ = false;
};

class SandboxedChild : public Child {
 public:
  explicit SandboxedChild(sandbox::SandboxedProcessPtr process) : process_(std::move(process)) {}
  pid_t pid() const override { return process_->pid(); }
  absl::StatusOr<std::optional<int>> TryWait() override { return process_->TryWait(); }
  void Signal(int signal) override { process_->Signal(signal); }

 private:
  sandbox::SandboxedProcessPtr process_;
};

std::vector<char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const std::string& s : strings) {
    out.push_back(const_cast<char*>(s.c_str()));
  }
  out.push_back(nullptr);
  return out;
}

// Sends errno to the parent and exits.
[[noreturn]] void Fail(int error_fd) {
  int error = errno;
  (void)!write(error_fd, &error, sizeof error);
  _exit(127);
}

// In the child, between fork and exec: only async-signal-safe calls on prepared memory.
[[noreturn]] void RunChild(const HostProcessSpec& spec, char* const* argv, char* const* envp,
                           int error_fd) {
  auto fail = [error_fd] { Fail(error_fd); };
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) {
    signal(sig, SIG_DFL);
  }
  int null_fd = open("/dev/null", O_RDONLY);
  if (setsid() < 0 || null_fd < 0 || dup2(null_fd, 0) < 0 ||
      (spec.output_fd >= 0 && (dup2(spec.output_fd, 1) < 0 || dup2(spec.output_fd, 2) < 0)) ||
      (spec.fd3 >= 0 && dup2(spec.fd3, 3) < 0)) {
    fail();
  }
  if (spec.fd3 == 3 && fcntl(3, F_SETFD, 0) != 0) {  // dup2 onto itself keeps CLOEXEC
    fail();
  }
  // Everything else goes; the error pipe is CLOEXEC and survives until exec.
  unsigned first = spec.fd3 >= 0 ? 4 : 3;
  if (syscall(SYS_close_range, first, ~0U, static_cast<unsigned>(CLOSE_RANGE_CLOEXEC)) != 0) {
    fail();
  }
  if (spec.uid != 0) {
    // Raw system calls: the glibc wrappers would try to signal the parent's other threads.
    if (syscall(SYS_setgroups, 0, nullptr) != 0 ||
        syscall(SYS_setresgid, spec.gid, spec.gid, spec.gid) != 0 ||
        syscall(SYS_setresuid, spec.uid, spec.uid, spec.uid) != 0) {
      fail();
    }
  }
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 ||
      chdir(spec.working_directory.c_str()) != 0) {
    fail();
  }
  execve(argv[0], argv, envp);
  Fail(error_fd);
}

}  // namespace

absl::StatusOr<ChildPtr> StartHostProcess(const HostProcessSpec& spec) {
  if (spec.argv.empty()) {
    return absl::InvalidArgumentError("no command");
  }
  std::vector<char*> argv = CStrings(spec.argv);
  std::vector<char*> envp = CStrings(spec.env);
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return absl::InternalError(fmt::format("pipe: {}", std::strerror(errno)));
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(pipe_fds[0]);
    RunChild(spec, argv.data(), envp.data(), pipe_fds[1]);
  }
  int saved = errno;
  close(pipe_fds[1]);
  if (pid < 0) {
    close(pipe_fds[0]);
    return absl::ResourceExhaustedError(fmt::format("fork: {}", std::strerror(saved)));
  }
  auto child = std::make_unique<HostProcess>(pid);
  int error = 0;
  ssize_t got;
  do {
    got = read(pipe_fds[0], &error, sizeof error);
  } while (got < 0 && errno == EINTR);
  close(pipe_fds[0]);
  if (got > 0) {
    return absl::UnavailableError(
        fmt::format("cannot start {}: {}", spec.argv[0], std::strerror(error)));
  }
  return child;
}

ChildPtr AsChild(sandbox::SandboxedProcessPtr process) {
  return std::make_unique<SandboxedChild>(std::move(process));
}

}  // namespace bulwark::up
