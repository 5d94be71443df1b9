// `bulwark gateway`'s engine (docs/gateway.md): the public TLS listener and its request
// pipeline (limits, normalization, routing, methods, authentication, rate limits, header
// hygiene, transaction token, traceparent, mTLS to the service's sidecar, response hardening)
// and the admin listener, on one io_context. The configuration reaches the handlers as an
// immutable GatewayContext snapshot that Reload() replaces atomically. Create, Start, Stop,
// Drain and Reload from one thread; the handlers run on the io_context's threads.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "asio/awaitable.hpp"
#include "asio/io_context.hpp"
#include "http/codec.h"
#include "http/connection_pool.h"
#include "http/message.h"
#include "http/server.h"
#include "mesh/config.h"
#include "proxy/access_log.h"
#include "proxy/gateway_metrics.h"
#include "proxy/gateway_routes.h"
#include "proxy/gateway_validation.h"
#include "proxy/handlers.h"
#include "proxy/listeners.h"
#include "proxy/rate_limiter.h"
#include "proxy/session_rp.h"
#include "proxy/tls_context_cache.h"
#include "tokens/subject.h"

namespace bulwark::proxy {

// Verifies a request's bearer token for `route` (the seam of the bearer-JWT authenticator).
// Errors are Unauthenticated with the reason to log.
using BearerCheck = std::function<absl::StatusOr<tokens::Subject>(const http::Request& request,
                                                                  const mesh::RouteConfig& route)>;
// Checks a request's API key (the seam of ApiKeyAuthenticator). Errors are Unauthenticated
// with the reason to log.
using ApiKeyCheck = std::function<absl::StatusOr<tokens::Subject>(const http::Request& request)>;
// Mints the transaction token of an admitted request (the seam of the delegated signer).
using TxnTokenMinter = std::function<absl::StatusOr<std::string>(
    const tokens::Subject& subject, std::string_view txn_id, std::string_view client_ip)>;

struct GatewayOptions {
  // Bound on each forwarded exchange (connect, request, response).
  std::chrono::milliseconds upstream_timeout{30'000};
  // Header size and count limits; the body limit is each route's max_body.
  http::Limits limits;
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};
  // Where each request's line goes; null: no access log.
  std::shared_ptr<AccessLog> access_log;
  // Null: a LocalRateLimiter made by Gateway::Create.
  std::shared_ptr<RateLimiter> rate_limiter;
  // Unset: routes that need bearer authentication answer 401.
  BearerCheck authenticate_bearer;
  // Unset: routes that need an API key answer 401.
  ApiKeyCheck authenticate_api_key;
  // Unset: requests are forwarded without a Txn-Token.
  TxnTokenMinter mint_txn_token;
  // The relying party of `auth: [session]` routes and /_bulwark/ paths; not owned, outlives the
  // gateway. Null: session routes answer 401 and /_bulwark/ paths 404.
  SessionRelyingParty* session = nullptr;
};

struct GatewayContext {
  mesh::MeshConfig mesh;  // has a gateway section
  IdentitySource identity;
  GatewayOptions options;
  RouteTable routes;
  RouteSchemas schemas;                     // by route index
  std::shared_ptr<GatewayMetrics> metrics;  // never null
  // Keep-alive connections to the sidecars; closed by Gateway before its io_context ends.
  std::shared_ptr<http::ConnectionPool> pool;
  // The client TLS context (the gateway's SVID) for the sidecars.
  std::shared_ptr<TlsContextCache> client_tls;
  // Adds the listeners' gauges to a scrape (set by Gateway); may be empty.
  std::function<void(GatewayGauges&)> sample_listeners;

  const mesh::GatewayConfig& gateway() const { return *mesh.gateway; }
};

using GatewayContextPtr = std::shared_ptr<const GatewayContext>;

// Answers one public request through the pipeline of docs/gateway.md#pipeline; every response,
// errors included, is hardened (HardenResponse). Counts it in the metrics and the access log.
asio::awaitable<http::Response> HandleGateway(GatewayContextPtr context, http::Request request,
                                              const http::ConnectionInfo& info);

// Answers /healthz (200), /readyz (200 while the SVID is unexpired, else 503) and /metrics;
// 404 otherwise.
asio::awaitable<http::Response> HandleGatewayAdmin(GatewayContextPtr context,
                                                   http::Request request);

class Gateway {
 public:
  // Binds the public listener on gateway.listen (TLS from `public_tls`, asked for each new
  // connection) and the admin listener on `admin` (loopback only). Errors: no gateway section,
  // routes that do not compile, a route schema that does not load, a route whose service has no
  // sidecar.inbound, an admin address off loopback, an address taken.
  static absl::StatusOr<std::unique_ptr<Gateway>> Create(asio::io_context& io,
                                                         mesh::MeshConfig mesh,
                                                         IdentitySource identity,
                                                         http::TlsContextProvider public_tls,
                                                         const mesh::HostPort& admin,
                                                         GatewayOptions options = {});
  ~Gateway();

  // Starts accepting on both listeners.
  void Start();
  // Stops both listeners and closes open connections.
  void Stop();
  // Stops accepting and closes idle connections; requests in flight get their response.
  void Drain();
  // Returns how many connections are open on both listeners.
  std::size_t OpenConnections() const;
  // Closes idle pooled upstream connections past their idle timeout.
  void PrunePools();
  // Makes `mesh` the configuration of the requests that arrive from now on (routes, trusted
  // proxies, the sidecars' addresses). Errors (the current configuration stays): no gateway
  // section, the trust domain or gateway.listen changed (restart), the routes do not compile, a
  // route schema does not load. (gateway.tls is the caller's: see `public_tls` of Create.)
  absl::Status Reload(mesh::MeshConfig mesh);
  // Returns "name=address" for each bound listener, for logs.
  std::vector<std::string> Describe() const;
  // Returns the configuration in use.
  GatewayContextPtr context() const { return slot_->load(); }

 private:
  using Slot = std::atomic<GatewayContextPtr>;
  Gateway(std::shared_ptr<Slot> slot, std::shared_ptr<ListenerSet> listeners)
      : slot_(std::move(slot)), listeners_(std::move(listeners)) {}

  std::mutex update_mu_;  // serializes Reload
  std::shared_ptr<Slot> slot_;
  std::shared_ptr<ListenerSet> listeners_;  // "public" (first), "admin"
};

// Returns the client's address: the TCP peer's, or, when the peer is one of `trusted`, the
// right-most X-Forwarded-For entry that is not a trusted proxy (all X-Forwarded-For headers
// read as one list; the walk stops at an entry that is not an IP address, whose right neighbour
// is then the client).
std::string ClientAddress(std::string_view peer, const http::Headers& headers,
                          const std::vector<mesh::Cidr>& trusted);

}  // namespace bulwark::proxy
