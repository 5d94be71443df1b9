// Tests of keep-alive reuse through ConnectionPool (plain and mTLS), of the cases where a
// connection must not be reused, of the one retry after a pooled connection turned out closed,
// and of the server's connection registry: CloseConnectionsIf, Drain and handshake failures.
#include "http/connection_pool.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "asio/co_spawn.hpp"
#include "asio/io_context.hpp"
#include "asio/ip/tcp.hpp"
#include "asio/read_until.hpp"
#include "asio/steady_timer.hpp"
#include "asio/streambuf.hpp"
#include "asio/use_awaitable.hpp"
#include "asio/write.hpp"
#include "core/status.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "gtest/gtest.h"
#include "http/client.h"
#include "http/server.h"
#include "tests/support/running_server.h"
#include "tests/support/test_pki.h"
#include "tls/context.h"

namespace bulwark::http {
namespace {

using namespace std::chrono_literals;
using bulwark::testing::RunningServer;
using bulwark::testing::TestPki;

Request Make(std::string method, std::string body = "") {
  Request request;
  request.method = std::move(method);
  request.body = std::move(body);
  return request;
}

// Sends each request in turn to `url` on one io_context (pooled connections belong to it) and
// returns the results; clears the pool before the io_context goes away.
std::vector<absl::StatusOr<Response>> SendAll(const std::string& url, std::vector<Request> requests,
                                              ClientOptions options) {
  std::vector<absl::StatusOr<Response>> results;
  asio::io_context io;
  auto run = [&]() -> asio::awaitable<void> {
    for (Request& request : requests) {
      results.push_back(co_await AsyncSend(url, std::move(request), options));
    }
  };
  asio::co_spawn(io, run(), [](std::exception_ptr) {});
  io.run_for(30s);
  if (options.pool != nullptr) {
    options.pool->Clear();
  }
  return results;
}

Handler Ok(bool close = false) {
  return [close](Request request, const ConnectionInfo&) -> asio::awaitable<Response> {
    if (std::optional<std::string> ms = request.QueryParam("sleep_ms")) {
      asio::steady_timer timer(co_await asio::this_coro::executor,
                               std::chrono::milliseconds(std::stoi(*ms)));
      co_await timer.async_wait(asio::use_awaitable);
    }
    Response response;
    response.body = "ok:" + request.body;
    if (close) {
      response.headers.Set("Connection", "close");
    }
    co_return response;
  };
}

ClientOptions Pooled(ConnectionPool& pool) {
  ClientOptions options;
  options.timeout = 5s;
  options.pool = &pool;
  return options;
}

TEST(ConnectionPoolTest, PlainKeepAliveConnectionIsReused) {
  RunningServer server(nullptr, Ok());
  ASSERT_TRUE(server.ok());
  ConnectionPool pool;
  std::vector<Request> requests;
  for (int i = 0; i < 5; ++i) {
    requests.push_back(Make(i % 2 ? "POST" : "GET", "x"));
  }
  auto results = SendAll(server.Url("/", "127.0.0.1", "http"), std::move(requests), Pooled(pool));
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->body, "ok:x");
  }
  EXPECT_EQ(pool.opened(), 1u);
  EXPECT_EQ(pool.reused(), 4u);
}

TEST(ConnectionPoolTest, ResponseWithConnectionCloseIsNotReused) {
  RunningServer server(nullptr, Ok(/*close=*/true));
  ASSERT_TRUE(server.ok());
  ConnectionPool pool;
  auto results =
      SendAll(server.Url("/", "127.0.0.1", "http"), {Make("GET"), Make("GET")}, Pooled(pool));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].ok() && results[1].ok());
  EXPECT_EQ(pool.opened(), 2u);
  EXPECT_EQ(pool.reused(), 0u);
}

TEST(ConnectionPoolTest, TimedOutExchangeIsNotReused) {
  RunningServer server(nullptr, Ok());
  ASSERT_TRUE(server.ok());
  ConnectionPool pool;
  ClientOptions options = Pooled(pool);
  options.timeout = 200ms;
  std::string base = server.Url("/", "127.0.0.1", "http");
  std::vector<absl::StatusOr<Response>> results;
  asio::io_context io;
  auto run = [&]() -> asio::awaitable<void> {
    results.push_back(co_await AsyncSend(base + "?sleep_ms=1000", Make("GET"), options));
    results.push_back(co_await AsyncSend(base, Make("GET"), options));
  };
  asio::co_spawn(io, run(), [](std::exception_ptr) {});
  io.run_for(10s);
  pool.Clear();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(results[1].ok()) << results[1].status();
  EXPECT_EQ(pool.opened(), 2u);
}

