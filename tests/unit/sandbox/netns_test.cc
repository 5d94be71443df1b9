#include "sandbox/netns.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "sandbox/privileges.h"
#include "sandbox/sandbox.h"

namespace bulwark::sandbox {
namespace {

std::string Message(const absl::Status& status) {
  return std::string(status.message().data(), status.message().size());
}

// A sandboxed Python program in its own network namespace: an echo server on 127.0.0.1:<port>
// that, after its first client, connects once to 127.0.0.1:<out> and sends "hello from inside".
constexpr char kService[] = R"(
import socket, sys
port, out = int(sys.argv[1]), int(sys.argv[2])
server = socket.socket()
server.bind(("127.0.0.1", port))
server.listen(4)
conn, _ = server.accept()
conn.sendall(conn.recv(100).upper())
conn.close()
c = socket.create_connection(("127.0.0.1", out), timeout=5)
c.sendall(b"hello from inside")
c.close()
)";

// A sandboxed echo server on 127.0.0.1:<port> (upper-casing), one client.
constexpr char kEcho[] = R"(
import socket, sys
server = socket.socket()
server.bind(("127.0.0.1", int(sys.argv[1])))
server.listen(4)
conn, _ = server.accept()
conn.sendall(conn.recv(100).upper())
)";

std::string ReadSome(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 5000) != 1) {
    return "(timeout)";
  }
  char buf[100];
  ssize_t n = read(fd, buf, sizeof buf);
  return n > 0 ? std::string(buf, n) : "(eof)";
}

TEST(NetnsTest, UnknownProcessIsAClearError) {
  absl::StatusOr<UniqueFd> fd = ConnectInNetworkNamespace(999'999'999, "127.0.0.1", 1);
  EXPECT_EQ(Message(fd.status()).rfind("network namespace of process 999999999: ", 0), 0u);
  EXPECT_FALSE(ListenInNetworkNamespace(getpid(), "not-an-ip", 0).ok());
}

TEST(NetnsTest, SidecarReachesAndIsReachedByAServiceInItsNamespace) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "the sandbox needs root (namespaces, setuid)";
  }
  const std::uint16_t port = 9001, out = 15002;  // the service's own netns: no clashes
  SandboxSpec spec;
  spec.name = "unit-netns-" + std::to_string(getpid());
  spec.argv = {"python3", "-c", kService, std::to_string(port), std::to_string(out)};
  spec.env = {"PATH=/usr/bin:/bin"};
  spec.uid = spec.gid = 61991;
  absl::StatusOr<SandboxedProcessPtr> child = Spawn(spec);
  ASSERT_TRUE(child.ok()) << child.status();
  pid_t pid = (*child)->pid();

  // The sidecar's outbound listener, inside the service's namespace, held by this process.
  absl::StatusOr<UniqueFd> listener = ListenInNetworkNamespace(pid, "127.0.0.1", out);
  ASSERT_TRUE(listener.ok()) << listener.status();
  // Connect to the service's port inside (retrying while Python starts; bounded at 10 s).
  absl::StatusOr<UniqueFd> conn = absl::UnavailableError("not tried");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    conn = ConnectInNetworkNamespace(pid, "127.0.0.1", port);
    if (conn.ok()) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(conn.ok()) << conn.status();
  ASSERT_EQ(write(conn->get(), "ping", 4), 4);
  EXPECT_EQ(ReadSome(conn->get()), "PING");

  // And the service reaches the listener we hold in its namespace.
  pollfd p{listener->get(), POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 10000), 1);
  UniqueFd accepted(accept4(listener->get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_GE(accepted.get(), 0);
  EXPECT_EQ(ReadSome(accepted.get()), "hello from inside");
  EXPECT_EQ(*(*child)->Wait(), 0);
}

TEST(NetnsTest, NamespaceThreadMakesSocketsInsideAfterTheCallerDroppedRoot) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "the sandbox needs root (namespaces, setuid)";
  }
  const std::uint16_t port = 9001;
  SandboxSpec spec;
  spec.name = "unit-nsthread-" + std::to_string(getpid());
  spec.argv = {"python3", "-c", kEcho, std::to_string(port)};
  spec.env = {"PATH=/usr/bin:/bin"};
  spec.uid = spec.gid = 61992;
  absl::StatusOr<SandboxedProcessPtr> child = Spawn(spec);
  ASSERT_TRUE(child.ok()) << child.status();
  pid_t pid = (*child)->pid();
  // In a forked copy of this process (the drop is for good): join, drop, then make sockets.
  pid_t tester = fork();
  ASSERT_GE(tester, 0);
  if (tester == 0) {
    absl::StatusOr<NamespaceThreadPtr> ns = NamespaceThread::Start(pid);
    if (!ns.ok() || !DropPrivileges({61993, 61993}).ok() || geteuid() != 61993) {
      _exit(10);
    }
    if (setuid(0) == 0 || NamespaceThread::Start(pid).ok()) {
      _exit(11);  // root must be gone, and with it the right to join namespaces
    }
    // The service's port, reached inside its namespace (bounded retries while Python starts).
    for (int i = 0; i < 200; ++i) {
      absl::StatusOr<UniqueFd> s = (*ns)->Socket(AF_INET);
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(port);
      sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (!s.ok()) {
        _exit(12);
      }
      if (connect(s->get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
        _exit(write(s->get(), "ping", 4) == 4 && ReadSome(s->get()) == "PING" ? 0 : 13);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    _exit(14);
  }
  absl::StatusOr<std::optional<int>> code = WaitForExit(tester, 0);
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(**code, 0) << "10: join or drop failed, 11: root kept, 12: no socket, 13/14: no echo";
  (*child)->Signal(SIGKILL);
}

TEST(PrivilegesTest, ParsesUidGid) {
  EXPECT_EQ(ParseUserIds("61001:61002")->gid, 61002u);
  EXPECT_EQ(ParseUserIds("61001")->gid, 61001u);
  EXPECT_FALSE(ParseUserIds("0:5").ok());
  EXPECT_FALSE(ParseUserIds("a:b").ok());
  EXPECT_FALSE(ParseUserIds("").ok());
  EXPECT_FALSE(ParseUserIds("5:").ok());
}

}  // namespace
}  // namespace bulwark::sandbox
