// HTTP(S)/1.1 server: an accept loop on its own strand, and one coroutine per connection on the
// connection's strand (its socket, timer and handler all run there, so several io_context
// threads never touch one connection at once). Parsing is the sans-I/O codec's job.
#include "http/server.h"

#include <unistd.h>
#include <array>
#include <cstdint>
#include <exception>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "asio/co_spawn.hpp"
#include "asio/post.hpp"
#include "asio/redirect_error.hpp"
#include "asio/ssl.hpp"
#include "asio/steady_timer.hpp"
#include "asio/strand.hpp"
#include "asio/use_awaitable.hpp"
#include "asio/write.hpp"
#include "core/status.h"
#include "crypto/internal/openssl_error.h"
#include "fmt/format.h"
#include "http/internal/stream.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"
#include "tls/context.h"

namespace bulwark::http {
namespace {

using asio::ip::tcp;
// Room for a typical request head per read; a growing buffer reads more at a time.
constexpr std::size_t kMinReadBytes = 4 * 1024;
constexpr std::chrono::milliseconds kShutdownTimeout{1000};
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};

auto Ec(std::error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }

std::string EndpointText(const tcp::endpoint& ep) {
  std::string address = ep.address().to_string();
  return ep.address().is_v6() ? fmt::format("[{}]:{}", address, ep.port())
                              : fmt::format("{}:{}", address, ep.port());
}

void LogException(std::exception_ptr e, std::string_view where) {
  if (!e) {
    return;
  }
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    spdlog::error("http server: {} failed: {}", where, ex.what());
  } catch (...) {
    spdlog::error("http server: {} failed with an unknown exception", where);
  }
}

// One accepted connection: the (TLS or plain) stream and the watchdog timer that closes it.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // A null `tls` makes a plain TCP connection.
  Connection(std::uint64_t id, tcp::socket socket, std::shared_ptr<asio::ssl::context> tls)
      : id_(id),
        stream_(std::move(socket), std::move(tls)),
        timer_(stream_.socket().get_executor()) {}

  std::uint64_t id() const { return id_; }
  internal::Stream& stream() { return stream_; }
  // The peer, once the handshake is done; `ready` says it is. On the strand.
  ConnectionInfo& info() { return info_; }
  bool ready() const { return ready_; }
  void set_ready() { ready_ = true; }
  // Whether the server drains: answer the request in flight, then close. On the strand.
  bool draining() const { return draining_; }
  // Whether the connection waits for the first byte of a request. On the strand.
  bool waiting() const { return waiting_; }
  void set_waiting(bool waiting) { waiting_ = waiting; }
  // Starts draining; closes at once when no request is in flight. On the strand.
  void Drain() {
    draining_ = true;
    if (waiting_) {
      Close();
    }
  }
  // Whether the watchdog closed the connection.
  bool timed_out() const { return timed_out_; }

  // Closes the socket once `timeout` elapses unless re-armed or disarmed first. On the strand.
  void Arm(std::chrono::milliseconds timeout) {
    timer_.expires_after(timeout);
    timer_.async_wait([weak = weak_from_this()](std::error_code ec) {
      std::shared_ptr<Connection> self = weak.lock();
      // A wait that already completed cannot be cancelled: check the expiry still holds.
      if (self && !ec && self->timer_.expiry() <= asio::steady_timer::clock_type::now()) {
        self->timed_out_ = true;
        self->Close();
      }
    });
  }
  void Disarm() { timer_.cancel(); }
  // Closes the socket; pending operations complete with an error. On the strand.
  void Close() {
    stream_.Close();
    timer_.cancel();
  }

 private:
  std::uint64_t id_;
  internal::Stream stream_;
  asio::steady_timer timer_;
  ConnectionInfo info_;
  bool ready_ = false;
  bool draining_ = false;
  bool waiting_ = false;
  bool timed_out_ = false;
};

