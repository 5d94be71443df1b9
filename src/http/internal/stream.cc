// Dispatches each operation to the TLS stream or the plain socket.
#include "http/internal/stream.h"

#include "asio/redirect_error.hpp"
#include "asio/use_awaitable.hpp"
#include "asio/write.hpp"

namespace bulwark::http::internal {
namespace {

auto Ec(std::error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }

}  // namespace

Stream::Stream(Socket socket, std::shared_ptr<asio::ssl::context> tls)
    : tls_(std::move(tls)), socket_(socket.get_executor()) {
  if (tls_ != nullptr) {
    tls_stream_.emplace(std::move(socket), *tls_);
  } else {
    socket_ = std::move(socket);
  }
}

asio::awaitable<void> Stream::Handshake(asio::ssl::stream_base::handshake_type type,
                                        std::error_code& ec) {
  ec.clear();
  if (tls_stream_) {
    co_await tls_stream_->async_handshake(type, Ec(ec));
  }
}

asio::awaitable<std::size_t> Stream::ReadSome(asio::mutable_buffer buffer, std::error_code& ec) {
  ec.clear();
  if (tls_stream_) {
    co_return co_await tls_stream_->async_read_some(buffer, Ec(ec));
  }
  co_return co_await socket_.async_read_some(buffer, Ec(ec));
}

asio::awaitable<std::size_t> Stream::Write(asio::const_buffer buffer, std::error_code& ec) {
  ec.clear();
  if (tls_stream_) {
    co_return co_await asio::async_write(*tls_stream_, buffer, Ec(ec));
  }
  co_return co_await asio::async_write(socket_, buffer, Ec(ec));
}

asio::awaitable<void> Stream::Shutdown(std::error_code& ec) {
  ec.clear();
  if (tls_stream_) {
    co_await tls_stream_->async_shutdown(Ec(ec));
  } else {
    socket_.shutdown(Socket::shutdown_send, ec);
  }
}

void Stream::Close() {
  std::error_code ec;
  socket().close(ec);
}

}  // namespace bulwark::http::internal
