// Plain streams are the asio socket; TLS streams drive OpenSSL on the socket's descriptor and
// wait on the socket for readiness when it returns SSL_ERROR_WANT_READ/WRITE.
#include "http/internal/stream.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "asio/redirect_error.hpp"
#include "asio/ssl/error.hpp"
#include "asio/use_awaitable.hpp"
#include "asio/write.hpp"

namespace bulwark::http::internal {
namespace {

auto Ec(std::error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }

// Maps a failed SSL_* call to the error codes asio's own TLS stream reports, so callers (and
// the handshake failure metrics) read them the same way.
std::error_code SslError(SSL* ssl, int result) {
  int error = SSL_get_error(ssl, result);
  unsigned long queued = ERR_get_error();
  if (error == SSL_ERROR_ZERO_RETURN) {
    return asio::error::eof;
  }
  if (queued != 0) {
    if (ERR_GET_REASON(queued) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
      return asio::ssl::error::stream_truncated;
    }
    return {static_cast<int>(queued), asio::error::get_ssl_category()};
  }
  if (error == SSL_ERROR_SYSCALL && errno != 0) {
    return {errno, asio::error::get_system_category()};
  }
  return error == SSL_ERROR_SYSCALL ? asio::ssl::error::stream_truncated
                                    : asio::ssl::error::unexpected_result;
}

// Writes like OpenSSL's socket BIO but with send(MSG_NOSIGNAL): its write() would raise SIGPIPE,
// which kills the process, when the peer has gone. (asio's own sockets send with MSG_NOSIGNAL.)
int SendWithoutSigpipe(BIO* bio, const char* data, int size) {
  int fd = -1;
  BIO_get_fd(bio, &fd);
  BIO_clear_retry_flags(bio);
  ssize_t sent = ::send(fd, data, static_cast<std::size_t>(size), MSG_NOSIGNAL);
  if (sent <= 0 && BIO_sock_should_retry(static_cast<int>(sent))) {
    BIO_set_retry_write(bio);
  }
  return static_cast<int>(sent);
}

// The socket BIO method with SendWithoutSigpipe as its write; made once, never freed.
const BIO_METHOD* SocketWithoutSigpipe() {
  static const BIO_METHOD* const method = [] {
    const BIO_METHOD* socket = BIO_s_socket();
    BIO_METHOD* m = BIO_meth_new(BIO_TYPE_SOCKET, "socket (MSG_NOSIGNAL)");
    if (m != nullptr) {
      BIO_meth_set_write(m, SendWithoutSigpipe);
      BIO_meth_set_read(m, BIO_meth_get_read(socket));
      BIO_meth_set_puts(m, BIO_meth_get_puts(socket));
      BIO_meth_set_ctrl(m, BIO_meth_get_ctrl(socket));
      BIO_meth_set_create(m, BIO_meth_get_create(socket));
      BIO_meth_set_destroy(m, BIO_meth_get_destroy(socket));
    }
    return m;
  }();
  return method;
}

// Makes `ssl` read and write the socket `fd` (not owned) through SocketWithoutSigpipe.
bool AttachSocket(SSL* ssl, int fd) {
  const BIO_METHOD* method = SocketWithoutSigpipe();
  BIO* bio = method != nullptr ? BIO_new(method) : nullptr;
  if (bio == nullptr) {
    return false;
  }
  BIO_set_fd(bio, fd, BIO_NOCLOSE);
  SSL_set_bio(ssl, bio, bio);  // one reference, for both directions, now owned by ssl
  return true;
}

}  // namespace

Stream::Stream(Socket socket, std::shared_ptr<asio::ssl::context> tls)
    : tls_(std::move(tls)), socket_(std::move(socket)) {
  if (tls_ != nullptr) {
    ssl_.reset(SSL_new(tls_->native_handle()));
    if (ssl_ != nullptr) {
      // Release the ~34 KiB of record buffers whenever they are empty (between requests).
      SSL_set_mode(ssl_.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                   SSL_MODE_RELEASE_BUFFERS);
      // Read what the socket holds in one call rather than a record header, then its body: half
      // the reads, and no unread bytes left in the kernel when a failed handshake closes the
      // socket (those would turn the FIN into an RST that can discard the alert).
      SSL_set_read_ahead(ssl_.get(), 1);
    }
  }
}

template <typename Op>
asio::awaitable<bool> Stream::Drive(Op op, std::error_code& ec) {
  for (;;) {
    if (!socket_.is_open()) {
      // Closed (by a timeout): the descriptor number may already belong to another socket.
      ec = asio::error::bad_descriptor;
      co_return false;
    }
    ERR_clear_error();
    errno = 0;
    int result = op();
    if (result == 1) {
      co_return true;
    }
    int error = SSL_get_error(ssl_.get(), result);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      co_await socket_.async_wait(
          error == SSL_ERROR_WANT_READ ? Socket::wait_read : Socket::wait_write, Ec(ec));
      if (ec) {
        co_return false;
      }
      continue;
    }
    ec = SslError(ssl_.get(), result);
    ERR_clear_error();
    co_return false;
  }
}

