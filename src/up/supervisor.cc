// The supervisor polls: its children are few, and a 50 ms tick bounds how late a crash is seen.
#include "up/supervisor.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <thread>

#include "core/status.h"
#include "fmt/format.h"
#include "mesh/host_port.h"
#include "sandbox/netns.h"

namespace bulwark::up {
namespace {

constexpr std::chrono::milliseconds kTick{50};
constexpr std::chrono::milliseconds kReadyPoll{20};

// GET http://<host:port>/readyz answers 200. Plain loopback HTTP, one short connection.
bool AnswersReady(const std::string& url) {
  std::string_view rest = std::string_view(url).substr(std::strlen("http://"));
  std::size_t slash = rest.find('/');
  absl::StatusOr<mesh::HostPort> address = mesh::ParseHostPort(rest.substr(0, slash));
  if (!address.ok()) {
    return false;
  }
  sandbox::UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  timeval timeout{1, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(address->port);
  if (inet_pton(AF_INET, address->host.c_str(), &sa.sin_addr) != 1 ||
      connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    return false;
  }
  std::string request = fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                                    rest.substr(slash), address->ToString());
  if (write(fd.get(), request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    return false;
  }
  char head[16] = {};
  ssize_t n = read(fd.get(), head, sizeof head - 1);
  return n >= 12 && std::string_view(head, 12) == "HTTP/1.1 200";
}

std::string KindText(ProcessKind kind) {
  switch (kind) {
    case ProcessKind::kAuthority:
      return "authority";
    case ProcessKind::kGateway:
      return "gateway";
    case ProcessKind::kService:
      return "sandboxed service";
    case ProcessKind::kSidecar:
      return "sidecar";
  }
  return "process";
}

// Returns the read end of a pipe that holds `token` and a newline, its write end closed.
absl::StatusOr<sandbox::UniqueFd> TokenPipe(std::string token) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return absl::InternalError(fmt::format("pipe: {}", std::strerror(errno)));
  }
  sandbox::UniqueFd read_end(fds[0]);
  sandbox::UniqueFd write_end(fds[1]);
  token += "\n";  // far below the pipe's capacity: the write cannot block
  if (write(write_end.get(), token.data(), token.size()) != static_cast<ssize_t>(token.size())) {
    return absl::InternalError(fmt::format("writing a join token: {}", std::strerror(errno)));
  }
  return read_end;
}

}  // namespace

Supervisor::Slot* Supervisor::Find(const std::string& name) {
  for (Slot& slot : slots_) {
    if (slot.spec->name == name) {
      return &slot;
    }
  }
  return nullptr;
}

absl::StatusOr<ChildPtr> Supervisor::SpawnService(const ProcessSpec& spec, int output_fd) {
  sandbox::SandboxSpec sandbox{.name = spec.name,
                               .argv = spec.argv,
                               .env = spec.env,
                               .uid = spec.uid,
                               .gid = spec.gid,
                               .working_directory = spec.working_directory,
                               .memory = spec.limits.memory,
                               .nofile = spec.limits.nofile,
                               .nproc = spec.limits.nproc};
  sandbox.output_fd = output_fd;
  BULWARK_ASSIGN_OR_RETURN(sandbox::SandboxedProcessPtr process, sandbox::Spawn(sandbox));
  for (const std::string& missing : process->report().not_applied) {
    if (not_applied_.insert(missing).second) {  // the same for every service: said once
      logs_.Say(fmt::format("sandbox: not applied: {}", missing));
    }
  }
  return AsChild(std::move(process));
}

absl::StatusOr<ChildPtr> Supervisor::SpawnHost(const ProcessSpec& spec, int output_fd,
                                               int token_fd) {
  HostProcessSpec host{.argv = spec.argv,
                       .env = {"PATH=/usr/local/bin:/usr/bin:/bin"},
                       .working_directory = plan_.layout.dir,
                       .output_fd = output_fd,
                       .fd3 = token_fd};
  if (spec.kind == ProcessKind::kSidecar) {
    // Started as root so that it can join the namespace; it drops to spec.uid itself.
    Slot* service = Find(spec.service);
    if (service == nullptr || service->child == nullptr) {
      return absl::FailedPreconditionError(
          fmt::format("its service {} is not running", spec.service));
    }
    host.argv.push_back("--service-netns-pid");
    host.argv.push_back(std::to_string(service->child->pid()));
  } else {
    host.uid = spec.uid;
    host.gid = spec.gid;
  }
  return StartHostProcess(host);
}

