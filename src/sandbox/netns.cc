#include "sandbox/netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include "core/status.h"
#include "fmt/format.h"

namespace bulwark::sandbox {
namespace {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family = AF_INET;
};

absl::StatusOr<SocketAddress> ParseAddress(const std::string& ip, std::uint16_t port) {
  SocketAddress out;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out.length = sizeof *v4;
    return out;
  }
  if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out.length = sizeof *v6;
    out.family = AF_INET6;
    return out;
  }
  return absl::InvalidArgumentError(fmt::format("'{}' is not an IPv4 or IPv6 address", ip));
}

absl::Status Errno(std::string_view what, const std::string& ip, std::uint16_t port) {
  return absl::UnavailableError(fmt::format("{} {}:{}: {}", what, ip, port, std::strerror(errno)));
}

}  // namespace

void UniqueFd::Reset() {
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
}

namespace {

absl::StatusOr<UniqueFd> OpenNetworkNamespace(pid_t pid) {
  std::string path = fmt::format("/proc/{}/ns/net", pid);
  UniqueFd ns(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (ns.get() < 0) {
    return absl::NotFoundError(
        fmt::format("network namespace of process {}: {}: {}", pid, path, std::strerror(errno)));
  }
  return ns;
}

// Called on the thread that is to move.
absl::Status JoinNetworkNamespace(const UniqueFd& ns, pid_t pid) {
  if (setns(ns.get(), CLONE_NEWNET) != 0) {
    return absl::PermissionDeniedError(fmt::format(
        "cannot join the network namespace of process {}: {}", pid, std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<UniqueFd> InNetworkNamespace(pid_t pid,
                                            absl::FunctionRef<absl::StatusOr<UniqueFd>()> make) {
  BULWARK_ASSIGN_OR_RETURN(UniqueFd ns, OpenNetworkNamespace(pid));
  std::optional<absl::StatusOr<UniqueFd>> result;
  // The thread, not the caller, changes namespace, and it ends right after.
  std::thread worker([&] {
    if (absl::Status joined = JoinNetworkNamespace(ns, pid); !joined.ok()) {
      result = joined;
      return;
    }
    result = make();
  });
  worker.join();
  return std::move(*result);
}

// The request slot between callers and the thread: one call at a time (call_mu), handed over
// under mu with the condition variable.
struct NamespaceThread::State {
  std::mutex call_mu;
  std::mutex mu;
  std::condition_variable cv;
  absl::FunctionRef<absl::StatusOr<UniqueFd>()>* pending = nullptr;  // guarded by mu
  std::optional<absl::StatusOr<UniqueFd>> result;                    // guarded by mu
  bool stop = false;                                                 // guarded by mu
  std::thread thread;

  void Serve() {
    std::unique_lock lock(mu);
    for (;;) {
      cv.wait(lock, [this] { return stop || pending != nullptr; });
      if (stop) {
        return;
      }
      absl::FunctionRef<absl::StatusOr<UniqueFd>()> make = *pending;
      pending = nullptr;
      lock.unlock();
      absl::StatusOr<UniqueFd> made = make();
      lock.lock();
      result = std::move(made);
      cv.notify_all();
    }
  }
};

absl::StatusOr<NamespaceThreadPtr> NamespaceThread::Start(pid_t pid) {
  BULWARK_ASSIGN_OR_RETURN(UniqueFd ns, OpenNetworkNamespace(pid));
  auto state = std::make_shared<State>();
  std::promise<absl::Status> joined;
  std::future<absl::Status> joined_result = joined.get_future();
  state->thread = std::thread([state = state.get(), ns = std::move(ns), pid, &joined]() mutable {
    absl::Status s = JoinNetworkNamespace(ns, pid);
    ns.Reset();
    bool ok = s.ok();
    joined.set_value(std::move(s));
    if (ok) {
      state->Serve();
    }
  });
  absl::Status s = joined_result.get();
  if (!s.ok()) {
    state->thread.join();
    return s;
  }
  return NamespaceThreadPtr(new NamespaceThread(pid, std::move(state)));
}

NamespaceThread::~NamespaceThread() {
  {
    std::lock_guard lock(state_->mu);
    state_->stop = true;
  }
  state_->cv.notify_all();
  state_->thread.join();
}

absl::StatusOr<UniqueFd> NamespaceThread::Run(absl::FunctionRef<absl::StatusOr<UniqueFd>()> make) {
  std::lock_guard call(state_->call_mu);
  std::unique_lock lock(state_->mu);
  state_->pending = &make;
  state_->result.reset();
  state_->cv.notify_all();
  state_->cv.wait(lock, [this] { return state_->result.has_value(); });
  absl::StatusOr<UniqueFd> out = std::move(*state_->result);
  state_->result.reset();
  return out;
}

absl::StatusOr<UniqueFd> NamespaceThread::Socket(int family) {
  return Run([family]() -> absl::StatusOr<UniqueFd> {
    UniqueFd fd(socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) {
      return absl::UnavailableError(
          fmt::format("socket in the service's network namespace: {}", std::strerror(errno)));
    }
    return fd;
  });
}

absl::StatusOr<UniqueFd> ListenInNetworkNamespace(pid_t pid, const std::string& ip,
                                                  std::uint16_t port, int backlog) {
  absl::StatusOr<SocketAddress> address = ParseAddress(ip, port);
  if (!address.ok()) {
    return address.status();
  }
  return InNetworkNamespace(pid, [&]() -> absl::StatusOr<UniqueFd> {
    UniqueFd fd(socket(address->family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int one = 1;
    if (fd.get() < 0 || setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
      return Errno("socket for", ip, port);
    }
    if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&address->storage), address->length) !=
        0) {
      return Errno("bind", ip, port);
    }
    if (listen(fd.get(), backlog) != 0) {
      return Errno("listen", ip, port);
    }
    return fd;
  });
}

absl::StatusOr<UniqueFd> ConnectInNetworkNamespace(pid_t pid, const std::string& ip,
                                                   std::uint16_t port) {
  absl::StatusOr<SocketAddress> address = ParseAddress(ip, port);
  if (!address.ok()) {
    return address.status();
  }
  return InNetworkNamespace(pid, [&]() -> absl::StatusOr<UniqueFd> {
    UniqueFd fd(socket(address->family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) {
      return Errno("socket for", ip, port);
    }
    int rc;
    do {
      rc = connect(fd.get(), reinterpret_cast<const sockaddr*>(&address->storage), address->length);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
      return Errno("connect to", ip, port);
    }
    return fd;
  });
}

}  // namespace bulwark::sandbox
