// Sockets in another process's network namespace: how a sidecar in the host namespace listens
// on 127.0.0.1:<outbound> inside its service's namespace and connects to 127.0.0.1:<port> there
// (docs/sandbox.md). A socket keeps the namespace it was created in, so the work is done on a
// short-lived thread that joins the namespace with setns and then ends; the calling thread never
// changes namespace. Thread-safe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"

namespace bulwark::sandbox {

// An owned file descriptor, closed when it dies.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = other.Release();
    }
    return *this;
  }

  int get() const { return fd_; }
  // Gives up ownership (e.g. to an asio socket's assign) and returns the descriptor.
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void Reset();

 private:
  int fd_ = -1;
};

// Runs `make` on a new thread that has joined the network namespace of process `pid`
// (/proc/<pid>/ns/net) and returns what it returns. Errors: the namespace cannot be opened or
// joined (needs CAP_SYS_ADMIN over it), or `make` failed.
absl::StatusOr<UniqueFd> InNetworkNamespace(pid_t pid,
                                            absl::FunctionRef<absl::StatusOr<UniqueFd>()> make);

class NamespaceThread;
using NamespaceThreadPtr = std::unique_ptr<NamespaceThread>;

// A long-lived thread inside the network namespace of another process, which makes sockets
// there on request: the sidecar `bulwark up` starts in the host namespace joins its service's
// namespace once, while it is still privileged, and keeps creating sockets in it after it has
// dropped to its own uid (creating a socket in a namespace one is already in needs no
// privilege). Thread-safe: any thread may call Socket or Run; calls are served one at a time.
class NamespaceThread {
 public:
  // Starts the thread and joins the network namespace of process `pid`. Errors: the namespace
  // cannot be opened or joined (needs CAP_SYS_ADMIN over it).
  static absl::StatusOr<NamespaceThreadPtr> Start(pid_t pid);
  // Stops the thread (after the call it is serving, if any).
  ~NamespaceThread();
  NamespaceThread(const NamespaceThread&) = delete;
  NamespaceThread& operator=(const NamespaceThread&) = delete;

  // Runs `make` on the thread, inside the namespace, and returns what it returns.
  absl::StatusOr<UniqueFd> Run(absl::FunctionRef<absl::StatusOr<UniqueFd>()> make);
  // Returns a new TCP socket (CLOEXEC, unbound) of `family` (AF_INET, AF_INET6) inside the
  // namespace; it stays there whatever thread binds, listens or connects it later.
  absl::StatusOr<UniqueFd> Socket(int family);
  pid_t pid() const { return pid_; }

 private:
  struct State;
  NamespaceThread(pid_t pid, std::shared_ptr<State> state) : pid_(pid), state_(std::move(state)) {}
  pid_t pid_;
  std::shared_ptr<State> state_;
};

// Returns a TCP socket listening on `ip`:`port` (IPv4 or IPv6 literal; port 0 picks one)
// inside `pid`'s network namespace; CLOEXEC and blocking.
absl::StatusOr<UniqueFd> ListenInNetworkNamespace(pid_t pid, const std::string& ip,
                                                  std::uint16_t port, int backlog = 128);
// Returns a TCP socket connected to `ip`:`port` inside `pid`'s network namespace.
absl::StatusOr<UniqueFd> ConnectInNetworkNamespace(pid_t pid, const std::string& ip,
                                                   std::uint16_t port);

}  // namespace bulwark::sandbox
