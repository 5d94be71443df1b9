// A byte stream that is either TLS over TCP or plain TCP, so that the server and the client run
// the same coroutines for both (the sidecar's loopback listeners and backends are plain). TLS
// runs OpenSSL straight on the socket's descriptor (a socket BIO that sends with MSG_NOSIGNAL;
// waiting for readiness on the socket when it wants to read or write): no intermediate buffers
// or BIO pair per connection, and with SSL_MODE_RELEASE_BUFFERS an idle connection holds no
// record buffer. One Stream belongs to one strand; not thread-safe.
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <memory>
#include <string>
#include <system_error>

#include "asio/awaitable.hpp"
#include "asio/ip/tcp.hpp"
#include "asio/ssl/context.hpp"
#include "asio/ssl/stream_base.hpp"

namespace bulwark::http::internal {

class Stream {
 public:
  using Socket = asio::ip::tcp::socket;

  // Wraps `socket` (open or not yet); with a null `tls` the stream is plain TCP. Shares
  // ownership of `tls`.
  Stream(Socket socket, std::shared_ptr<asio::ssl::context> tls);

  bool is_tls() const { return tls_ != nullptr; }
  // Returns the TCP socket under the stream.
  Socket& socket() { return socket_; }
  // Returns the OpenSSL connection, or null for a plain stream.
  SSL* ssl() { return ssl_.get(); }

  // Runs the TLS handshake as `type` on the (now open) socket; does nothing for a plain stream.
  asio::awaitable<void> Handshake(asio::ssl::stream_base::handshake_type type, std::error_code& ec);
  // Waits until there is something to read (or the peer closed), then appends what arrived to
  // `buffer`, reading into its spare capacity (at least `min_room` bytes). Until then the
  // connection holds no read buffer: an idle keep-alive connection costs only its socket and
  // TLS state. Returns how many bytes were appended. A clean end (TLS close_notify, or FIN on a
  // plain stream) is asio::error::eof; a TLS stream cut without close_notify is
  // asio::ssl::error::stream_truncated.
  asio::awaitable<std::size_t> ReadInto(std::string& buffer, std::size_t min_room,
                                        std::error_code& ec);
  // Writes all of `buffer`; returns how many bytes were written (fewer on error).
  asio::awaitable<std::size_t> Write(asio::const_buffer buffer, std::error_code& ec);
  // Sends TLS close_notify and waits for the peer's, or shuts down sending on a plain stream.
  asio::awaitable<void> Shutdown(std::error_code& ec);
  // Closes the socket; pending operations complete with an error.
  void Close();

 private:
  struct SslFree {
    void operator()(SSL* ssl) const { SSL_free(ssl); }
  };
  using SslPtr = std::unique_ptr<SSL, SslFree>;

  // Runs `op` (an SSL_* call returning 1 on success) until it succeeds or fails, waiting on the
  // socket whenever OpenSSL wants to read or write.
  template <typename Op>
  asio::awaitable<bool> Drive(Op op, std::error_code& ec);

  std::shared_ptr<asio::ssl::context> tls_;  // outlives ssl_
  Socket socket_;
  SslPtr ssl_;                 // null when plain
  bool attached_ = false;      // ssl_ runs on socket_'s descriptor
  bool non_blocking_ = false;  // socket_'s synchronous reads return would_block
};

}  // namespace bulwark::http::internal
