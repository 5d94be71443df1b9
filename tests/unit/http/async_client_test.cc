// Tests of AsyncSend (plain and mTLS, deadlines, use inside a server handler) and of the plain
// TCP mode of http::Server, over loopback with certificates made by the openssl CLI.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "asio/co_spawn.hpp"
#include "asio/ssl.hpp"
#include "asio/steady_timer.hpp"
#include "asio/use_awaitable.hpp"
#include "core/status.h"
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
using Clock = std::chrono::steady_clock;

// Runs AsyncSend to completion on a private io_context.
absl::StatusOr<Response> RunAsync(const std::string& url, Request request,
                                  const ClientOptions& options) {
  std::optional<absl::StatusOr<Response>> result;
  asio::io_context io;
  asio::co_spawn(io, AsyncSend(url, std::move(request), options),
                 [&](std::exception_ptr e, absl::StatusOr<Response> r) {
                   result = e ? absl::InternalError("threw") : std::move(r);
                 });
  io.run_for(30s);
  return result.value_or(absl::DeadlineExceededError("test: no result"));
}

// Echoes the method, path, Host header and peer SPIFFE ID; sleeps for ?sleep_ms=N first.
Handler Echo() {
  return [](Request request, const ConnectionInfo& info) -> asio::awaitable<Response> {
    if (std::optional<std::string> ms = request.QueryParam("sleep_ms")) {
      asio::steady_timer timer(co_await asio::this_coro::executor,
                               std::chrono::milliseconds(std::stoi(*ms)));
      co_await timer.async_wait(asio::use_awaitable);
    }
    Response response;
    response.headers.Set("X-Path", std::string(request.Path()));
    response.headers.Set("X-Host", std::string(request.headers.Get("Host").value_or("")));
    bool peer = info.peer_certificate.has_value() && !info.peer_certificate->UriSans().empty();
    response.headers.Set("X-Peer", peer ? info.peer_certificate->UriSans()[0] : "none");
    response.body = request.body;
    co_return response;
  };
}

Request Post(std::string body) {
  Request request;
  request.method = "POST";
  request.body = std::move(body);
  return request;
}

class AsyncClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = std::make_unique<TestPki>(); }
  static void TearDownTestSuite() { pki_.reset(); }
  void SetUp() override { ASSERT_TRUE(pki_->ok()); }

  static std::shared_ptr<asio::ssl::context> MtlsContext() {
    auto ctx = tls::MakeServerContext(pki_->Credentials("server"), {pki_->Cert("root")},
                                      tls::ClientAuth::kRequired);
    BULWARK_CHECK(ctx.ok());
    return *ctx;
  }
  static ClientOptions Plain() {
    ClientOptions options;
    options.timeout = 5s;
    return options;
  }

  static inline std::unique_ptr<TestPki> pki_;
};

TEST_F(AsyncClientTest, PlainServerAndPlainClient) {
  RunningServer server(nullptr, Echo());
  ASSERT_TRUE(server.ok());
  absl::StatusOr<Response> r =
      RunAsync(server.Url("/plain?x=1", "127.0.0.1", "http"), Post("hi"), Plain());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hi");
  EXPECT_EQ(r->headers.Get("X-Path"), "/plain");
  EXPECT_EQ(r->headers.Get("X-Host"), fmt::format("127.0.0.1:{}", server.port()));
  EXPECT_EQ(r->headers.Get("X-Peer"), "none");
}

TEST_F(AsyncClientTest, TlsClientCannotTalkToPlainServer) {
  RunningServer server(nullptr, Echo());
  ASSERT_TRUE(server.ok());
  ClientOptions options = Plain();
  options.roots = {pki_->Cert("root")};
  absl::StatusOr<Response> r = RunAsync(server.Url("/"), Post("x"), options);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
}

