// End-to-end tests of the HTTPS server and client over loopback: a real Server on 127.0.0.1:0
// with a two-thread io_context, test certificates made by the openssl CLI, and independent
// clients (raw TLS sockets and curl) for the attacks and interop checks.
#include <array>
#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "asio/connect.hpp"
#include "asio/executor_work_guard.hpp"
#include "asio/ssl.hpp"
#include "asio/steady_timer.hpp"
#include "asio/use_awaitable.hpp"
#include "asio/write.hpp"
#include "core/files.h"
#include "core/status.h"
#include "crypto/key.h"
#include "crypto/x509.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "http/client.h"
#include "http/server.h"
#include "tests/support/run_command.h"
#include "tests/support/running_server.h"
#include "tests/support/test_pki.h"
#include "tls/context.h"

namespace bulwark::http {
namespace {

using bulwark::testing::RunningServer;
using bulwark::testing::TestPki;

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A TLS client driven by hand, for what Send() will not do (partial requests, raw bytes).
// Every operation is bounded in time.
class RawTlsClient {
 public:
  RawTlsClient(const std::vector<crypto::Certificate>& roots, std::uint16_t port)
      : context_(*tls::MakeClientContext(roots, nullptr)), stream_(io_, *context_) {
    std::error_code ec;
    stream_.lowest_layer().connect({asio::ip::make_address("127.0.0.1"), port}, ec);
    connected_ = !ec;
  }

  // Runs the TLS handshake; returns the error, if any.
  std::error_code Handshake() {
    std::error_code result = asio::error::timed_out;
    stream_.async_handshake(asio::ssl::stream_base::client,
                            [&](std::error_code ec) { result = ec; });
    RunFor(5s);
    return result;
  }
  void Write(const std::string& data) {
    asio::async_write(stream_, asio::buffer(data), [](std::error_code, std::size_t) {});
    RunFor(5s);
  }
  // Reads until the server closes or `limit` passes; `closed` says which.
  std::string ReadUntilClosed(std::chrono::milliseconds limit, bool& closed) {
    std::string data;
    closed = false;
    std::function<void()> read = [&] {
      stream_.async_read_some(asio::buffer(buffer_), [&](std::error_code ec, std::size_t n) {
        data.append(buffer_.data(), n);
        if (ec) {
          closed = true;
          return;
        }
        read();
      });
    };
    read();
    RunFor(limit);
    return data;
  }
  bool connected() const { return connected_; }

 private:
  void RunFor(std::chrono::milliseconds limit) {
    io_.restart();
    io_.run_for(limit);
    if (!io_.stopped()) {
      // Timed out: abandon the pending operations so that none outlives this call.
      std::error_code ec;
      stream_.lowest_layer().close(ec);
      io_.restart();
      io_.run_for(1s);
    }
  }

  asio::io_context io_;
  std::shared_ptr<asio::ssl::context> context_;
  asio::ssl::stream<asio::ip::tcp::socket> stream_;
  std::array<char, 4096> buffer_{};
  bool connected_ = false;
};

Handler EchoHandler() {
  return [](Request request, const ConnectionInfo& info) -> asio::awaitable<Response> {
    Response response;
    response.headers.Set("Content-Type", "text/plain");
    response.headers.Set("X-Method", request.method);
    response.headers.Set("X-Path", std::string(request.Path()));
    response.headers.Set(
        "X-Peer", info.peer_certificate.has_value() && !info.peer_certificate->UriSans().empty()
                      ? info.peer_certificate->UriSans()[0]
                      : "none");
    response.body = request.body;
    co_return response;
  };
}

class ServerClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = std::make_unique<TestPki>(); }
  static void TearDownTestSuite() { pki_.reset(); }

  void SetUp() override { ASSERT_TRUE(pki_->ok()); }

  static std::shared_ptr<asio::ssl::context> ServerContext(
      tls::ClientAuth auth = tls::ClientAuth::kNone, const std::string& leaf = "server") {
    absl::StatusOr<std::shared_ptr<asio::ssl::context>> ctx =
        tls::MakeServerContext(pki_->Credentials(leaf), {pki_->Cert("root")}, auth);
    BULWARK_CHECK(ctx.ok());
    return *ctx;
  }
  static ClientOptions Options() {
    ClientOptions options;
    options.roots = {pki_->Cert("root")};
    options.timeout = 5s;
    return options;
  }
  static Request Post(std::string body) {
    Request request;
    request.method = "POST";
    request.body = std::move(body);
    return request;
  }

