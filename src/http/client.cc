// HTTP(S)/1.1 client: AsyncSend is one coroutine per call, bounded by a timer that closes the
// socket at the deadline; Send runs it on a private io_context. Server authentication is either an
// exact SPIFFE ID (URI SAN) or the URL's host name / IP address, always on top of chain
// verification against the given roots.
#include "http/client.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <exception>
#include <optional>

#include "asio/co_spawn.hpp"
#include "asio/connect.hpp"
#include "asio/io_context.hpp"
#include "asio/ip/tcp.hpp"
#include "asio/redirect_error.hpp"
#include "asio/ssl.hpp"
#include "asio/steady_timer.hpp"
#include "asio/use_awaitable.hpp"
#include "asio/write.hpp"
#include "core/status.h"
#include "crypto/internal/openssl_error.h"
#include "fmt/format.h"
#include "http/codec.h"
#include "http/internal/stream.h"
#include "http/url.h"

namespace bulwark::http {
namespace {

using asio::ip::tcp;
using internal::Stream;

// Room for a typical response head per read; a growing buffer reads more at a time.
constexpr std::size_t kMinReadBytes = 4 * 1024;

auto Ec(std::error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }

bool IsIpLiteral(const std::string& host) {
  std::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// host:port as written in messages and the Host header ("[::1]:8443").
std::string Authority(const Url& url) {
  return url.host.find(':') != std::string::npos ? fmt::format("[{}]:{}", url.host, url.port)
                                                 : fmt::format("{}:{}", url.host, url.port);
}

// Describes an I/O failure: the error plus, for TLS verification failures, why.
std::string TlsReason(const std::error_code& ec, SSL* ssl) {
  std::string reason = ec.message();
  if (ssl == nullptr) {
    return reason;
  }
  long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) {
    reason += fmt::format(" ({})", X509_verify_cert_error_string(verify));
  }
  crypto::internal::ClearOpenSslErrors();
  return reason;
}

// Arranges SNI and, without an expected SPIFFE ID, host name or IP verification.
absl::Status PrepareTls(Stream& stream, const Url& url, const ClientOptions& options) {
  SSL* ssl = stream.ssl();
  if (ssl == nullptr) {
    return crypto::internal::OpenSslError("cannot create a TLS connection",
                                          absl::StatusCode::kInternal);
  }
  bool ip = IsIpLiteral(url.host);
  if (!ip && SSL_set_tlsext_host_name(ssl, url.host.c_str()) != 1) {
    return crypto::internal::OpenSslError("cannot set TLS server name",
                                          absl::StatusCode::kInternal);
  }
  if (!options.expected_server_id.empty()) {
    return absl::OkStatus();
  }
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str())
              : X509_VERIFY_PARAM_set1_host(param, url.host.c_str(), url.host.size());
  if (ok != 1) {
    return crypto::internal::OpenSslError(fmt::format("cannot verify host {}", url.host));
  }
  return absl::OkStatus();
}

// Checks that the server's leaf certificate carries exactly the expected SPIFFE ID.
absl::Status CheckServerId(Stream& stream, const Url& url, const std::string& expected) {
  std::optional<crypto::Certificate> peer = tls::PeerCertificate(stream.ssl());
  if (!peer.has_value()) {
    return absl::UnavailableError(
        fmt::format("server {} presented no certificate", Authority(url)));
  }
  std::vector<std::string> sans = peer->UriSans();
  if (sans.size() == 1 && sans[0] == expected) {
    return absl::OkStatus();
  }
  std::string names;
  for (const std::string& san : sans) {
    names += names.empty() ? san : ", " + san;
  }
  return absl::UnavailableError(fmt::format("server {} is not {}: its certificate names [{}]",
                                            Authority(url), expected, names));
}

// Connects `stream` to the Unix stream socket at `path`. The descriptor goes into the stream's
// TCP socket object, of which only reads, writes, waits and close are used on this path.
asio::awaitable<absl::Status> ConnectUnix(Stream& stream, const std::string& path) {
  sockaddr_un address{};
  if (path.empty() || path.size() >= sizeof(address.sun_path)) {
    co_return absl::InvalidArgumentError(
        fmt::format("'{}' is not a usable Unix socket path", path));
  }
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.data(), path.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    co_return absl::UnavailableError(
        fmt::format("cannot connect to unix:{}: socket: {}", path, std::strerror(errno)));
  }
  std::error_code ec;
  stream.socket().assign(tcp::v4(), fd, ec);
  if (ec) {
    ::close(fd);
    co_return absl::UnavailableError(
        fmt::format("cannot connect to unix:{}: {}", path, ec.message()));
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    int error = errno;
    if (error != EINPROGRESS && error != EAGAIN) {
      co_return absl::UnavailableError(
          fmt::format("cannot connect to unix:{}: {}", path, std::strerror(error)));
    }
    // A full backlog: wait until the socket is writable, then read the outcome.
    co_await stream.socket().async_wait(tcp::socket::wait_write, Ec(ec));
    socklen_t size = sizeof(error);
    if (!ec && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0 && error != 0) {
      ec = std::error_code(error, std::system_category());
    }
    if (ec) {
      co_return absl::UnavailableError(
          fmt::format("cannot connect to unix:{}: {}", path, ec.message()));
    }
  }
  co_return absl::OkStatus();
}

