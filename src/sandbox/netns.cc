#include "sandbox/netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <thread>

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

absl::StatusOr<UniqueFd> InNetworkNamespace(pid_t pid,
                                            absl::FunctionRef<absl::StatusOr<UniqueFd>()> make) {
  std::string path = fmt::format("/proc/{}/ns/net", pid);
  UniqueFd ns(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (ns.get() < 0) {
    return absl::NotFoundError(
        fmt::format("network namespace of process {}: {}: {}", pid, path, std::strerror(errno)));
  }
  std::optional<absl::StatusOr<UniqueFd>> result;
  // The thread, not the caller, changes namespace, and it ends right after.
  std::thread worker([&] {
    if (setns(ns.get(), CLONE_NEWNET) != 0) {
      result = absl::PermissionDeniedError(fmt::format(
          "cannot join the network namespace of process {}: {}", pid, std::strerror(errno)));
      return;
    }
    result = make();
  });
  worker.join();
  return std::move(*result);
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
