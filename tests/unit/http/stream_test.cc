// Tests of http::internal::Stream's TLS path (OpenSSL on the socket's descriptor): a write to a
// peer that has gone is an error, never SIGPIPE (which would kill the process), and data sent
// after the handshake arrives through ReadInto.
#include "http/internal/stream.h"

#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "asio/co_spawn.hpp"
#include "asio/detached.hpp"
#include "asio/io_context.hpp"
#include "asio/ip/tcp.hpp"
#include "asio/use_awaitable.hpp"
#include "core/status.h"
#include "gtest/gtest.h"
#include "tests/support/test_pki.h"
#include "tls/context.h"

namespace bulwark::http::internal {
namespace {

using asio::ip::tcp;
using namespace std::chrono_literals;

// A TLS server Stream and a TLS client Stream connected over loopback, handshakes done.
struct TlsPair {
  std::optional<Stream> server;
  std::optional<Stream> client;
  std::error_code server_handshake = asio::error::timed_out;
  std::error_code client_handshake = asio::error::timed_out;
};

asio::awaitable<void> Connect(TlsPair& pair, const testing::TestPki& pki) {
  auto executor = co_await asio::this_coro::executor;
  tcp::acceptor acceptor(executor, {asio::ip::make_address("127.0.0.1"), 0});
  auto server_ctx =
      tls::MakeServerContext(pki.Credentials("server"), {pki.Cert("root")}, tls::ClientAuth::kNone);
  auto client_ctx = tls::MakeClientContext({pki.Cert("root")}, nullptr);
  BULWARK_CHECK(server_ctx.ok() && client_ctx.ok());
  tcp::socket client_socket(executor);
  co_await client_socket.async_connect(acceptor.local_endpoint(), asio::use_awaitable);
  tcp::socket accepted = co_await acceptor.async_accept(asio::use_awaitable);
  pair.server.emplace(std::move(accepted), *server_ctx);
  pair.client.emplace(std::move(client_socket), *client_ctx);
  SSL_set_tlsext_host_name(pair.client->ssl(), "localhost");
  asio::co_spawn(
      executor,
      [&pair]() -> asio::awaitable<void> {
        co_await pair.client->Handshake(asio::ssl::stream_base::client, pair.client_handshake);
      },
      asio::detached);
  co_await pair.server->Handshake(asio::ssl::stream_base::server, pair.server_handshake);
}

class StreamTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = std::make_unique<testing::TestPki>(); }
  static void TearDownTestSuite() { pki_.reset(); }
  void SetUp() override { ASSERT_TRUE(pki_->ok()); }

  static inline std::unique_ptr<testing::TestPki> pki_;
};

TEST_F(StreamTest, WriteAfterThePeerIsGoneIsAnErrorNotSigpipe) {
  asio::io_context io;
  TlsPair pair;
  std::error_code write_error;
  std::size_t written = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await Connect(pair, *pki_);
        // Our own side closed for sending: send() fails with EPIPE at once, the signal case.
        ::shutdown(pair.server->socket().native_handle(), SHUT_WR);
        written = co_await pair.server->Write(asio::buffer(std::string(1000, 'x')), write_error);
      },
      asio::detached);
  io.run_for(10s);
  ASSERT_FALSE(pair.server_handshake) << pair.server_handshake.message();
  ASSERT_FALSE(pair.client_handshake) << pair.client_handshake.message();
  // Reaching this line at all is the test: with write(2), SIGPIPE would have ended the process.
  EXPECT_TRUE(write_error) << "wrote " << written;
  EXPECT_EQ(written, 0u);
}

TEST_F(StreamTest, ReadIntoAppendsWhatThePeerSent) {
  asio::io_context io;
  TlsPair pair;
  std::string received = "kept:";
  std::error_code read_error = asio::error::timed_out;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await Connect(pair, *pki_);
        std::error_code ec;
        co_await pair.client->Write(asio::buffer(std::string("hello")), ec);
        while (received.size() < 10 && !ec) {
          co_await pair.server->ReadInto(received, 16, ec);
        }
        read_error = ec;
      },
      asio::detached);
  io.run_for(10s);
  EXPECT_FALSE(read_error) << read_error.message();
  EXPECT_EQ(received, "kept:hello");
}

}  // namespace
}  // namespace bulwark::http::internal