absl::Status Supervisor::StartSlot(Slot& slot) {
  const ProcessSpec& spec = *slot.spec;
  BULWARK_ASSIGN_OR_RETURN(sandbox::UniqueFd output, logs_.Open(spec.name, spec.log_file));
  sandbox::UniqueFd token;
  if (spec.join_id.has_value()) {
    BULWARK_ASSIGN_OR_RETURN(std::string issued, options_.join_token(*spec.join_id));
    BULWARK_ASSIGN_OR_RETURN(token, TokenPipe(std::move(issued)));
  }
  absl::StatusOr<ChildPtr> child = spec.kind == ProcessKind::kService
                                       ? SpawnService(spec, output.get())
                                       : SpawnHost(spec, output.get(), token.get());
  if (!child.ok()) {
    return absl::UnavailableError(fmt::format("{}: {}", spec.name, child.status().message()));
  }
  slot.child = *std::move(child);
  slot.started = Clock::now();
  slot.restart_at.reset();
  slot.ready = false;
  logs_.Say(fmt::format("started {} {} (pid {}, uid {})", KindText(spec.kind), spec.name,
                        slot.child->pid(), spec.uid));
  return absl::OkStatus();
}

absl::StatusOr<bool> Supervisor::IsReady(const Slot& slot) const {
  const ProcessSpec& spec = *slot.spec;
  if (!spec.ready_file.empty()) {
    std::error_code error;
    return std::filesystem::exists(spec.ready_file, error);
  }
  if (!spec.ready_url.empty()) {
    return AnswersReady(spec.ready_url);
  }
  return sandbox::ConnectInNetworkNamespace(slot.child->pid(), "127.0.0.1", spec.ready_port).ok();
}

absl::Status Supervisor::WaitUntilReady(const std::vector<Slot*>& slots) {
  Clock::time_point deadline = Clock::now() + options_.ready_timeout;
  std::vector<Slot*> waiting = slots;
  while (!waiting.empty()) {
    std::vector<Slot*> still;
    for (Slot* slot : waiting) {
      BULWARK_ASSIGN_OR_RETURN(std::optional<int> exited, slot->child->TryWait());
      if (exited.has_value()) {
        slot->child.reset();
        return absl::UnavailableError(fmt::format("{} exited with status {} while starting; see {}",
                                                  slot->spec->name, *exited, slot->spec->log_file));
      }
      BULWARK_ASSIGN_OR_RETURN(bool ready, IsReady(*slot));
      if (!ready) {
        still.push_back(slot);
      }
    }
    waiting = std::move(still);
    if (!waiting.empty()) {
      if (Clock::now() > deadline) {
        return absl::DeadlineExceededError(
            fmt::format("{} was not ready within {} ms; see {}", waiting.front()->spec->name,
                        options_.ready_timeout.count(), waiting.front()->spec->log_file));
      }
      std::this_thread::sleep_for(kReadyPoll);
    }
  }
  return absl::OkStatus();
}

absl::Status Supervisor::Start() {
  slots_.clear();
  slots_.reserve(plan_.processes.size());
  for (const ProcessSpec& spec : plan_.processes) {
    slots_.push_back(Slot{.spec = &spec});
  }
  // The authority first: every other process joins through it. Then the gateway, which is
  // ready once its transaction-token key is published, so that every sidecar's first fetch of
  // the token keys has it. Then the services and sidecars, all started before any is waited for.
  std::error_code ignored;
  std::filesystem::remove(slots_.front().spec->ready_file, ignored);  // the last run's
  std::vector<Slot*> rest;
  for (Slot& slot : slots_) {
    BULWARK_RETURN_IF_ERROR(StartSlot(slot));
    ProcessKind kind = slot.spec->kind;
    if (kind == ProcessKind::kAuthority || kind == ProcessKind::kGateway) {
      BULWARK_RETURN_IF_ERROR(WaitUntilReady({&slot}));
    } else {
      rest.push_back(&slot);
    }
  }
  return WaitUntilReady(rest);
}

