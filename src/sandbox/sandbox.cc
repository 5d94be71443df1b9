#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/status.h"
#include "fmt/format.h"
#include "sandbox/internal/child.h"
#include "sandbox/seccomp_filter.h"

namespace bulwark::sandbox {
namespace {

constexpr char kDefaultPath[] = "/usr/local/bin:/usr/bin:/bin";

// Finds argv[0] the way execvp would, in the service's PATH (resolved before fork).
absl::StatusOr<std::string> ResolveCommand(const SandboxSpec& spec) {
  const std::string& command = spec.argv.front();
  if (command.find('/') != std::string::npos) {
    return command;
  }
  std::string path = kDefaultPath;
  for (const std::string& entry : spec.env) {
    if (entry.starts_with("PATH=")) {
      path = entry.substr(5);
    }
  }
  for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
    std::string candidate = fmt::format("{}/{}", dir, command);
    if (access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return absl::NotFoundError(
      fmt::format("sandbox: command '{}' not found in PATH {}", command, path));
}

std::vector<char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const std::string& s : strings) {
    out.push_back(const_cast<char*>(s.c_str()));
  }
  out.push_back(nullptr);
  return out;
}

SandboxReport Protections(const SandboxSpec& spec, const SeccompProgram& seccomp,
                          const Cgroup* cgroup) {
  SandboxReport report;
  std::vector<std::string> kept = {"0", "1", "2"};
  for (int fd : spec.keep_fds) {
    kept.push_back(fmt::format("{}", fd));
  }
  report.applied = {
      fmt::format("user {}:{} (no supplementary groups)", spec.uid, spec.gid),
      fmt::format("mount namespace with a private /tmp (tmpfs, {} bytes)", spec.tmp_size),
      "no_new_privs",
      "capabilities dropped (bounding, ambient, effective, permitted, inheritable; securebits "
      "locked)",
      fmt::format("rlimits nofile={} nproc={} as={} core=0", spec.nofile, spec.nproc, spec.memory),
      fmt::format("seccomp deny-list ({} system calls, clone with namespace flags)",
                  seccomp.rule_count),
      fmt::format("descriptors closed except {}", absl::StrJoin(kept, ",")),
  };
  if (spec.read_only_root) {
    std::vector<std::string> writable = {"/tmp"};
    writable.insert(writable.end(), spec.writable.begin(), spec.writable.end());
    report.applied.push_back(
        fmt::format("read-only file system except {}", absl::StrJoin(writable, ", ")));
  } else {
    report.not_applied.push_back("read-only root: not requested (the uid's permissions apply)");
  }
  if (spec.private_network) {
    report.applied.push_back("network namespace (only lo, up; /sys remounted read-only)");
  } else {
    report.not_applied.push_back("network namespace: not requested (shares the host network)");
  }
  if (cgroup != nullptr) {
    report.applied.insert(report.applied.end(), cgroup->applied().begin(), cgroup->applied().end());
    report.not_applied.insert(report.not_applied.end(), cgroup->not_applied().begin(),
                              cgroup->not_applied().end());
  } else {
    report.not_applied.push_back("cgroup: not requested");
  }
  return report;
}

// Reads the child's report: EOF (the pipe closed by execve) means success.
absl::Status AwaitExec(int error_fd, pid_t pid) {
  internal::ChildFailure failure{};
  ssize_t n;
  do {
    n = read(error_fd, &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  if (n == 0) {
    return absl::OkStatus();
  }
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  if (n != sizeof failure) {
    return absl::InternalError("sandbox: the child died before it could exec");
  }
  std::string hint;
  if (failure.error == EPERM && geteuid() != 0) {
    hint = " (the sandbox needs root: namespaces, setuid and the bounding set need privileges)";
  }
  return absl::FailedPreconditionError(fmt::format("sandbox step '{}' failed: {}{}",
                                                   internal::StepName(failure.step),
                                                   std::strerror(failure.error), hint));
}

}  // namespace

absl::Status ValidateSpec(const SandboxSpec& spec) {
  if (spec.argv.empty() || spec.argv.front().empty()) {
    return absl::InvalidArgumentError("sandbox: argv: a command is required");
  }
  if (spec.uid == 0 || spec.gid == 0) {
    return absl::InvalidArgumentError(
        "sandbox: uid and gid: a service never runs as root (uid or gid 0)");
  }
  if (spec.uid == static_cast<uid_t>(-1) || spec.gid == static_cast<gid_t>(-1)) {
    return absl::InvalidArgumentError("sandbox: uid and gid: -1 is not an id");
  }
  // The same floors as mesh.yaml's services.<name>.sandbox (docs/mesh.md).
  if (spec.nofile < 1 || spec.nproc < 1 || spec.memory < (1ULL << 20) || spec.tmp_size == 0) {
    return absl::InvalidArgumentError(
        "sandbox: limits: nofile and nproc must be >= 1, memory >= 1MiB, tmp_size > 0");
  }
  for (const std::string& path : spec.writable) {
    struct stat st;
    if (!path.starts_with("/") || path.find("/../") != std::string::npos ||
        stat(path.c_str(), &st) != 0) {
      return absl::InvalidArgumentError(
          fmt::format("sandbox: writable: '{}' is not an existing absolute path", path));
    }
  }
  for (int fd : spec.keep_fds) {
    if (fd < 3 || fcntl(fd, F_GETFD) < 0) {
      return absl::InvalidArgumentError(
          fmt::format("sandbox: keep_fds: {} is not an open descriptor >= 3", fd));
    }
  }
  return absl::OkStatus();
}

SandboxedProcess::~SandboxedProcess() {
  if (!reaped_) {
    kill(pid_, SIGKILL);
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
}

void SandboxedProcess::Signal(int signal) {
  if (!reaped_) {
    kill(pid_, signal);
  }
}

absl::StatusOr<int> SandboxedProcess::Wait() {
  BULWARK_ASSIGN_OR_RETURN(std::optional<int> code, Reap(0));
  return *code;
}

absl::StatusOr<std::optional<int>> SandboxedProcess::TryWait() { return Reap(WNOHANG); }

absl::StatusOr<std::optional<int>> SandboxedProcess::Reap(int options) {
  if (reaped_) {
    return absl::FailedPreconditionError("sandbox: the process was already waited for");
  }
  BULWARK_ASSIGN_OR_RETURN(std::optional<int> code, WaitForExit(pid_, options));
  reaped_ = code.has_value();
  return code;
}

absl::StatusOr<std::optional<int>> WaitForExit(pid_t pid, int options) {
  int status = 0;
  pid_t got;
  do {
    got = waitpid(pid, &status, options);
  } while (got < 0 && errno == EINTR);
  if (got < 0) {
    return absl::InternalError(fmt::format("waitpid {}: {}", pid, std::strerror(errno)));
  }
  if (got == 0) {
    return std::nullopt;
  }
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

std::string CgroupNameFor(std::string_view name) {
  static std::atomic<std::uint64_t> count{0};
  return fmt::format("bulwark-{}-{}-{}", getpid(), ++count, name);
}

absl::StatusOr<SandboxedProcessPtr> Spawn(const SandboxSpec& spec) {
  BULWARK_RETURN_IF_ERROR(ValidateSpec(spec));
  BULWARK_ASSIGN_OR_RETURN(std::string path, ResolveCommand(spec));
  BULWARK_ASSIGN_OR_RETURN(SeccompProgram seccomp, CompileDenyList());
  CgroupPtr cgroup;
  if (spec.cgroups) {
    BULWARK_ASSIGN_OR_RETURN(
        cgroup, Cgroup::Create(CgroupNameFor(spec.name), CgroupLimits{spec.memory, spec.nproc},
                               DetectCgroupLayout()));
  }
  std::vector<int> keep = spec.keep_fds;
  std::sort(keep.begin(), keep.end());
  keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
  std::vector<char*> argv = CStrings(spec.argv);
  std::vector<char*> envp = CStrings(spec.env);
  std::vector<char*> writable = CStrings(spec.writable);
  std::string tmp_options = fmt::format("size={},mode=1777", spec.tmp_size);

  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return absl::InternalError(fmt::format("sandbox: pipe: {}", std::strerror(errno)));
  }
  internal::ChildPlan plan{
      .error_fd = pipe_fds[1],
      .output_fd = spec.output_fd,
      .parent = getpid(),
      .procs_fds = cgroup ? cgroup->procs_fds().data() : nullptr,
      .procs_count = cgroup ? static_cast<int>(cgroup->procs_fds().size()) : 0,
      .keep_fds = keep.data(),
      .keep_count = static_cast<int>(keep.size()),
      .tmp_options = tmp_options.c_str(),
      .read_only_root = spec.read_only_root,
      .writable = writable.data(),
      .writable_count = static_cast<int>(spec.writable.size()),
      .private_network = spec.private_network,
      .uid = spec.uid,
      .gid = spec.gid,
      .working_directory = spec.working_directory.c_str(),
      .memory = spec.memory,
      .nofile = spec.nofile,
      .nproc = spec.nproc,
      .seccomp = {static_cast<unsigned short>(seccomp.instructions.size()),
                  seccomp.instructions.data()},
      .path = path.c_str(),
      .argv = argv.data(),
      .envp = envp.data(),
  };
  pid_t pid = fork();
  if (pid == 0) {
    close(pipe_fds[0]);
    internal::RunChild(plan);
  }
  int saved = errno;
  close(pipe_fds[1]);
  if (pid < 0) {
    close(pipe_fds[0]);
    return absl::ResourceExhaustedError(fmt::format("sandbox: fork: {}", std::strerror(saved)));
  }
  absl::Status exec = AwaitExec(pipe_fds[0], pid);
  close(pipe_fds[0]);
  BULWARK_RETURN_IF_ERROR(exec);
  SandboxReport report = Protections(spec, seccomp, cgroup.get());
  return std::make_unique<SandboxedProcess>(pid, std::move(report), std::move(cgroup));
}

}  // namespace bulwark::sandbox