asio::awaitable<absl::Status> Connect(Stream& stream, const Url& url,
                                      const ClientOptions& options) {
  if (!options.unix_socket.empty()) {
    co_return co_await ConnectUnix(stream, options.unix_socket);
  }
  auto executor = co_await asio::this_coro::executor;
  tcp::resolver resolver(executor);
  std::error_code ec;
  auto endpoints = co_await resolver.async_resolve(url.host, std::to_string(url.port), Ec(ec));
  if (ec) {
    co_return absl::UnavailableError(fmt::format("cannot resolve {}: {}", url.host, ec.message()));
  }
  if (options.open_socket) {
    // The range form of async_connect would close and reopen the socket for each address.
    tcp::endpoint endpoint = endpoints.begin()->endpoint();
    absl::StatusOr<int> fd = options.open_socket(endpoint.protocol().family());
    if (!fd.ok()) {
      co_return absl::UnavailableError(
          fmt::format("cannot connect to {}: {}", Authority(url), fd.status().message()));
    }
    stream.socket().assign(endpoint.protocol(), *fd, ec);
    if (ec) {
      ::close(*fd);
    } else {
      co_await stream.socket().async_connect(endpoint, Ec(ec));
    }
  } else {
    co_await asio::async_connect(stream.socket(), endpoints, Ec(ec));
  }
  if (ec) {
    co_return absl::UnavailableError(
        fmt::format("cannot connect to {}: {}", Authority(url), ec.message()));
  }
  stream.socket().set_option(tcp::no_delay(true), ec);
  if (!stream.is_tls()) {
    co_return absl::OkStatus();
  }
  if (absl::Status s = PrepareTls(stream, url, options); !s.ok()) {
    co_return s;
  }
  co_await stream.Handshake(asio::ssl::stream_base::client, ec);
  if (ec) {
    co_return absl::UnavailableError(fmt::format("TLS handshake with {} failed: {}", Authority(url),
                                                 TlsReason(ec, stream.ssl())));
  }
  if (!options.expected_server_id.empty()) {
    co_return CheckServerId(stream, url, options.expected_server_id);
  }
  co_return absl::OkStatus();
}

// What happened on one connection, to decide whether it may be reused or the call retried.
struct Progress {
  bool wrote = false;     // some of the request was written
  bool received = false;  // some of the response arrived
  bool reusable = false;  // the response was complete and allows another exchange
};

// Reads until a final (non-1xx) response parses; the server may delimit it by closing.
asio::awaitable<absl::StatusOr<Response>> ReadResponse(Stream& stream, const Url& url,
                                                       const Limits& limits, bool head,
                                                       Progress& progress) {
  std::string buffer;
  bool eof = false;
  for (;;) {
    ParseResult<Response> parsed = ParseResponse(buffer, limits, eof, head);
    if (parsed.state == ParseState::kComplete && parsed.message.status < 200) {
      buffer.erase(0, parsed.consumed);  // interim response (100 Continue): wait for the final
      continue;
    }
    if (parsed.state == ParseState::kComplete) {
      progress.reusable = parsed.keep_alive && !eof && parsed.consumed == buffer.size();
      co_return std::move(parsed.message);
    }
    if (parsed.state == ParseState::kError) {
      co_return absl::UnavailableError(
          fmt::format("invalid response from {}: {}", Authority(url), parsed.error));
    }
    if (eof) {
      co_return absl::UnavailableError(
          fmt::format("connection to {} closed before the response was complete", Authority(url)));
    }
    std::error_code ec;
    std::size_t n = co_await stream.ReadInto(buffer, kMinReadBytes, ec);
    progress.received = progress.received || n > 0;
    if (ec == asio::error::eof) {
      eof = true;  // a clean TLS close_notify (or TCP FIN); a truncated TLS stream is an error
    } else if (ec) {
      co_return absl::UnavailableError(fmt::format("cannot read the response from {}: {}",
                                                   Authority(url), TlsReason(ec, stream.ssl())));
    }
  }
}

