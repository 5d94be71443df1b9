// One service's sidecar: the inbound mTLS listener, the outbound listener for the service's own
// calls, one listener per `calls[].listen`, and the admin listener. The listeners accept on one
// io_context and spread their connections over the workers' event loops, each with its own
// upstream connection pools (or keep them on that io_context when there are no workers). The
// configuration reaches the handlers as an immutable ProxyContext snapshot that Reload()
// and ApplyPolicy replace atomically. Create, Start, Stop, Drain and Reload from one thread; the
// handlers run on the io_context's threads; CloseRevokedConnections, OpenConnections and
// ApplyPolicy on any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "asio/io_context.hpp"
#include "http/server.h"
#include "mesh/config.h"
#include "proxy/handlers.h"
#include "proxy/listeners.h"

namespace bulwark::proxy {

// The event loops of a sidecar's workers (EventLoops::all()); they outlive the Sidecar.
using Workers = std::vector<asio::io_context*>;

class Sidecar {
 public:
  // Binds the listeners of `service` in `mesh` (services.<service>.sidecar.inbound, outbound
  // and admin must be set). Errors: unknown service, a missing address, a plain listener
  // (outbound, calls[].listen, admin) that is not on loopback, an address that is taken, a
  // policy (services.<service>.allow) that does not compile. That policy is version 0.
  // Connections are served on `workers` (round robin), or on `io` when it is empty.
  static absl::StatusOr<std::unique_ptr<Sidecar>> Create(asio::io_context& io,
                                                         mesh::MeshConfig mesh, std::string service,
                                                         IdentitySource identity,
                                                         SidecarOptions options = {},
                                                         Workers workers = {});
  ~Sidecar();

  // Starts accepting on every listener.
  void Start();
  // Stops every listener and closes open connections.
  void Stop();
  // Stops accepting and closes idle connections; requests in flight get their response (with
  // Connection: close). Call Stop() once OpenConnections() is 0 or the drain timeout passed.
  void Drain();
  // Returns how many connections are open on all listeners.
  std::size_t OpenConnections() const;
  // Closes at once every inbound connection whose client certificate is revoked now.
  void CloseRevokedConnections();
  // Closes idle pooled upstream connections past their idle timeout (on each worker's loop).
  void PrunePools();
  // Makes `mesh` the configuration of the requests that arrive from now on (calls, the port of
  // the service, the addresses of the services it calls). Errors (the current configuration
  // stays): the service is gone, or the trust domain, a listener address (sidecar.*,
  // calls[].listen), workers or timeouts changed; those need a restart; the new policy does
  // not compile. The policy is recompiled from `mesh` only while it is version 0 (local): once
  // the authority sent one, the authority's stays.
  absl::Status Reload(mesh::MeshConfig mesh);
  // Makes `rules` (the authority's, GET /v1/policy) the policy of the requests that arrive from
  // now on, as version `version`; requests in flight keep the policy they started with.
  // Errors (the current policy stays): the rules do not compile.
  absl::Status ApplyPolicy(std::int64_t version, std::vector<mesh::AllowRule> rules);
  // Returns "name=address" for each bound listener, for logs.
  std::vector<std::string> Describe() const;
  // Returns the configuration in use.
  ProxyContextPtr context() const { return slot_->load(); }

 private:
  // "inbound" (first), "outbound", "to <service>", "admin".
  using Listeners = ListenerSet;
  using ContextSlot = std::atomic<ProxyContextPtr>;

  static absl::Status AddCallListeners(asio::io_context& io, const Workers& workers,
                                       const std::shared_ptr<ContextSlot>& slot,
                                       const ProxyContext& context, Listeners& listeners);
  Sidecar(std::shared_ptr<ContextSlot> slot, std::shared_ptr<Listeners> listeners, Workers workers)
      : slot_(std::move(slot)), listeners_(std::move(listeners)), workers_(std::move(workers)) {}

  std::mutex update_mu_;  // serializes Reload and ApplyPolicy (writers of slot_), not requests
  std::shared_ptr<ContextSlot> slot_;     // shared with the handlers
  std::shared_ptr<Listeners> listeners_;  // shared (weakly) with the metrics sampler
  const Workers workers_;
};

}  // namespace bulwark::proxy