asio::awaitable<void> Stream::Handshake(asio::ssl::stream_base::handshake_type type,
                                        std::error_code& ec) {
  ec.clear();
  if (!is_tls()) {
    co_return;
  }
  if (ssl_ == nullptr || !socket_.is_open()) {  // SSL_new failed, or closed by a timeout
    ec = asio::error::bad_descriptor;
    co_return;
  }
  socket_.non_blocking(true, ec);
  if (!ec && !AttachSocket(ssl_.get(), socket_.native_handle())) {
    ec = SslError(ssl_.get(), 0);
  }
  if (ec) {
    co_return;
  }
  attached_ = true;
  if (type == asio::ssl::stream_base::client) {
    SSL_set_connect_state(ssl_.get());
  } else {
    SSL_set_accept_state(ssl_.get());
  }
  co_await Drive([this] { return SSL_do_handshake(ssl_.get()); }, ec);
}

asio::awaitable<std::size_t> Stream::ReadInto(std::string& buffer, std::size_t min_room,
                                              std::error_code& ec) {
  ec.clear();
  bool tls_buffered =
      attached_ && (SSL_pending(ssl_.get()) > 0 || SSL_has_pending(ssl_.get()) == 1);
  std::size_t old_size = buffer.size();
  std::size_t n = 0;
  for (bool wait = !tls_buffered;; wait = true) {
    if (wait) {
      co_await socket_.async_wait(Socket::wait_read, Ec(ec));
      if (ec) {
        co_return 0;
      }
    }
    // Readable now: the buffer grows only for bytes that are there to read.
    buffer.resize(std::max(old_size + min_room, buffer.capacity()));
    asio::mutable_buffer room(buffer.data() + old_size, buffer.size() - old_size);
    if (is_tls()) {
      // Drive waits itself if OpenSSL needs more than what arrived (a partial record).
      if (!attached_) {
        ec = asio::error::not_connected;
      } else {
        co_await Drive([&] { return SSL_read_ex(ssl_.get(), room.data(), room.size(), &n); }, ec);
      }
      break;
    }
    if (!non_blocking_) {
      socket_.non_blocking(true, ec);  // read_some must never block the event loop
      non_blocking_ = !ec;
    }
    n = ec ? 0 : socket_.read_some(room, ec);
    if (ec != asio::error::would_block && ec != asio::error::try_again) {
      break;  // a spurious wake-up waits again; anything else is the result
    }
    ec.clear();
  }
  buffer.resize(old_size + (ec ? 0 : n));
  co_return ec ? 0 : n;
}

asio::awaitable<std::size_t> Stream::Write(asio::const_buffer buffer, std::error_code& ec) {
  ec.clear();
  if (!is_tls()) {
    co_return co_await asio::async_write(socket_, buffer, Ec(ec));
  }
  if (!attached_) {
    ec = asio::error::not_connected;
    co_return 0;
  }
  const char* data = static_cast<const char*>(buffer.data());
  std::size_t written = 0;
  while (written < buffer.size()) {
    std::size_t n = 0;
    if (!co_await Drive(
            [&] { return SSL_write_ex(ssl_.get(), data + written, buffer.size() - written, &n); },
            ec)) {
      break;
    }
    written += n;
  }
  co_return written;
}

asio::awaitable<void> Stream::Shutdown(std::error_code& ec) {
  ec.clear();
  if (!is_tls()) {
    socket_.shutdown(Socket::shutdown_send, ec);
    co_return;
  }
  if (!attached_) {
    co_return;
  }
  // SSL_shutdown returns 0 once our close_notify is sent, 1 once the peer's has arrived too.
  bool sent = false;
  co_await Drive(
      [&] {
        int result = SSL_shutdown(ssl_.get());
        if (result == 0 && !sent) {
          sent = true;
          return SSL_shutdown(ssl_.get());
        }
        return result;
      },
      ec);
}

void Stream::Close() {
  std::error_code ec;
  socket_.close(ec);
}

}  // namespace bulwark::http::internal
