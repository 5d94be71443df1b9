// `bulwark sandbox run`: a debugging tool for operators and tests that runs one command in the
// service sandbox (docs/sandbox.md) and prints which protections were applied.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "cli/commands.h"
#include "core/status.h"
#include "core/units.h"
#include "fmt/format.h"
#include "mesh/config.h"
#include "sandbox/sandbox.h"

namespace bulwark::cli {
namespace {

struct SandboxFlags {
  std::string user;
  std::string memory;
  std::uint32_t nofile = mesh::SandboxConfig{}.nofile;
  std::uint32_t nproc = mesh::SandboxConfig{}.nproc;
  bool host_network = false;
  bool no_cgroup = false;
  bool read_only = false;
  std::vector<std::string> writable;
  std::string name;
  std::string cwd = "/";
  std::vector<int> keep_fds;
  std::vector<std::string> env;
  std::vector<std::string> command;
};

std::atomic<pid_t> g_child{0};

void Forward(int signal) {
  pid_t pid = g_child.load();
  if (pid > 0) {
    kill(pid, signal);
  }
}

// Parses "UID[:GID]" (GID defaults to UID).
absl::Status ParseUser(const std::string& text, sandbox::SandboxSpec& spec) {
  std::string uid = text.substr(0, text.find(':'));
  std::string gid = text.find(':') == std::string::npos ? uid : text.substr(text.find(':') + 1);
  if (!absl::SimpleAtoi(uid, &spec.uid) || !absl::SimpleAtoi(gid, &spec.gid)) {
    return absl::InvalidArgumentError(
        fmt::format("--user '{}': expected numeric UID[:GID], e.g. 61001:61001", text));
  }
  return absl::OkStatus();
}

absl::StatusOr<sandbox::SandboxSpec> BuildSpec(const SandboxFlags& flags) {
  sandbox::SandboxSpec spec;
  if (absl::Status s = ParseUser(flags.user, spec); !s.ok()) {
    return s;
  }
  if (!flags.memory.empty()) {
    absl::StatusOr<std::uint64_t> memory = core::ParseSize(flags.memory);
    if (!memory.ok()) {
      return absl::InvalidArgumentError(fmt::format("--memory: {}", memory.status().message()));
    }
    spec.memory = *memory;
  } else {
    spec.memory = mesh::SandboxConfig{}.memory;
  }
  spec.name = flags.name.empty() ? fmt::format("sandbox-{}", getpid()) : flags.name;
  spec.argv = flags.command;
  spec.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8"};
  spec.env.insert(spec.env.end(), flags.env.begin(), flags.env.end());
  spec.working_directory = flags.cwd;
  spec.nofile = flags.nofile;
  spec.nproc = flags.nproc;
  spec.private_network = !flags.host_network;
  spec.cgroups = !flags.no_cgroup;
  spec.read_only_root = flags.read_only;
  spec.writable = flags.writable;
  spec.keep_fds = flags.keep_fds;
  return spec;
}

int RunSandboxCommand(const SandboxFlags& flags) {
  absl::StatusOr<sandbox::SandboxSpec> spec = BuildSpec(flags);
  if (!spec.ok()) {
    return Fail(std::string(spec.status().message()));
  }
  // Blocked until the child's PID is known, so a signal in between is not lost.
  sigset_t forwarded, previous;
  sigemptyset(&forwarded);
  sigaddset(&forwarded, SIGINT);
  sigaddset(&forwarded, SIGTERM);
  sigaddset(&forwarded, SIGHUP);
  sigprocmask(SIG_BLOCK, &forwarded, &previous);
  struct sigaction forward {};
  forward.sa_handler = Forward;
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    sigaction(sig, &forward, nullptr);
  }
  absl::StatusOr<sandbox::SandboxedProcessPtr> child = sandbox::Spawn(*spec);
  if (child.ok()) {
    g_child = (*child)->pid();
  }
  sigprocmask(SIG_SETMASK, &previous, nullptr);
  if (!child.ok()) {
    return Fail(std::string(child.status().message()));
  }
  for (const std::string& line : (*child)->report().applied) {
    std::fprintf(stderr, "bulwark sandbox: applied: %s\n", line.c_str());
  }
  for (const std::string& line : (*child)->report().not_applied) {
    std::fprintf(stderr, "bulwark sandbox: not applied: %s\n", line.c_str());
  }
  std::fprintf(stderr, "bulwark sandbox: pid %d\n", static_cast<int>((*child)->pid()));
  std::fflush(stderr);
  absl::StatusOr<int> code = (*child)->Wait();
  g_child = 0;
  if (!code.ok()) {
    return Fail(std::string(code.status().message()));
  }
  return *code;
}

}  // namespace

void AddSandboxCommands(CLI::App& app, Action& action) {
  static SandboxFlags flags;
  CLI::App* sandbox = app.add_subcommand(
      "sandbox", "Debugging tool: run a command in the service sandbox (docs/sandbox.md)");
  sandbox->require_subcommand(1);
  CLI::App* run = sandbox->add_subcommand(
      "run",
      "Run a command as UID:GID in the sandbox `bulwark up` gives services: private mount\n"
      "namespace and tmpfs /tmp, no_new_privs, no capabilities, rlimits (nofile, nproc, address\n"
      "space, core=0), a seccomp deny-list, a per-service cgroup (memory, pids) where the host\n"
      "has one, and a network namespace of its own with only lo (--host-network: the host's).\n"
      "Needs root.\n"
      "Prints to stderr which protections were applied and which not (and why), then waits;\n"
      "SIGINT/SIGTERM/SIGHUP are forwarded; the exit status is the command's (128+N: signal N).\n"
      "Example: bulwark sandbox run --user 61001 --memory 128MiB -- python3 app.py");
  run->add_option("--user", flags.user, "UID[:GID] to run as (numeric, not 0; GID defaults to UID)")
      ->required();
  run->add_option("--memory", flags.memory,
                  "Address-space and cgroup memory limit, e.g. 128MiB (default 256MiB)");
  run->add_option("--nofile", flags.nofile, "Open-descriptor limit (default 1024)");
  run->add_option("--nproc", flags.nproc,
                  "Process limit of the UID (RLIMIT_NPROC) and cgroup pids.max (default 64)");
  run->add_flag("--host-network", flags.host_network,
                "Share the host's network (default: a network namespace of its own, only lo)");
  run->add_flag("--read-only", flags.read_only,
                "Every mount read-only except /tmp and the --writable paths");
  run->add_option("--writable", flags.writable,
                  "With --read-only: an existing absolute path that stays writable (repeatable)");
  run->add_flag("--no-cgroup", flags.no_cgroup, "Do not create a cgroup");
  run->add_option("--name", flags.name,
                  "Names the cgroup bulwark-<name> (default sandbox-<pid of bulwark>)");
  run->add_option("--cwd", flags.cwd, "Working directory, entered as UID (default /)");
  run->add_option("--keep-fd", flags.keep_fds, "An inherited descriptor to keep open (repeatable)");
  run->add_option("--env", flags.env,
                  "KEY=value for the command's environment, which otherwise holds only PATH, "
                  "HOME=/tmp and LANG (repeatable)");
  run->add_option("command", flags.command, "The command and its arguments (after --)")->required();
  run->callback([&action] { action = [] { return RunSandboxCommand(flags); }; });
}

}  // namespace bulwark::cli