TEST(ConnectionPoolTest, IdleConnectionPastTheTimeoutIsNotReused) {
  RunningServer server(nullptr, Ok());
  ASSERT_TRUE(server.ok());
  ConnectionPool pool(PoolOptions{4, 8, 100ms});
  std::string url = server.Url("/", "127.0.0.1", "http");
  ClientOptions options = Pooled(pool);
  asio::io_context io;
  std::vector<absl::StatusOr<Response>> results;
  auto run = [&]() -> asio::awaitable<void> {
    results.push_back(co_await AsyncSend(url, Make("GET"), options));
    asio::steady_timer pause(co_await asio::this_coro::executor, 300ms);
    co_await pause.async_wait(asio::use_awaitable);
    results.push_back(co_await AsyncSend(url, Make("GET"), options));
  };
  asio::co_spawn(io, run(), [](std::exception_ptr) {});
  io.run_for(10s);
  pool.Clear();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[1].ok());
  EXPECT_EQ(pool.opened(), 2u);
  EXPECT_EQ(pool.reused(), 0u);
}

// A keep-alive HTTP server on a blocking socket: answers the first request on each connection,
// then closes it (without answering) when the next request arrives, as a server whose idle
// timeout fires just as the client reuses the connection.
class ClosingServer {
 public:
  ClosingServer() : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] { Run(); });
  }
  ~ClosingServer() {
    stop_ = true;
    std::error_code ec;
    // Wakes the accept with a connection of our own.
    asio::ip::tcp::socket poke(io_);
    poke.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
  }
  std::string Url() const {
    return fmt::format("http://127.0.0.1:{}/", acceptor_.local_endpoint().port());
  }
  int connections() const { return connections_.load(); }

 private:
  void Run() {
    while (!stop_) {
      std::error_code ec;
      asio::ip::tcp::socket socket = acceptor_.accept(ec);
      if (ec || stop_) {
        return;
      }
      ++connections_;
      asio::streambuf buffer;
      asio::read_until(socket, buffer, "\r\n\r\n", ec);
      if (ec) {
        continue;
      }
      asio::write(socket,
                  asio::buffer(std::string("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")), ec);
      buffer.consume(buffer.size());
      asio::read_until(socket, buffer, "\r\n\r\n", ec);  // the next request: close instead
      socket.close(ec);
    }
  }

  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

TEST(ConnectionPoolTest, IdempotentRequestOnAConnectionClosedMeanwhileIsRetriedOnce) {
  ClosingServer server;
  ConnectionPool pool;
  auto results = SendAll(server.Url(), {Make("GET"), Make("GET")}, Pooled(pool));
  ASSERT_EQ(results.size(), 2u);
  ASSERT_TRUE(results[0].ok()) << results[0].status();
  ASSERT_TRUE(results[1].ok()) << results[1].status();
  EXPECT_EQ(results[1]->body, "ok");
  EXPECT_EQ(pool.reused(), 1u);
  EXPECT_EQ(pool.opened(), 2u);  // the stale one, then a fresh one for the retry
}

TEST(ConnectionPoolTest, PostOnAConnectionClosedMeanwhileIsNotRetried) {
  ClosingServer server;
  ConnectionPool pool;
  auto results = SendAll(server.Url(), {Make("GET"), Make("POST", "once")}, Pooled(pool));
  ASSERT_EQ(results.size(), 2u);
  ASSERT_TRUE(results[0].ok()) << results[0].status();
  // The request was written: the server may have acted on it, so it is not sent again.
  EXPECT_EQ(results[1].status().code(), absl::StatusCode::kUnavailable) << results[1].status();
  EXPECT_EQ(pool.opened(), 1u);
}

TEST(ConnectionPoolTest, MutualTlsConnectionsAreKeyedByClientContext) {
  TestPki pki;
  ASSERT_TRUE(pki.ok());
  auto server_ctx = tls::MakeServerContext(pki.Credentials("server"), {pki.Cert("root")},
                                           tls::ClientAuth::kRequired);
  ASSERT_TRUE(server_ctx.ok());
  RunningServer server(*server_ctx, Ok());
  ASSERT_TRUE(server.ok());
  tls::Credentials client = pki.Credentials("client");
  auto first = tls::MakeClientContext({pki.Cert("root")}, &client);
  auto second = tls::MakeClientContext({pki.Cert("root")}, &client);
  ASSERT_TRUE(first.ok() && second.ok());
  ConnectionPool pool;
  ClientOptions options = Pooled(pool);
  options.expected_server_id = "spiffe://example.org/authority";
  asio::io_context io;
  std::vector<absl::StatusOr<Response>> results;
  auto run = [&]() -> asio::awaitable<void> {
    for (const auto& context : {*first, *first, *first, *second, *second}) {
      options.tls_context = context;  // a new context, as after SVID rotation
      results.push_back(co_await AsyncSend(server.Url("/"), Make("GET"), options));
    }
  };
  asio::co_spawn(io, run(), [](std::exception_ptr) {});
  io.run_for(30s);
  pool.Clear();
  ASSERT_EQ(results.size(), 5u);
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status();
  }
  EXPECT_EQ(pool.opened(), 2u);
  EXPECT_EQ(pool.reused(), 3u);
}