// Maps a failed server handshake to its metric reason.
HandshakeFailure ClassifyHandshakeFailure(const std::error_code& ec, bool timed_out) {
  if (timed_out) {
    return HandshakeFailure::kTimeout;
  }
  if (ec == asio::error::eof || ec == asio::error::connection_reset ||
      ec == asio::ssl::error::stream_truncated) {
    return HandshakeFailure::kClosed;
  }
  if (ec.category() != asio::error::get_ssl_category()) {
    return HandshakeFailure::kOther;
  }
  switch (ERR_GET_REASON(static_cast<unsigned long>(ec.value()))) {
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
      return HandshakeFailure::kNoClientCertificate;
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
      return HandshakeFailure::kBadCertificate;
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_VERSION_TOO_LOW:
      return HandshakeFailure::kProtocolVersion;
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_NO_SHARED_GROUPS:
    case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
      return HandshakeFailure::kNoSharedCipher;
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
      return HandshakeFailure::kNotTls;
    default:
      return HandshakeFailure::kOther;
  }
}

Response ErrorResponse(int status, std::string_view code, std::string_view description) {
  Response response;
  response.status = status;
  response.headers.Set("Content-Type", "application/json");
  response.body =
      nlohmann::json{{"error", code}, {"error_description", description}}.dump(-1, ' ', true);
  return response;
}

bool StatusHasBody(int status) { return status >= 200 && status != 204 && status != 304; }

// Completes the handler's response and serializes it.
std::string Finalize(Response response, bool keep_alive, bool head, const ServerOptions& options) {
  if (response.status < 100 || response.status > 599) {
    spdlog::error("http server: handler returned invalid status {}", response.status);
    response = ErrorResponse(500, "server_error", "internal error");
  }
  if (!response.body.empty() && !response.headers.Get("Content-Type").has_value()) {
    response.headers.Set("Content-Type", options.default_content_type);
  }
  if (!keep_alive) {
    response.headers.Set("Connection", "close");
  }
  std::string wire = SerializeResponse(response);
  if (head && StatusHasBody(response.status)) {
    wire.resize(wire.size() - response.body.size());  // HEAD: headers as for GET, no content
  }
  return wire;
}

// Runs the handshake and fills conn.info(); returns the failure, if any.
asio::awaitable<std::optional<HandshakeFailure>> Handshake(Connection& conn,
                                                           const ServerOptions& options) {
  std::error_code ec;
  ConnectionInfo& info = conn.info();
  info.remote = conn.stream().socket().remote_endpoint(ec);
  if (!conn.stream().is_tls()) {
    conn.set_ready();
    co_return std::nullopt;
  }
  conn.Arm(options.handshake_timeout);
  co_await conn.stream().Handshake(asio::ssl::stream_base::server, ec);
  if (ec) {
    HandshakeFailure failure = ClassifyHandshakeFailure(ec, conn.timed_out());
    spdlog::debug("http server: TLS handshake with {} failed ({}): {}", EndpointText(info.remote),
                  HandshakeFailureName(failure), ec.message());
    crypto::internal::ClearOpenSslErrors();
    co_return failure;
  }
  info.peer_certificate = tls::PeerCertificate(conn.stream().ssl());
  conn.set_ready();
  co_return std::nullopt;
}

// Reads until `buffer` starts with a complete (or invalid) request. The head must arrive within
// header_timeout of its first byte; a body read may pause for idle_timeout. Sets `closed` when
// the peer went away or a timeout closed the socket.
asio::awaitable<ParseResult<Request>> ReadRequest(Connection& conn, const ServerOptions& options,
                                                  std::string& buffer, bool first, bool& closed) {
  bool head_done = false;
  conn.Arm(buffer.empty() && !first ? options.idle_timeout : options.header_timeout);
  conn.set_waiting(buffer.empty());
  for (;;) {
    if (!buffer.empty()) {
      ParseResult<Request> parsed = ParseRequest(buffer, options.limits);
      if (parsed.state != ParseState::kIncomplete) {
        co_return parsed;
      }
    }
    std::error_code ec;
    bool was_empty = buffer.empty();
    co_await conn.stream().ReadInto(buffer, kMinReadBytes, ec);
    conn.set_waiting(false);
    if (ec) {
      closed = true;
      co_return ParseResult<Request>{};
    }
    head_done = head_done || buffer.find("\r\n\r\n") != std::string::npos;
    if (head_done) {
      conn.Arm(options.idle_timeout);
    } else if (was_empty) {
      conn.Arm(options.header_timeout);
    }
  }
}

