// Tests of the client's Unix-socket backends (ClientOptions::unix_socket): an exchange reaches the
// socket's server with the URL's Host, keep-alive connections are pooled by socket path, and a
// missing socket or an https URL is a clear error.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "asio/co_spawn.hpp"
#include "asio/io_context.hpp"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "http/client.h"
#include "http/connection_pool.h"
#include "tests/support/temp_dir.h"

namespace bulwark::http {
namespace {

using namespace std::chrono_literals;

// A keep-alive HTTP/1.1 server on a Unix socket, one connection at a time on its own thread.
// Answers every GET with "conn=<n> req=<k> host=<Host>" (n counts accepted connections, k the
// requests on this one). Every wait is bounded by poll timeouts; the destructor stops it.
class UnixBackend {
 public:
  explicit UnixBackend(const std::string& path) {
    listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.data(), path.size());
    ok_ = listener_ >= 0 &&
          ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
          ::listen(listener_, 8) == 0;
    thread_ = std::thread([this] { Run(); });
  }
  ~UnixBackend() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
  }
  bool ok() const { return ok_; }
  int connections() const { return connections_; }

 private:
  // Waits up to 100 ms for `fd` to be readable.
  bool Readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 100) == 1;
  }
  void Run() {
    while (!stop_ && ok_) {
      if (!Readable(listener_)) {
        continue;
      }
      int conn = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn >= 0) {
        ++connections_;
        Serve(conn);
        ::close(conn);
      }
    }
  }
  void Serve(int conn) {
    std::string buffer;
    int requests = 0;
    while (!stop_) {
      std::size_t end = buffer.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::string head = buffer.substr(0, end);
        buffer.erase(0, end + 4);
        std::size_t host = head.find("\r\nHost: ");
        std::string host_value =
            host == std::string::npos
                ? ""
                : head.substr(host + 8, head.find("\r\n", host + 2) - host - 8);
        std::string body =
            fmt::format("conn={} req={} host={}", connections_.load(), ++requests, host_value);
        std::string wire =
            fmt::format("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{}", body.size(), body);
        if (::write(conn, wire.data(), wire.size()) != static_cast<ssize_t>(wire.size())) {
          return;
        }
        continue;
      }
      if (!Readable(conn)) {
        continue;
      }
      char chunk[4096];
      ssize_t n = ::read(conn, chunk, sizeof(chunk));
      if (n <= 0) {
        return;  // the client closed the connection
      }
      buffer.append(chunk, static_cast<std::size_t>(n));
    }
  }

  int listener_ = -1;
  bool ok_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

Request Get() {
  Request request;
  request.method = "GET";
  return request;
}

// Sends GET `url` once per entry of `sockets` (the socket of each call) on one io_context.
std::vector<absl::StatusOr<Response>> SendEach(const std::string& url,
                                               const std::vector<std::string>& sockets,
                                               ConnectionPool* pool) {
  std::vector<absl::StatusOr<Response>> results;
  asio::io_context io;
  auto run = [&]() -> asio::awaitable<void> {
    for (const std::string& socket : sockets) {
      ClientOptions options;
      options.timeout = 5s;
      options.pool = pool;
      options.unix_socket = socket;
      results.push_back(co_await AsyncSend(url, Get(), options));
    }
  };
  asio::co_spawn(io, run(), [](std::exception_ptr) {});
  io.run_for(20s);
  if (pool != nullptr) {
    pool->Close();
  }
  return results;
}

TEST(ClientUnixSocketTest, KeepAliveConnectionToTheSocketIsPooledAndReused) {
  testing::TempDir dir;
  std::string path = dir.File("backend.sock");
  UnixBackend backend(path);
  ASSERT_TRUE(backend.ok());
  ConnectionPool pool;
  std::vector<absl::StatusOr<Response>> results =
      SendEach("http://localhost/hello", {path, path, path}, &pool);
  ASSERT_EQ(results.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].status();
    EXPECT_EQ(results[i]->status, 200);
    EXPECT_EQ(results[i]->body, fmt::format("conn=1 req={} host=localhost", i + 1));
  }
  EXPECT_EQ(pool.opened(), 1u);
  EXPECT_EQ(pool.reused(), 2u);
  EXPECT_EQ(backend.connections(), 1);
}

TEST(ClientUnixSocketTest, PooledConnectionsAreKeyedBySocketPath) {
  testing::TempDir dir;
  UnixBackend first(dir.File("first.sock"));
  UnixBackend second(dir.File("second.sock"));
  ASSERT_TRUE(first.ok() && second.ok());
  ConnectionPool pool;
  // The same URL: only the socket tells the backends apart, so it must be part of the key.
  std::vector<absl::StatusOr<Response>> results =
      SendEach("http://localhost/", {dir.File("first.sock"), dir.File("second.sock")}, &pool);
  ASSERT_EQ(results.size(), 2u);
  ASSERT_TRUE(results[0].ok() && results[1].ok());
  EXPECT_EQ(pool.opened(), 2u);
  EXPECT_EQ(pool.reused(), 0u);
  EXPECT_EQ(first.connections(), 1);
  EXPECT_EQ(second.connections(), 1);
}

TEST(ClientUnixSocketTest, MissingSocketIsUnavailableAndNamesThePath) {
  testing::TempDir dir;
  std::string path = dir.File("nobody.sock");
  std::vector<absl::StatusOr<Response>> results = SendEach("http://localhost/", {path}, nullptr);
  ASSERT_EQ(results.size(), 1u);
  ASSERT_FALSE(results[0].ok());
  EXPECT_EQ(results[0].status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(results[0].status().message().find("unix:" + path), std::string::npos)
      << results[0].status();
}

TEST(ClientUnixSocketTest, HttpsUrlWithASocketIsRefused) {
  std::vector<absl::StatusOr<Response>> results =
      SendEach("https://localhost/", {"/run/x.sock"}, nullptr);
  ASSERT_EQ(results.size(), 1u);
  ASSERT_FALSE(results[0].ok());
  EXPECT_EQ(results[0].status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace bulwark::http
