// The sidecar's three request handlers, as plain coroutines over an immutable ProxyContext:
// inbound (verified mTLS peer -> local service), outbound (local service -> the target's
// sidecar over mTLS, pinning its SPIFFE ID) and admin (/healthz, /readyz). Thread-safe: the
// context is shared read-only; each call runs on its connection's strand.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "asio/awaitable.hpp"
#include "http/client.h"
#include "http/codec.h"
#include "http/connection_pool.h"
#include "http/message.h"
#include "http/server.h"
#include "identity/svid.h"
#include "mesh/config.h"
#include "policy/policy.h"
#include "proxy/access_log.h"
#include "proxy/decision_log.h"
#include "proxy/metrics.h"
#include "proxy/tls_context_cache.h"
#include "proxy/token_filter.h"

namespace bulwark::proxy {

// Where the workload's identity comes from: the SVID rotator or identity files.
struct IdentitySource {
  SvidSource current;                                  // never returns null
  std::function<bool(const std::string&)> is_revoked;  // by certificate serial (hex)
  // Changes whenever the revocation list grows; cheap (polled). Empty: the list never changes.
  std::function<std::int64_t()> revocation_version;
};

struct SidecarOptions {
  // Bound on each forwarded exchange (connect, request, response).
  std::chrono::milliseconds upstream_timeout{30'000};
  http::Limits limits;
  // Where each request's line goes; null: no access log.
  std::shared_ptr<AccessLog> access_log;
  // Where inbound authorization decisions go; null: no decision log.
  std::shared_ptr<DecisionLog> decision_log;
  // Verifies inbound Txn-Token headers; null: a request carrying one is refused (401).
  std::shared_ptr<TokenFilter> token_filter;
  // Makes the sockets that face the local service (the outbound and calls[].listen listeners,
  // the inbound relay's connections): under `bulwark up`, inside its network namespace
  // (sandbox::NamespaceThread, docs/up.md); empty: ordinary sockets in our own namespace.
  http::SocketOpener service_sockets;
};

// One worker's keep-alive connections: to the local service (inbound) and to other sidecars
// (outbound). Never null.
struct UpstreamPools {
  std::shared_ptr<http::ConnectionPool> inbound = std::make_shared<http::ConnectionPool>();
  std::shared_ptr<http::ConnectionPool> outbound = std::make_shared<http::ConnectionPool>();
};

struct ProxyContext {
  mesh::MeshConfig mesh;
  std::string service;  // this sidecar's service, a key of mesh.services
  IdentitySource identity;
  SidecarOptions options;
  // The authorization policy of `service`; null denies every inbound request. Its version: 0
  // when compiled from the local mesh.yaml, else the authority's (GET /v1/policy).
  std::shared_ptr<const policy::ServicePolicy> policy;
  std::int64_t policy_version = 0;
  std::shared_ptr<Metrics> metrics = std::make_shared<Metrics>();  // never null
  // Keep-alive connections, one pair per worker (indexed by ConnectionInfo::worker: a pooled
  // socket belongs to the event loop it was opened on); empty: a connection per request. Set by
  // Sidecar, which closes them before its event loops end.
  std::vector<UpstreamPools> pools;
  // The outbound client TLS context for the current SVID; null: one context per call.
  std::shared_ptr<TlsContextCache> client_tls;
  // Adds the listeners' gauges to a scrape (set by Sidecar); may be empty.
  std::function<void(ScrapeGauges&)> sample_listeners;

  const mesh::ServiceConfig& self() const { return *mesh.FindService(service); }
  // Returns the pools of `worker`, or null when there are none.
  const UpstreamPools* PoolsOf(std::size_t worker) const {
    return worker < pools.size() ? &pools[worker] : nullptr;
  }
};

using ProxyContextPtr = std::shared_ptr<const ProxyContext>;

// Answers a request from a verified mTLS peer: checks its SPIFFE ID (one, in the trust domain,
// not revoked; else 403), replaces X-Bulwark-Peer-Id with the ID and strips hop-by-hop headers,
// normalizes the path (400 when refused, policy::NormalizePath), applies the policy (403 "not
// allowed", the reason only in the decision log) and relays the exchange, with the normalized
// path and the original query, to http://127.0.0.1:<port> (or to the service's Unix socket,
// `socket:`). 502 when the service is down, 504 on timeout. Counts the request in the metrics and
// the access log, as HandleOutbound does, and the decision in the metrics and the decision log.
asio::awaitable<http::Response> HandleInbound(ProxyContextPtr context, http::Request request,
                                              const http::ConnectionInfo& info);

// Answers a request from the local service for `fixed_target`, or when unset for the service
// its Host header or absolute-form target names (400 when none), on the connection pools of
// `worker` (ConnectionInfo::worker). 403 when this service may not call the target; 502 when the
// target's sidecar is unreachable or is not the target's SPIFFE ID.
asio::awaitable<http::Response> HandleOutbound(ProxyContextPtr context,
                                               std::optional<std::string> fixed_target,
                                               http::Request request, std::size_t worker = 0);

// Answers /healthz (200), /readyz (200 while the SVID is unexpired, else 503) and /metrics
// (Prometheus text format); 404 otherwise.
asio::awaitable<http::Response> HandleAdmin(ProxyContextPtr context, http::Request request);

// Relays `request` (already without hop-by-hop headers) to `url` and returns the answer
// without its hop-by-hop headers; the caller names a failure (only then is a message built).
asio::awaitable<absl::StatusOr<http::Response>> Relay(std::string url, http::Request request,
                                                      const http::ClientOptions& options);

// Logs a failed upstream exchange (prefixed by `role`) and maps it to 504 (DeadlineExceeded)
// or 502, with a JSON error naming `what`.
http::Response UpstreamError(const absl::Status& status, std::string_view what,
                             std::string_view role = "sidecar");

// Answers the admin paths of both proxies: /healthz (200), /readyz (200 while `svid` is
// unexpired, else 503), /metrics (`render_metrics()`, Prometheus text format); 404 otherwise.
http::Response AnswerAdmin(std::string_view path, const identity::Svid& svid,
                           const std::function<std::string()>& render_metrics);

// Returns the seconds until `svid` expires (negative once it has).
double SecondsUntilExpiry(const identity::Svid& svid);

// Returns a JSON error response {"error": code, "error_description": description}.
http::Response JsonError(int status, std::string_view code, std::string_view description);

}  // namespace bulwark::proxy