asio::awaitable<Response> CallHandler(const Handler& handler, Request request,
                                      const ConnectionInfo& info) {
  std::string what = fmt::format("{} {}", request.method, request.Path());
  try {
    co_return co_await handler(std::move(request), info);
  } catch (const std::exception& e) {
    spdlog::error("http server: handler for {} threw: {}", what, e.what());
  }
  co_return ErrorResponse(500, "server_error", "internal error");
}

// Sends close_notify and waits briefly for the peer's, then closes.
asio::awaitable<void> GracefulClose(Connection& conn) {
  conn.Arm(kShutdownTimeout);
  std::error_code ec;
  co_await conn.stream().Shutdown(ec);
  conn.Close();
}

asio::awaitable<bool> Respond(Connection& conn, Response response, bool keep_alive, bool head,
                              const ServerOptions& options) {
  std::string wire = Finalize(std::move(response), keep_alive, head, options);
  conn.Arm(options.idle_timeout);
  std::error_code ec;
  co_await conn.stream().Write(asio::buffer(wire), ec);
  if (ec) {
    co_return false;
  }
  if (!keep_alive) {
    co_await GracefulClose(conn);
  }
  co_return true;
}

asio::awaitable<void> RunConnection(Connection& conn, const Handler& handler,
                                    const ServerOptions& options) {
  const ConnectionInfo& info = conn.info();
  std::string buffer;
  for (bool first = true;; first = false) {
    if (conn.draining() && buffer.empty()) {
      co_return;
    }
    bool closed = false;
    ParseResult<Request> parsed = co_await ReadRequest(conn, options, buffer, first, closed);
    if (closed) {
      co_return;
    }
    if (parsed.state == ParseState::kError) {
      Response error = ErrorResponse(parsed.error_status, "bad_request", parsed.error);
      co_await Respond(conn, std::move(error), false, false, options);
      co_return;
    }
    buffer.erase(0, parsed.consumed);
    if (buffer.empty()) {
      std::string().swap(buffer);  // an idle keep-alive connection keeps no read buffer
    }
    bool head = parsed.message.method == "HEAD";
    conn.Disarm();  // a handler may legitimately take long (long-poll)
    Response response = co_await CallHandler(handler, std::move(parsed.message), info);
    bool keep_alive = parsed.keep_alive && !conn.draining();
    if (!co_await Respond(conn, std::move(response), keep_alive, head, options) || !keep_alive) {
      co_return;
    }
  }
}

absl::StatusOr<tcp::endpoint> ParseListen(asio::io_context& io, const std::string& listen) {
  std::string host;
  std::string port;
  std::size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size()) {
    return absl::InvalidArgumentError(
        fmt::format("invalid listen address '{}': expected host:port", listen));
  }
  host = listen.substr(0, colon);
  port = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::error_code ec;
  tcp::resolver resolver(io);
  auto results = resolver.resolve(host.empty() ? "0.0.0.0" : host, port,
                                  tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("invalid listen address '{}': {}", listen, ec ? ec.message() : "no address"));
  }
  return results.begin()->endpoint();
}

}  // namespace

// The server's shared state; coroutines hold it by shared_ptr so it outlives the Server object
// until the io_context has dropped them.
struct Server::State : public std::enable_shared_from_this<Server::State> {
  State(asio::io_context& io_context, TlsContextProvider provider, Handler h, ServerOptions o)
      : io(io_context),
        acceptor(asio::make_strand(io_context)),
        tls(std::move(provider)),
        handler(std::move(h)),
        options(std::move(o)) {}

  absl::Status Listen(const tcp::endpoint& endpoint, const std::string& text);
  static asio::awaitable<void> AcceptLoop(std::shared_ptr<State> self);
  static asio::awaitable<void> Serve(std::shared_ptr<State> self, std::shared_ptr<Connection> conn);
  // Returns the event loop of the next connection and its index; on the acceptor's strand.
  std::pair<asio::io_context&, std::size_t> NextWorker();
  void Admit(tcp::socket socket, std::size_t worker);
  void Remove(std::uint64_t id);
  void Stop();
  void Drain();
  // Sets `flag` and closes the acceptor; false when stopped or `flag` was already set.
  bool StopAccepting(bool State::*flag);
  // Runs `action` on the strand of every open connection.
  void ForEachConnection(std::function<void(Connection&)> action);