  static inline std::unique_ptr<TestPki> pki_;
};

TEST_F(ServerClientTest, PostIsEchoed) {
  RunningServer server(ServerContext(), EchoHandler());
  ASSERT_TRUE(server.ok());
  absl::StatusOr<Response> r = Send(server.Url("/echo?x=1"), Post("hello, server"), Options());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello, server");
  EXPECT_EQ(r->headers.Get("X-Method"), "POST");
  EXPECT_EQ(r->headers.Get("X-Path"), "/echo");
  EXPECT_EQ(r->headers.Get("Content-Type"), "text/plain");
  EXPECT_EQ(r->headers.Get("X-Peer"), "none");
}

TEST_F(ServerClientTest, DefaultContentTypeOnlyWhenHandlerSetNone) {
  RunningServer server(ServerContext(),
                       [](Request, const ConnectionInfo&) -> asio::awaitable<Response> {
                         Response response;
                         response.status = 201;
                         response.body = "{}";
                         co_return response;
                       });
  ASSERT_TRUE(server.ok());
  absl::StatusOr<Response> r = Send(server.Url("/"), Request{"GET"}, Options());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->headers.Get("Content-Type"), "application/json");
}

TEST_F(ServerClientTest, VerifiesHostNameWithoutExpectedId) {
  RunningServer server(ServerContext(tls::ClientAuth::kNone, "server_dns_only"), EchoHandler());
  ASSERT_TRUE(server.ok());
  absl::StatusOr<Response> by_name = Send(server.Url("/", "localhost"), Post("x"), Options());
  EXPECT_TRUE(by_name.ok()) << by_name.status();
  absl::StatusOr<Response> by_ip = Send(server.Url("/"), Post("x"), Options());
  ASSERT_FALSE(by_ip.ok());
  EXPECT_EQ(by_ip.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(std::string(by_ip.status().message()).find("certificate verify failed"),
            std::string::npos)
      << by_ip.status();
}

TEST_F(ServerClientTest, OptionalClientAuthShowsPeerCertificate) {
  RunningServer server(ServerContext(tls::ClientAuth::kOptional), EchoHandler());
  ASSERT_TRUE(server.ok());
  tls::Credentials client = pki_->Credentials("client");
  ClientOptions with_cert = Options();
  with_cert.credentials = &client;
  absl::StatusOr<Response> r = Send(server.Url("/"), Post("a"), with_cert);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->headers.Get("X-Peer"), "spiffe://example.org/svc/a");
  r = Send(server.Url("/"), Post("b"), Options());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->headers.Get("X-Peer"), "none");
}