void Supervisor::StopSlot(Slot& slot) {
  if (slot.child == nullptr) {
    return;
  }
  slot.child->Signal(SIGTERM);
  Clock::time_point deadline = Clock::now() + options_.stop_timeout;
  for (;;) {
    absl::StatusOr<std::optional<int>> exited = slot.child->TryWait();
    if (!exited.ok() || exited->has_value()) {
      break;
    }
    if (Clock::now() > deadline) {
      logs_.Say(fmt::format("{} did not stop within {} ms of SIGTERM: SIGKILL", slot.spec->name,
                            options_.stop_timeout.count()));
      break;  // destroying the child sends SIGKILL and reaps it
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  slot.child.reset();
}

void Supervisor::Stop() {
  for (auto it = slots_.rbegin(); it != slots_.rend(); ++it) {
    StopSlot(*it);
  }
}

void Supervisor::Reap(Clock::time_point now) {
  for (Slot& slot : slots_) {
    if (slot.child == nullptr) {
      continue;
    }
    absl::StatusOr<std::optional<int>> exited = slot.child->TryWait();
    if (exited.ok() && !exited->has_value()) {
      continue;
    }
    int code = exited.ok() ? **exited : -1;
    slot.child.reset();
    slot.failures = now - slot.started > options_.stable_after ? 1 : slot.failures + 1;
    std::chrono::milliseconds delay = RestartDelay(slot.failures);
    slot.restart_at = now + delay;
    logs_.Say(fmt::format("{} exited with status {} (failure {} in a row); restarting in {} ms",
                          slot.spec->name, code, slot.failures, delay.count()));
    if (slot.spec->kind == ProcessKind::kService) {
      // Its sidecar holds sockets in the old namespace: it starts again after the service.
      if (Slot* sidecar = Find("sidecar-" + slot.spec->service); sidecar != nullptr) {
        StopSlot(*sidecar);
        sidecar->restart_at = slot.restart_at;
      }
    }
  }
}

void Supervisor::RestartDue(Clock::time_point now) {
  for (Slot& slot : slots_) {
    if (slot.child != nullptr || !slot.restart_at.has_value() || *slot.restart_at > now) {
      continue;
    }
    if (slot.spec->kind == ProcessKind::kSidecar) {
      Slot* service = Find(slot.spec->service);
      if (service == nullptr || service->child == nullptr) {
        continue;  // waits for its service
      }
    }
    if (absl::Status s = StartSlot(slot); !s.ok()) {
      slot.failures += 1;
      slot.restart_at = now + RestartDelay(slot.failures);
      logs_.Say(fmt::format("restarting {} failed: {}; next try in {} ms", slot.spec->name,
                            s.message(), RestartDelay(slot.failures).count()));
    }
  }
}

void Supervisor::ReportReady() {
  for (Slot& slot : slots_) {
    if (slot.child == nullptr || slot.ready) {
      continue;
    }
    absl::StatusOr<bool> ready = IsReady(slot);
    if (ready.ok() && *ready) {
      slot.ready = true;
      logs_.Say(fmt::format(
          "{} is ready again ({} ms after its start)", slot.spec->name,
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - slot.started)
              .count()));
    }
  }
}

void Supervisor::Run(const std::atomic<bool>& stop) {
  for (Slot& slot : slots_) {
    slot.ready = true;  // Start waited for every one
  }
  while (!stop.load()) {
    Clock::time_point now = Clock::now();
    Reap(now);
    RestartDue(now);
    ReportReady();
    std::this_thread::sleep_for(kTick);
  }
  logs_.Say("stopping every process in reverse order");
  Stop();
}

}  // namespace bulwark::up