// Serializes `request` for `url`: origin-form target, Host, and Connection: close unless the
// connection goes back to a pool.
std::string RequestWire(Request& request, const Url& url, bool pooled) {
  request.target = url.target;
  bool default_port = url.port == (url.scheme == "https" ? 443 : 80);
  std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  request.headers.Set("Host", default_port ? host : Authority(url));
  if (!pooled) {
    request.headers.Set("Connection", "close");  // one exchange per connection
  }
  return SerializeRequest(request);
}

// Runs one exchange on `stream`, connecting it first unless `connected`.
asio::awaitable<absl::StatusOr<Response>> Exchange(Stream& stream, bool connected, const Url& url,
                                                   const std::string& wire, bool head,
                                                   const ClientOptions& options,
                                                   Progress& progress) {
  if (!connected) {
    if (absl::Status s = co_await Connect(stream, url, options); !s.ok()) {
      co_return s;
    }
  }
  std::error_code ec;
  std::size_t written = co_await stream.Write(asio::buffer(wire), ec);
  progress.wrote = written > 0;
  if (ec) {
    co_return absl::UnavailableError(fmt::format("cannot send the request to {}: {}",
                                                 Authority(url), TlsReason(ec, stream.ssl())));
  }
  co_return co_await ReadResponse(stream, url, options.limits, head, progress);
}

// Parses `url` and picks the TLS context it needs (null for http://).
absl::StatusOr<std::shared_ptr<asio::ssl::context>> PrepareCall(const std::string& url_text,
                                                                const ClientOptions& options,
                                                                Url& url) {
  BULWARK_ASSIGN_OR_RETURN(url, ParseUrl(url_text));
  if (url.scheme == "https") {
    if (!options.unix_socket.empty()) {
      return absl::InvalidArgumentError(
          fmt::format("'{}' is https; a Unix socket is only for plain http:// backends", url_text));
    }
    if (options.tls_context != nullptr) {
      return options.tls_context;
    }
    return tls::MakeClientContext(options.roots, options.credentials);
  }
  if (options.credentials != nullptr || !options.expected_server_id.empty() ||
      options.tls_context != nullptr) {
    // Never send a request meant for an authenticated peer over plain TCP.
    return absl::InvalidArgumentError(fmt::format(
        "'{}' is not https but client credentials or a server ID were given", url_text));
  }
  return std::shared_ptr<asio::ssl::context>();
}

bool Idempotent(const std::string& method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE" ||
         method == "PUT" || method == "DELETE";
}

// The pool key: the peer (and its Unix socket), the server ID it must have and the client
// context (identity) used.
std::string PoolKey(const Url& url, const ClientOptions& options,
                    const std::shared_ptr<asio::ssl::context>& context) {
  return fmt::format("{}://{}|{}|{}|{}", url.scheme, Authority(url), options.unix_socket,
                     options.expected_server_id, static_cast<const void*>(context.get()));
}

// The deadline of one call, shared by its attempts: closes the current stream when it fires.
struct Deadline {
  std::weak_ptr<Stream> current;
  bool expired = false;
  bool done = false;  // the call finished: a completion already queued must not close anything
};

// One call's fixed parts, shared by its attempts.
struct Call {
  const Url& url;
  const ClientOptions& options;
  std::shared_ptr<asio::ssl::context> context;  // null for http://
  std::string key;                              // in options.pool; empty without a pool
  std::string wire;                             // the serialized request
  bool head = false;
  bool idempotent = false;
  std::shared_ptr<Deadline> deadline;
};

struct Attempt {
  absl::StatusOr<Response> response;
  bool retry = false;  // failed on a reused connection in a way that allows one more try
};