// A raw TCP client with bounded waits.
class RawClient {
 public:
  explicit RawClient(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawClient() { ::close(fd_); }
  bool connected() const { return connected_; }
  std::uint16_t local_port() const {
    sockaddr_in local{};
    socklen_t len = sizeof(local);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &len);
    return ntohs(local.sin_port);
  }
  void Send(const std::string& data) {
    EXPECT_EQ(::send(fd_, data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
  }
  // Reads until the peer closes or `timeout` passes; returns what arrived and whether it closed.
  std::pair<std::string, bool> ReadUntilClosed(std::chrono::milliseconds timeout) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (::poll(&p, 1, static_cast<int>(std::max<long>(1, left.count()))) <= 0) {
        continue;
      }
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        return {out, true};
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
    return {out, false};
  }

 private:
  int fd_;
  bool connected_ = false;
};

constexpr std::string_view kGet = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

TEST(ServerRegistryTest, CloseConnectionsIfClosesOnlyTheMatchingOpenConnections) {
  RunningServer server(nullptr, Ok());
  ASSERT_TRUE(server.ok());
  RawClient keep(server.port());
  RawClient drop(server.port());
  ASSERT_TRUE(keep.connected() && drop.connected());
  keep.Send(std::string(kGet));
  drop.Send(std::string(kGet));
  EXPECT_NE(keep.ReadUntilClosed(300ms).first.find("200 OK"), std::string::npos);
  EXPECT_NE(drop.ReadUntilClosed(300ms).first.find("200 OK"), std::string::npos);
  EXPECT_EQ(server.server().open_connections(), 2u);
  // Nothing more is sent: the server closes what the predicate picks, at once, and only that.
  auto started = std::chrono::steady_clock::now();
  server.server().CloseConnectionsIf([port = drop.local_port()](const ConnectionInfo& info) {
    return info.remote.port() == port;
  });
  EXPECT_TRUE(drop.ReadUntilClosed(2s).second);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  EXPECT_FALSE(keep.ReadUntilClosed(300ms).second);
  keep.Send(std::string(kGet));
  EXPECT_NE(keep.ReadUntilClosed(300ms).first.find("200 OK"), std::string::npos);
}

TEST(ServerRegistryTest, DrainClosesIdleConnectionsAndFinishesTheOneInFlight) {
  RunningServer server(nullptr, Ok());
  ASSERT_TRUE(server.ok());
  RawClient idle(server.port());
  RawClient busy(server.port());
  ASSERT_TRUE(idle.connected() && busy.connected());
  idle.Send(std::string(kGet));
  EXPECT_NE(idle.ReadUntilClosed(300ms).first.find("200 OK"), std::string::npos);
  busy.Send("GET /?sleep_ms=700 HTTP/1.1\r\nHost: x\r\n\r\n");
  std::this_thread::sleep_for(100ms);  // the slow request is in its handler
  server.server().Drain();
  EXPECT_TRUE(idle.ReadUntilClosed(1s).second);
  auto [answer, closed] = busy.ReadUntilClosed(3s);
  EXPECT_NE(answer.find("200 OK"), std::string::npos) << answer;
  EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
  EXPECT_TRUE(closed);
  RawClient late(server.port());  // no longer accepted
  EXPECT_TRUE(!late.connected() || late.ReadUntilClosed(1s).second);
}

TEST(ServerRegistryTest, HandshakeFailuresAreCountedByReason) {
  TestPki pki;
  ASSERT_TRUE(pki.ok());
  auto ctx = tls::MakeServerContext(pki.Credentials("server"), {pki.Cert("root")},
                                    tls::ClientAuth::kRequired);
  ASSERT_TRUE(ctx.ok());
  RunningServer server(*ctx, Ok());
  ASSERT_TRUE(server.ok());
  {
    RawClient plain(server.port());  // plain HTTP to the TLS port
    plain.Send(std::string(kGet));
    plain.ReadUntilClosed(2s);
  }
  ClientOptions options;  // TLS without a client certificate
  options.roots = {pki.Cert("root")};
  options.timeout = 2s;
  asio::io_context io;
  std::optional<absl::StatusOr<Response>> result;
  std::string url = server.Url("/");  // AsyncSend keeps a reference: it must outlive the call
  asio::co_spawn(io, AsyncSend(url, Make("GET"), options),
                 [&](std::exception_ptr, absl::StatusOr<Response> r) { result = std::move(r); });
  io.run_for(5s);
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->ok());
  auto deadline = std::chrono::steady_clock::now() + 2s;
  HandshakeFailureCounts counts{};
  while (std::chrono::steady_clock::now() < deadline) {
    counts = server.server().handshake_failures();
    if (counts[static_cast<std::size_t>(HandshakeFailure::kNotTls)] == 1 &&
        counts[static_cast<std::size_t>(HandshakeFailure::kNoClientCertificate)] == 1) {
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(counts[static_cast<std::size_t>(HandshakeFailure::kNotTls)], 1u);
  EXPECT_EQ(counts[static_cast<std::size_t>(HandshakeFailure::kNoClientCertificate)], 1u)
      << fmt::format("{}", fmt::join(counts, ",")) << result->status();
  EXPECT_EQ(HandshakeFailureName(HandshakeFailure::kProtocolVersion), "protocol_version");
}

}  // namespace
}  // namespace bulwark::http
