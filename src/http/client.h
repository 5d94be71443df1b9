// A small HTTP(S)/1.1 client: AsyncSend for coroutines (the sidecar's calls, which must not
// block an io thread), and the blocking Send, a wrapper over it, for bulwark's own control-plane
// calls (identity fetch and renewal, admin commands, long-polls). One connection per call, or
// keep-alive connections from a ConnectionPool; every call has a deadline. Thread-compatible:
// calls from several threads are independent (a shared pool is thread-safe).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "asio/awaitable.hpp"
#include "crypto/x509.h"
#include "http/codec.h"
#include "http/connection_pool.h"
#include "http/message.h"
#include "http/socket_opener.h"
#include "tls/context.h"

namespace asio::ssl {
class context;
}

namespace bulwark::http {

struct ClientOptions {
  // Roots the server certificate must chain to.
  std::vector<crypto::Certificate> roots;
  // Client certificate for mTLS; null for none. Not owned; must outlive the call.
  const tls::Credentials* credentials = nullptr;
  // When non-empty, the server must present exactly this URI SAN (SPIFFE authentication);
  // otherwise its DNS/IP SAN must match the URL's host.
  std::string expected_server_id;
  std::chrono::milliseconds timeout{10'000};
  Limits limits;
  // For https: a client context to use instead of one made per call from `roots` and
  // `credentials` (which are then ignored). Required for pooled https connections, whose pool
  // key includes it: a connection is only reused with the context (the SVID) it was opened with.
  std::shared_ptr<asio::ssl::context> tls_context;
  // When set, the connection is taken from this pool if it holds one for the same peer, and
  // returned to it after a complete response that allows keep-alive. Not owned; all calls with
  // one pool must run on one io_context, and the pool must be Close()d before it ends.
  ConnectionPool* pool = nullptr;
  // Makes the socket of a new connection (then connected here, to the first address the host
  // resolves to); empty: a socket of our own, trying each address in turn.
  SocketOpener open_socket;
  // When set, the path of a Unix stream socket to connect to instead of the URL's host and port
  // (which then only make the Host header); http:// only. Pooled like TCP, keyed by the path.
  std::string unix_socket;
};

// Sends `request` (method, headers, body; its target is taken from `url`) to `url` and returns
// the response, on the calling coroutine's executor without blocking it. `url` is https://
// (TLS 1.3, authenticated as `options` says) or http:// (plain TCP, for loopback backends; then
// `credentials` and `expected_server_id` must be unset). The whole call, from resolving to the
// last byte, is bounded by `options.timeout`. `options` must outlive the call. Run it on a
// strand or a single-threaded executor (as http::Server handlers are): its deadline timer runs
// on the same executor as the exchange. Errors:
// InvalidArgument for a bad URL or options, Unavailable when the server cannot be reached, the
// TLS handshake fails (with OpenSSL's reason) or the server is not `expected_server_id`,
// DeadlineExceeded on timeout.
// With a pool, a request that fails on a reused connection before any byte of the response
// arrived is sent once more on a new connection when it is idempotent (GET, HEAD, OPTIONS,
// TRACE, PUT, DELETE) or when none of it was written: the server closed the idle connection.
// A connection is never reused after an error, a response without keep-alive, a response
// delimited by closing, or a timeout.
asio::awaitable<absl::StatusOr<Response>> AsyncSend(const std::string& url, Request request,
                                                    const ClientOptions& options);

// Sends like AsyncSend, blocking the calling thread on a private io_context. Only https:// URLs
// (control-plane calls are always authenticated); an http:// URL, or a pool (its connections
// would outlive the private io_context), is InvalidArgument.
absl::StatusOr<Response> Send(const std::string& url, Request request,
                              const ClientOptions& options);

}  // namespace bulwark::http