TEST_F(AsyncClientTest, PlainUrlWithCredentialsOrServerIdIsRefused) {
  tls::Credentials client = pki_->Credentials("client");
  ClientOptions options = Plain();
  options.credentials = &client;
  EXPECT_EQ(RunAsync("http://127.0.0.1:1/", Post("x"), options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options = Plain();
  options.expected_server_id = "spiffe://example.org/authority";
  EXPECT_EQ(RunAsync("http://127.0.0.1:1/", Post("x"), options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(AsyncClientTest, MutualTlsWithExpectedServerId) {
  RunningServer server(MtlsContext(), Echo());
  ASSERT_TRUE(server.ok());
  tls::Credentials client = pki_->Credentials("client");
  ClientOptions options = Plain();
  options.roots = {pki_->Cert("root")};
  options.credentials = &client;
  options.expected_server_id = "spiffe://example.org/authority";
  absl::StatusOr<Response> r = RunAsync(server.Url("/m"), Post("x"), options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->headers.Get("X-Peer"), "spiffe://example.org/svc/a");

  options.expected_server_id = "spiffe://example.org/svc/b";
  r = RunAsync(server.Url("/m"), Post("x"), options);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("is not spiffe://example.org/svc/b"), std::string::npos)
      << r.status();
}

TEST_F(AsyncClientTest, DeadlineCoversASlowServer) {
  RunningServer server(nullptr, Echo());
  ASSERT_TRUE(server.ok());
  ClientOptions options = Plain();
  options.timeout = 300ms;
  Clock::time_point start = Clock::now();
  absl::StatusOr<Response> r =
      RunAsync(server.Url("/?sleep_ms=3000", "127.0.0.1", "http"), Post("x"), options);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_LT(Clock::now() - start, 2s);
}

TEST_F(AsyncClientTest, ConnectionRefusedIsUnavailable) {
  absl::StatusOr<Response> r = RunAsync("http://127.0.0.1:1/", Post("x"), Plain());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
}

// A one-thread proxy server whose handler awaits AsyncSend: concurrent slow upstream calls
// overlap instead of queueing behind each other, so the io thread is never blocked.
TEST_F(AsyncClientTest, HandlerAwaitingAsyncSendDoesNotBlockTheIoThread) {
  RunningServer backend(nullptr, Echo());
  ASSERT_TRUE(backend.ok());
  std::string upstream = backend.Url("/?sleep_ms=1000", "127.0.0.1", "http");
  Handler proxy = [upstream](Request request, const ConnectionInfo&) -> asio::awaitable<Response> {
    absl::StatusOr<Response> r = co_await AsyncSend(upstream, std::move(request), Plain());
    co_return r.ok() ? *std::move(r) : Response{502};
  };
  RunningServer front(nullptr, proxy, {}, /*threads=*/1);
  ASSERT_TRUE(front.ok());
  Clock::time_point start = Clock::now();
  std::vector<std::thread> callers;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    callers.emplace_back([&] {
      absl::StatusOr<Response> r =
          RunAsync(front.Url("/", "127.0.0.1", "http"), Post("p"), Plain());
      ok += r.ok() && r->status == 200 ? 1 : 0;
    });
  }
  for (std::thread& t : callers) {
    t.join();
  }
  EXPECT_EQ(ok.load(), 4);
  EXPECT_LT(Clock::now() - start, 2500ms);
}

TEST_F(AsyncClientTest, HeadResponseEndsAfterItsHeaders) {
  RunningServer server(nullptr, Echo());
  ASSERT_TRUE(server.ok());
  Request head{"HEAD"};
  ClientOptions options = Plain();
  options.timeout = 2s;
  absl::StatusOr<Response> r = RunAsync(server.Url("/h", "127.0.0.1", "http"), head, options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "");
}

TEST_F(AsyncClientTest, BlockingSendStillRefusesPlainHttp) {
  EXPECT_EQ(Send("http://127.0.0.1:1/", Post("a"), Plain()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace bulwark::http
