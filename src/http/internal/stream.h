// A byte stream that is either TLS over TCP or plain TCP, so that the server and the client run
// the same coroutines for both (the sidecar's loopback listeners and backends are plain). One
// Stream belongs to one strand; not thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <system_error>

#include "asio/awaitable.hpp"
#include "asio/ip/tcp.hpp"
#include "asio/ssl.hpp"

namespace bulwark::http::internal {

class Stream {
 public:
  using Socket = asio::ip::tcp::socket;

  // Wraps `socket`; with a null `tls` the stream is plain TCP. Shares ownership of `tls`.
  Stream(Socket socket, std::shared_ptr<asio::ssl::context> tls);

  bool is_tls() const { return tls_stream_.has_value(); }
  // Returns the TCP socket under the stream.
  Socket& socket() { return tls_stream_ ? tls_stream_->next_layer() : socket_; }
  // Returns the OpenSSL connection, or null for a plain stream.
  SSL* ssl() { return tls_stream_ ? tls_stream_->native_handle() : nullptr; }

  // Runs the TLS handshake as `type`; does nothing for a plain stream.
  asio::awaitable<void> Handshake(asio::ssl::stream_base::handshake_type type, std::error_code& ec);
  // Reads some bytes into `buffer`; returns how many.
  asio::awaitable<std::size_t> ReadSome(asio::mutable_buffer buffer, std::error_code& ec);
  // Writes all of `buffer`; returns how many bytes were written (fewer on error).
  asio::awaitable<std::size_t> Write(asio::const_buffer buffer, std::error_code& ec);
  // Sends TLS close_notify and waits for the peer's, or shuts down sending on a plain stream.
  asio::awaitable<void> Shutdown(std::error_code& ec);
  // Closes the socket; pending operations complete with an error.
  void Close();

 private:
  std::shared_ptr<asio::ssl::context> tls_;  // outlives tls_stream_
  Socket socket_;                            // used only when plain
  std::optional<asio::ssl::stream<Socket>> tls_stream_;
};

}  // namespace bulwark::http::internal