  asio::io_context& io;
  tcp::acceptor acceptor;
  tcp::endpoint local;
  TlsContextProvider tls;
  Handler handler;
  ServerOptions options;
  std::array<std::atomic<std::uint64_t>, kHandshakeFailureKinds> handshake_failures{};
  std::size_t next_worker = 0;  // on the acceptor's strand
  mutable std::mutex mu;
  bool stopped = false;                                       // guarded by mu
  bool draining = false;                                      // guarded by mu
  std::uint64_t next_id = 0;                                  // guarded by mu
  std::map<std::uint64_t, std::shared_ptr<Connection>> live;  // guarded by mu
};

absl::Status Server::State::Listen(const tcp::endpoint& endpoint, const std::string& text) {
  std::error_code ec;
  if (options.open_socket) {
    absl::StatusOr<int> fd = options.open_socket(endpoint.protocol().family());
    if (!fd.ok()) {
      return absl::UnavailableError(
          fmt::format("cannot listen on {}: {}", text, fd.status().message()));
    }
    acceptor.assign(endpoint.protocol(), *fd, ec);
    if (ec) {
      ::close(*fd);
    }
  } else {
    acceptor.open(endpoint.protocol(), ec);
  }
  if (!ec) {
    acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  }
  if (!ec) {
    acceptor.bind(endpoint, ec);
  }
  if (!ec) {
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (!ec) {
    local = acceptor.local_endpoint(ec);
  }
  if (ec) {
    return absl::UnavailableError(fmt::format("cannot listen on {}: {}", text, ec.message()));
  }
  return absl::OkStatus();
}

asio::awaitable<void> Server::State::AcceptLoop(std::shared_ptr<State> self) {
  asio::steady_timer pause(self->acceptor.get_executor());
  for (;;) {
    std::error_code ec;
    // Each connection gets its own strand (on its worker's event loop, when there are several):
    // its socket, timer and handler never run in parallel.
    auto [loop, worker] = self->NextWorker();
    tcp::socket socket = co_await self->acceptor.async_accept(asio::make_strand(loop), Ec(ec));
    if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) {
      co_return;
    }
    if (ec) {
      // For example EMFILE: back off instead of spinning.
      spdlog::warn("http server: accept on {} failed: {}", EndpointText(self->local), ec.message());
      pause.expires_after(kAcceptRetryDelay);
      co_await pause.async_wait(Ec(ec));
      continue;
    }
    self->Admit(std::move(socket), worker);
  }
}

std::pair<asio::io_context&, std::size_t> Server::State::NextWorker() {
  const std::vector<asio::io_context*>& workers = options.workers;
  if (workers.empty()) {
    return {io, 0};
  }
  std::size_t worker = next_worker;
  next_worker = (next_worker + 1) % workers.size();
  return {*workers[worker], worker};
}

void Server::State::Admit(tcp::socket socket, std::size_t worker) {
  std::shared_ptr<asio::ssl::context> context;
  try {
    context = tls ? tls() : nullptr;  // no provider: plain TCP
  } catch (const std::exception& e) {
    spdlog::error("http server: TLS context provider threw: {}", e.what());
  }
  std::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);  // small TLS records must not wait for ACKs
  std::shared_ptr<Connection> conn;
  {
    std::lock_guard<std::mutex> lock(mu);
    bool tls_ok = !tls || context != nullptr;
    if (!stopped && !draining && tls_ok && live.size() < options.max_connections) {
      conn = std::make_shared<Connection>(next_id++, std::move(socket), std::move(context));
      conn->info().worker = worker;
      live.emplace(conn->id(), conn);
    }
  }
  if (conn == nullptr) {
    std::error_code ec;
    socket.close(ec);  // over the limit, stopping, or no TLS context: refuse at once
    return;
  }
  asio::co_spawn(conn->stream().socket().get_executor(), Serve(shared_from_this(), conn),
                 [](std::exception_ptr e) { LogException(e, "connection"); });
}