// Sends the call once, on a pooled connection when `may_reuse` and the pool has one, else on a
// new one; returns the connection to the pool when it may carry another exchange.
asio::awaitable<Attempt> SendOnce(const Call& call, bool may_reuse) {
  ConnectionPool* pool = call.options.pool;
  std::shared_ptr<Stream> stream;
  if (may_reuse) {
    stream = pool->Take(call.key);
  }
  bool reused = stream != nullptr;
  if (!reused) {
    stream =
        std::make_shared<Stream>(tcp::socket(co_await asio::this_coro::executor), call.context);
    if (pool != nullptr) {
      pool->CountOpened();
    }
  }
  call.deadline->current = stream;
  Progress progress;
  Attempt attempt;
  attempt.response =
      co_await Exchange(*stream, reused, call.url, call.wire, call.head, call.options, progress);
  call.deadline->current.reset();
  if (attempt.response.ok() && progress.reusable && pool != nullptr && !call.deadline->expired) {
    pool->Put(call.key, std::move(stream));
    co_return attempt;
  }
  stream->Close();
  attempt.retry = reused && !attempt.response.ok() && !progress.received &&
                  !call.deadline->expired && (call.idempotent || !progress.wrote);
  co_return attempt;
}

}  // namespace

asio::awaitable<absl::StatusOr<Response>> AsyncSend(const std::string& url, Request request,
                                                    const ClientOptions& options) {
  Url parsed;
  absl::StatusOr<std::shared_ptr<asio::ssl::context>> context = PrepareCall(url, options, parsed);
  if (!context.ok()) {
    co_return context.status();
  }
  auto executor = co_await asio::this_coro::executor;
  auto state = std::make_shared<Deadline>();
  asio::steady_timer deadline(executor, options.timeout);
  deadline.async_wait([state](std::error_code ec) {
    std::shared_ptr<Stream> alive = state->current.lock();
    if (!ec && !state->done) {
      state->expired = true;
      if (alive != nullptr) {
        alive->Close();
      }
    }
  });
  Call call{parsed,
            options,
            *context,
            {},
            RequestWire(request, parsed, options.pool != nullptr),
            request.method == "HEAD",
            Idempotent(request.method),
            state};
  if (options.pool != nullptr) {
    call.key = PoolKey(parsed, options, call.context);
  }
  Attempt first = co_await SendOnce(call, options.pool != nullptr);
  absl::StatusOr<Response> response = std::move(first.response);
  if (first.retry) {
    Attempt second = co_await SendOnce(call, false);
    response = std::move(second.response);
  }
  state->done = true;
  deadline.cancel();
  if (state->expired) {
    co_return absl::DeadlineExceededError(
        // The path without its query, which may carry credentials; this message is logged.
        fmt::format("request to {}://{}{} did not complete within {} ms", parsed.scheme,
                    Authority(parsed), parsed.target.substr(0, parsed.target.find('?')),
                    options.timeout.count()));
  }
  co_return response;
}

absl::StatusOr<Response> Send(const std::string& url, Request request,
                              const ClientOptions& options) {
  if (options.pool != nullptr) {
    return absl::InvalidArgumentError("Send cannot use a connection pool; use AsyncSend");
  }
  if (!url.starts_with("https://")) {
    // Control-plane calls are always authenticated; plain http is for AsyncSend to loopback.
    absl::StatusOr<Url> parsed = ParseUrl(url);
    return parsed.ok() ? absl::InvalidArgumentError(fmt::format("refusing non-https URL '{}'", url))
                       : parsed.status();
  }
  std::optional<absl::StatusOr<Response>> result;
  asio::io_context io;
  asio::co_spawn(io, AsyncSend(url, std::move(request), options),
                 [&result](std::exception_ptr e, absl::StatusOr<Response> response) {
                   if (e) {
                     result = absl::InternalError("HTTP client coroutine failed");
                   } else {
                     result = std::move(response);
                   }
                 });
  // AsyncSend bounds itself; the margin only guards against a bug there.
  io.run_for(options.timeout + std::chrono::seconds(5));
  if (!result.has_value()) {
    return absl::DeadlineExceededError(
        fmt::format("request to {} did not complete within {} ms", url, options.timeout.count()));
  }
  return *std::move(result);
}

}  // namespace bulwark::http
