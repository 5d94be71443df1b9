// An HTTP(S)/1.1 server on Asio with C++20 coroutines: accepts connections, runs the TLS
// handshake (or none, for plain TCP), parses requests with the codec, and answers each with the
// handler's response (keep-alive, timeouts, limits). The handler may suspend (long-poll). Create
// and Start/Stop from one thread; the handler runs on the io_context's threads (or on those of
// ServerOptions::workers, which the accept loop spreads connections over), one coroutine per
// connection.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "asio/awaitable.hpp"
#include "asio/io_context.hpp"
#include "asio/ip/tcp.hpp"
#include "crypto/x509.h"
#include "http/codec.h"
#include "http/message.h"
#include "http/socket_opener.h"

namespace asio::ssl {
class context;
}

namespace bulwark::http {

struct ConnectionInfo {
  asio::ip::tcp::endpoint remote;
  // The client certificate verified during the handshake, if the client sent one.
  std::optional<crypto::Certificate> peer_certificate;
  // The index in ServerOptions::workers of the event loop the connection runs on (0 without).
  std::size_t worker = 0;
};

using Handler = std::function<asio::awaitable<Response>(Request, const ConnectionInfo&)>;
// Returns the TLS context for the next connection (lets the server certificate rotate); a
// connection is refused when it returns null. A null provider makes a plain TCP server (meant
// for loopback listeners only).
using TlsContextProvider = std::function<std::shared_ptr<asio::ssl::context>()>;

// Why a TLS handshake failed, as counted by Server::handshake_failures().
enum class HandshakeFailure {
  kNoClientCertificate,  // the client sent no certificate where one is required
  kBadCertificate,       // the client's certificate did not verify (unknown CA, expired...)
  kProtocolVersion,      // the client offered no TLS 1.3 (TLS 1.2 and older)
  kNoSharedCipher,       // no cipher suite or group in common
  kNotTls,               // the client spoke something else (plain HTTP)
  kTimeout,              // not done within handshake_timeout
  kClosed,               // the client went away during the handshake
  kOther,
};
inline constexpr std::size_t kHandshakeFailureKinds = 8;
// Returns the metric label of `failure`: "no_client_certificate", "bad_certificate", ...
std::string_view HandshakeFailureName(HandshakeFailure failure);
using HandshakeFailureCounts = std::array<std::uint64_t, kHandshakeFailureKinds>;

struct ServerOptions {
  Limits limits;
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds header_timeout{10'000};  // for the whole head of a request
  std::chrono::milliseconds idle_timeout{60'000};    // between requests on a connection
  std::size_t max_connections = 1024;
  // Content-Type added to a non-empty response whose handler did not set one.
  std::string default_content_type = "application/json";
  // Makes the listening socket (then bound and listened on here); empty: a socket of our own.
  SocketOpener open_socket;
  // The event loops accepted connections are spread over, round robin: each connection then
  // lives on one of them (ConnectionInfo::worker says which). Empty: the server's io_context.
  // They must outlive the server's connections.
  std::vector<asio::io_context*> workers;
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
  // Stops accepting and closes the connections that wait for a request; a connection whose
  // request is in flight gets its response (with Connection: close) and is then closed. Call
  // Stop() to close what is still open when the drain deadline passes.
  void Drain();
  // Closes, on each connection's strand, every open connection whose ConnectionInfo satisfies
  // `predicate` (evaluated there, after the handshake; connections still in their handshake are
  // left alone). Pending reads and writes of those connections fail at once.
  void CloseConnectionsIf(std::function<bool(const ConnectionInfo&)> predicate);
  // Returns how many connections are open (accepted and not yet closed).
  std::size_t open_connections() const;
  // Returns how many TLS handshakes failed, indexed by HandshakeFailure.
  HandshakeFailureCounts handshake_failures() const;

 private:
  struct State;
  explicit Server(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace bulwark::http