asio::awaitable<void> Server::State::Serve(std::shared_ptr<State> self,
                                           std::shared_ptr<Connection> conn) {
  try {
    std::optional<HandshakeFailure> failure = co_await Handshake(*conn, self->options);
    if (failure.has_value()) {
      self->handshake_failures[static_cast<std::size_t>(*failure)].fetch_add(
          1, std::memory_order_relaxed);
    } else {
      co_await RunConnection(*conn, self->handler, self->options);
    }
  } catch (const std::exception& e) {
    spdlog::warn("http server: connection {} failed: {}", conn->id(), e.what());
  }
  conn->Close();
  self->Remove(conn->id());
}

void Server::State::Remove(std::uint64_t id) {
  std::lock_guard<std::mutex> lock(mu);
  live.erase(id);
}

bool Server::State::StopAccepting(bool State::*flag) {
  {
    std::lock_guard<std::mutex> lock(mu);
    if (stopped || this->*flag) {
      return false;
    }
    this->*flag = true;
  }
  // The acceptor and each socket are closed on their own strands, never from this thread.
  asio::post(acceptor.get_executor(), [self = shared_from_this()] {
    std::error_code ec;
    self->acceptor.close(ec);
  });
  return true;
}

void Server::State::Stop() {
  if (StopAccepting(&State::stopped)) {
    ForEachConnection([](Connection& conn) { conn.Close(); });
  }
}

void Server::State::Drain() {
  if (StopAccepting(&State::draining)) {
    ForEachConnection([](Connection& conn) { conn.Drain(); });
  }
}

void Server::State::ForEachConnection(std::function<void(Connection&)> action) {
  std::vector<std::shared_ptr<Connection>> open;
  {
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& [id, conn] : live) {
      open.push_back(conn);
    }
  }
  auto shared = std::make_shared<std::function<void(Connection&)>>(std::move(action));
  for (const std::shared_ptr<Connection>& conn : open) {
    asio::post(conn->stream().socket().get_executor(), [conn, shared] { (*shared)(*conn); });
  }
}

absl::StatusOr<std::unique_ptr<Server>> Server::Create(asio::io_context& io,
                                                       const std::string& listen,
                                                       TlsContextProvider tls, Handler handler,
                                                       ServerOptions options) {
  absl::StatusOr<tcp::endpoint> endpoint = ParseListen(io, listen);
  if (!endpoint.ok()) {
    return endpoint.status();
  }
  auto state = std::make_shared<State>(io, std::move(tls), std::move(handler), std::move(options));
  if (absl::Status s = state->Listen(*endpoint, listen); !s.ok()) {
    return s;
  }
  return std::unique_ptr<Server>(new Server(std::move(state)));
}

Server::~Server() { Stop(); }

asio::ip::tcp::endpoint Server::local_endpoint() const { return state_->local; }

void Server::Start() {
  asio::co_spawn(state_->acceptor.get_executor(), State::AcceptLoop(state_),
                 [](std::exception_ptr e) { LogException(e, "accept loop"); });
}

void Server::Stop() { state_->Stop(); }

void Server::Drain() { state_->Drain(); }

void Server::CloseConnectionsIf(std::function<bool(const ConnectionInfo&)> predicate) {
  state_->ForEachConnection([predicate = std::move(predicate)](Connection& conn) {
    if (conn.ready() && predicate(conn.info())) {
      conn.Close();
    }
  });
}

std::size_t Server::open_connections() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->live.size();
}

HandshakeFailureCounts Server::handshake_failures() const {
  HandshakeFailureCounts counts{};
  for (std::size_t i = 0; i < counts.size(); ++i) {
    counts[i] = state_->handshake_failures[i].load(std::memory_order_relaxed);
  }
  return counts;
}

std::string_view HandshakeFailureName(HandshakeFailure failure) {
  switch (failure) {
    case HandshakeFailure::kNoClientCertificate:
      return "no_client_certificate";
    case HandshakeFailure::kBadCertificate:
      return "bad_certificate";
    case HandshakeFailure::kProtocolVersion:
      return "protocol_version";
    case HandshakeFailure::kNoSharedCipher:
      return "no_shared_cipher";
    case HandshakeFailure::kNotTls:
      return "not_tls";
    case HandshakeFailure::kTimeout:
      return "timeout";
    case HandshakeFailure::kClosed:
      return "closed";
    case HandshakeFailure::kOther:
      break;
  }
  return "other";
}

}  // namespace bulwark::http
