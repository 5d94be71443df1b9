// An HTTP(S)/1.1 server on Asio with C++20 coroutines: accepts connections, runs the TLS
// handshake (or none, for plain TCP), parses requests with the codec, and answers each with the
// handler's response (keep-alive, timeouts, limits). The handler may suspend (long-poll). Create
// and Start/Stop from one thread; the handler runs on the io_context's threads, one coroutine per
// connection.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "asio/awaitable.hpp"
#include "asio/io_context.hpp"
#include "asio/ip/tcp.hpp"
#include "crypto/x509.h"
#include "http/codec.h"
#include "http/message.h"

namespace asio::ssl {
class context;
}

namespace bulwark::http {

struct ConnectionInfo {
  asio::ip::tcp::endpoint remote;
  // The client certificate verified during the handshake, if the client sent one.
  std::optional<crypto::Certificate> peer_certificate;
};

using Handler = std::function<asio::awaitable<Response>(Request, const ConnectionInfo&)>;
// Returns the TLS context for the next connection (lets the server certificate rotate); a
// connection is refused when it returns null. A null provider makes a plain TCP server (meant
// for loopback listeners only).
using TlsContextProvider = std::function<std::shared_ptr<asio::ssl::context>()>;

struct ServerOptions {
  Limits limits;
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds header_timeout{10'000};  // for the whole head of a request
  std::chrono::milliseconds idle_timeout{60'000};    // between requests on a connection
  std::size_t max_connections = 1024;
  // Content-Type added to a non-empty response whose handler did not set one.
  std::string default_content_type = "application/json";
};

class Server {
 public:
  // Binds `listen` ("host:port", "[::1]:port"; port 0 picks a free one). Fails with a clear
  // message when the address is invalid or taken.
  static absl::StatusOr<std::unique_ptr<Server>> Create(asio::io_context& io,
                                                        const std::string& listen,
                                                        TlsContextProvider tls, Handler handler,
                                                        ServerOptions options = {});
  ~Server();

  // Returns the bound address (useful with port 0).
  asio::ip::tcp::endpoint local_endpoint() const;
  // Starts accepting connections on the io_context.
  void Start();
  // Stops accepting and closes open connections; in-flight handlers see their socket closed.
  void Stop();

 private:
  struct State;
  explicit Server(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace bulwark::http