TEST_F(ServerClientTest, OptionalClientAuthRefusesCertificateFromOtherRoot) {
  RunningServer server(ServerContext(tls::ClientAuth::kOptional), EchoHandler());
  ASSERT_TRUE(server.ok());
  tls::Credentials stranger = pki_->Credentials("stranger");
  ClientOptions options = Options();
  options.credentials = &stranger;
  absl::StatusOr<Response> r = Send(server.Url("/"), Post("a"), options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
}

TEST_F(ServerClientTest, RequiredClientAuthRefusesClientWithoutCertificate) {
  RunningServer server(ServerContext(tls::ClientAuth::kRequired), EchoHandler());
  ASSERT_TRUE(server.ok());
  absl::StatusOr<Response> r = Send(server.Url("/"), Post("a"), Options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(std::string(r.status().message()).find("certificate required"), std::string::npos)
      << r.status();
  tls::Credentials client = pki_->Credentials("client");
  ClientOptions with_cert = Options();
  with_cert.credentials = &client;
  r = Send(server.Url("/"), Post("a"), with_cert);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->headers.Get("X-Peer"), "spiffe://example.org/svc/a");
}

TEST_F(ServerClientTest, ExpectedServerIdMustMatch) {
  RunningServer server(ServerContext(), EchoHandler());
  ASSERT_TRUE(server.ok());
  ClientOptions options = Options();
  options.expected_server_id = "spiffe://example.org/authority";
  absl::StatusOr<Response> r = Send(server.Url("/"), Post("a"), options);
  EXPECT_TRUE(r.ok()) << r.status();
  options.expected_server_id = "spiffe://example.org/impostor";
  r = Send(server.Url("/"), Post("a"), options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  std::string message(r.status().message());
  EXPECT_NE(message.find("spiffe://example.org/impostor"), std::string::npos) << message;
  EXPECT_NE(message.find("spiffe://example.org/authority"), std::string::npos) << message;
}

TEST_F(ServerClientTest, RefusesServerFromAnotherRoot) {
  RunningServer server(ServerContext(), EchoHandler());
  ASSERT_TRUE(server.ok());
  ClientOptions options = Options();
  options.roots = {pki_->Cert("other_root")};
  absl::StatusOr<Response> r = Send(server.Url("/"), Post("a"), options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  std::string message(r.status().message());
  EXPECT_NE(message.find("TLS handshake with 127.0.0.1:"), std::string::npos) << message;
  EXPECT_NE(message.find("certificate verify failed"), std::string::npos) << message;
}

TEST_F(ServerClientTest, ConnectionRefusedIsReported) {
  std::uint16_t port = 0;
  {
    asio::io_context io;
    asio::ip::tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
    port = probe.local_endpoint().port();
  }
  absl::StatusOr<Response> r =
      Send(fmt::format("https://127.0.0.1:{}/", port), Post("a"), Options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(std::string(r.status().message()),
            fmt::format("cannot connect to 127.0.0.1:{}: Connection refused", port));
}

TEST_F(ServerClientTest, BadUrlIsInvalidArgument) {
  EXPECT_EQ(Send("https://user@h/", Post("a"), Options()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Send("http://127.0.0.1:1/", Post("a"), Options()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ServerClientTest, SlowHandlerHitsClientDeadline) {
  RunningServer server(ServerContext(),
                       [](Request, const ConnectionInfo&) -> asio::awaitable<Response> {
                         asio::steady_timer timer(co_await asio::this_coro::executor, 3s);
                         co_await timer.async_wait(asio::use_awaitable);
                         co_return Response{};
                       });
  ASSERT_TRUE(server.ok());
  ClientOptions options = Options();
  options.timeout = 300ms;
  Clock::time_point start = Clock::now();
  absl::StatusOr<Response> r = Send(server.Url("/"), Post("a"), options);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_LT(Clock::now() - start, 2s);
}

TEST_F(ServerClientTest, HeaderTimeoutClosesSlowlorisConnection) {
  ServerOptions options;
  options.header_timeout = 300ms;
  RunningServer server(ServerContext(), EchoHandler(), options);
  ASSERT_TRUE(server.ok());
  RawTlsClient raw({pki_->Cert("root")}, server.port());
  ASSERT_TRUE(raw.connected());
  ASSERT_FALSE(raw.Handshake());
  Clock::time_point start = Clock::now();
  raw.Write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
  bool closed = false;
  std::string data = raw.ReadUntilClosed(5s, closed);
  EXPECT_TRUE(closed) << "the server kept a half-sent request open";
  EXPECT_GE(Clock::now() - start, 250ms);
  EXPECT_LT(Clock::now() - start, 3s);
  EXPECT_EQ(data.find("HTTP/1.1 200"), std::string::npos);
}

TEST_F(ServerClientTest, MalformedRequestGetsJsonErrorAndClose) {
  RunningServer server(ServerContext(), EchoHandler());
  ASSERT_TRUE(server.ok());
  RawTlsClient raw({pki_->Cert("root")}, server.port());
  ASSERT_FALSE(raw.Handshake());
  raw.Write(
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\n");
  bool closed = false;
  std::string data = raw.ReadUntilClosed(5s, closed);
  EXPECT_TRUE(closed);
  ParseResult<Response> r = ParseResponse(data, {}, true);
  ASSERT_EQ(r.state, ParseState::kComplete) << data;
  EXPECT_EQ(r.message.status, 400);
  EXPECT_EQ(r.message.headers.Get("Content-Type"), "application/json");
  EXPECT_EQ(r.message.headers.Get("Connection"), "close");
  EXPECT_EQ(
      r.message.body,
      R"({"error":"bad_request","error_description":"both Content-Length and Transfer-Encoding"})");
}

TEST_F(ServerClientTest, PipelinedRequestsOnOneConnection) {
  RunningServer server(ServerContext(), EchoHandler());
  ASSERT_TRUE(server.ok());
  RawTlsClient raw({pki_->Cert("root")}, server.port());
  ASSERT_FALSE(raw.Handshake());
  raw.Write(
      "POST /one HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
      "POST /two HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Length: 2\r\n\r\nde");
  bool closed = false;
  std::string data = raw.ReadUntilClosed(5s, closed);
  EXPECT_TRUE(closed);
  ParseResult<Response> first = ParseResponse(data, {});
  ASSERT_EQ(first.state, ParseState::kComplete) << data;
  EXPECT_EQ(first.message.body, "abc");
  EXPECT_EQ(first.message.headers.Get("X-Path"), "/one");
  ParseResult<Response> second = ParseResponse(std::string_view(data).substr(first.consumed), {});
  ASSERT_EQ(second.state, ParseState::kComplete) << data;
  EXPECT_EQ(second.message.body, "de");
  EXPECT_EQ(second.message.headers.Get("Connection"), "close");
  EXPECT_EQ(first.consumed + second.consumed, data.size());
}

TEST_F(ServerClientTest, Http10ClosesAfterResponse) {
  RunningServer server(ServerContext(), EchoHandler());
  ASSERT_TRUE(server.ok());
  RawTlsClient raw({pki_->Cert("root")}, server.port());
  ASSERT_FALSE(raw.Handshake());
  raw.Write("GET /old HTTP/1.0\r\n\r\n");
  bool closed = false;
  std::string data = raw.ReadUntilClosed(5s, closed);
  EXPECT_TRUE(closed);
  ParseResult<Response> r = ParseResponse(data, {}, true);
  ASSERT_EQ(r.state, ParseState::kComplete) << data;
  EXPECT_EQ(r.message.headers.Get("X-Path"), "/old");
  EXPECT_EQ(r.message.headers.Get("Connection"), "close");
}

TEST_F(ServerClientTest, ConnectionsOverTheLimitAreClosed) {
  ServerOptions options;
  options.max_connections = 1;
  RunningServer server(ServerContext(), EchoHandler(), options);
  ASSERT_TRUE(server.ok());
  RawTlsClient first({pki_->Cert("root")}, server.port());
  ASSERT_FALSE(first.Handshake());
  RawTlsClient second({pki_->Cert("root")}, server.port());
  EXPECT_TRUE(second.Handshake()) << "a second connection was admitted";
}

TEST_F(ServerClientTest, StopClosesIdleConnections) {
  RunningServer server(ServerContext(), EchoHandler());
  ASSERT_TRUE(server.ok());
  RawTlsClient raw({pki_->Cert("root")}, server.port());
  ASSERT_FALSE(raw.Handshake());
  std::this_thread::sleep_for(50ms);  // let the server start reading
  server.server().Stop();
  bool closed = false;
  raw.ReadUntilClosed(3s, closed);
  EXPECT_TRUE(closed);
  RawTlsClient late({pki_->Cert("root")}, server.port());
  EXPECT_FALSE(late.connected() && !late.Handshake()) << "accepted after Stop()";
}

TEST_F(ServerClientTest, CreateReportsTakenAndInvalidAddresses) {
  RunningServer server(ServerContext(), EchoHandler());
  ASSERT_TRUE(server.ok());
  asio::io_context io;
  auto taken = Server::Create(
      io, fmt::format("127.0.0.1:{}", server.port()), [] { return ServerContext(); },
      EchoHandler());
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(std::string(taken.status().message()),
            fmt::format("cannot listen on 127.0.0.1:{}: Address already in use", server.port()));
  auto invalid = Server::Create(
      io, "no-port-here", [] { return ServerContext(); }, EchoHandler());
  EXPECT_EQ(invalid.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ServerClientTest, LongPollHandlersRunConcurrently) {
  RunningServer server(ServerContext(),
                       [](Request request, const ConnectionInfo&) -> asio::awaitable<Response> {
                         asio::steady_timer timer(co_await asio::this_coro::executor, 200ms);
                         co_await timer.async_wait(asio::use_awaitable);
                         Response response;
                         response.body = request.body;
                         co_return response;
                       });
  ASSERT_TRUE(server.ok());
  constexpr int kClients = 6;
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  Clock::time_point start = Clock::now();
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      absl::StatusOr<Response> r = Send(server.Url("/poll"), Post(std::to_string(i)), Options());
      if (r.ok() && r->body == std::to_string(i)) {
        ++ok;
      }
    });
  }
  for (std::thread& t : clients) {
    t.join();
  }
  auto elapsed = Clock::now() - start;
  EXPECT_EQ(ok.load(), kClients);
  EXPECT_GE(elapsed, 200ms);
  EXPECT_LT(elapsed, 200ms * kClients / 2) << "handlers did not overlap";
}

// Event loops each run by a thread of their own, as the sidecar's workers; stopped and joined
// on destruction (after the server that uses them).
class WorkerLoops {
 public:
  explicit WorkerLoops(int count) : loops_(count) {
    for (asio::io_context& loop : loops_) {
      guards_.emplace_back(asio::make_work_guard(loop));
      threads_.emplace_back([&loop] { loop.run(); });
    }
  }
  ~WorkerLoops() {
    for (asio::io_context& loop : loops_) {
      loop.stop();
    }
    for (std::thread& t : threads_) {
      t.join();
    }
  }
  std::vector<asio::io_context*> pointers() {
    std::vector<asio::io_context*> out;
    for (asio::io_context& loop : loops_) {
      out.push_back(&loop);
    }
    return out;
  }
  std::thread::id thread(std::size_t i) const { return threads_[i].get_id(); }

 private:
  std::vector<asio::io_context> loops_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
};

TEST_F(ServerClientTest, ConnectionsAreSpreadOverTheWorkersRoundRobin) {
  WorkerLoops workers(2);
  ServerOptions options;
  options.workers = workers.pointers();
  RunningServer server(
      ServerContext(),
      [](Request, const ConnectionInfo& info) -> asio::awaitable<Response> {
        Response response;
        response.headers.Set("X-Worker", std::to_string(info.worker));
        std::ostringstream thread;
        thread << std::this_thread::get_id();
        response.headers.Set("X-Thread", thread.str());
        co_return response;
      },
      options);
  ASSERT_TRUE(server.ok());
  for (int i = 0; i < 4; ++i) {
    // Send opens a connection per call: connection i goes to worker i % 2, on its thread.
    absl::StatusOr<Response> r = Send(server.Url("/"), Request{"GET", "/"}, Options());
    ASSERT_TRUE(r.ok()) << r.status();
    std::size_t worker = static_cast<std::size_t>(i % 2);
    EXPECT_EQ(r->headers.Get("X-Worker"), std::to_string(worker));
    std::ostringstream expected;
    expected << workers.thread(worker);
    EXPECT_EQ(r->headers.Get("X-Thread"), expected.str());
  }
  // Every connection's coroutine ends on its worker before the server's own loop goes away.
  for (int i = 0; i < 500 && server.server().open_connections() > 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(server.server().open_connections(), 0u);
}

TEST_F(ServerClientTest, CurlTalksToServer) {
  if (testing::RunCommand({"curl", "--version"}).exit_code != 0) {
    GTEST_SKIP() << "curl is not installed";
  }
  RunningServer server(ServerContext(), EchoHandler());
  ASSERT_TRUE(server.ok());
  testing::CommandResult r = testing::RunCommand({"curl", "-sS", "--max-time", "10", "--tlsv1.3",
                                                  "--cacert", pki_->Path("root"), "--data-binary",
                                                  "from curl", "-D", "-", server.Url("/curl")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("HTTP/1.1 200 OK"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("X-Path: /curl"), std::string::npos) << r.out;
  EXPECT_TRUE(r.out.ends_with("from curl")) << r.out;
}

}  // namespace
}  // namespace bulwark::http
