// One service's sidecar: the inbound mTLS listener, the outbound listener for the service's own
// calls, one listener per `calls[].listen`, and the admin listener, all on one io_context.
// Create, Start and Stop from one thread; the handlers run on the io_context's threads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "asio/io_context.hpp"
#include "http/server.h"
#include "proxy/handlers.h"

namespace bulwark::proxy {

class Sidecar {
 public:
  // Binds the listeners of `service` in `mesh` (services.<service>.sidecar.inbound, outbound
  // and admin must be set). Errors: unknown service, a missing address, a plain listener
  // (outbound, calls[].listen, admin) that is not on loopback, an address that is taken.
  static absl::StatusOr<std::unique_ptr<Sidecar>> Create(asio::io_context& io,
                                                         mesh::MeshConfig mesh, std::string service,
                                                         IdentitySource identity,
                                                         SidecarOptions options = {});
  ~Sidecar();

  // Starts accepting on every listener.
  void Start();
  // Stops every listener and closes open connections.
  void Stop();
  // Returns "name=address" for each bound listener, for logs.
  std::vector<std::string> Describe() const;

 private:
  struct Listener {
    std::string name;
    std::unique_ptr<http::Server> server;
  };
  static absl::Status AddCallListeners(asio::io_context& io, const ProxyContextPtr& context,
                                       const SidecarOptions& options,
                                       std::vector<Listener>& listeners);
  Sidecar(std::shared_ptr<TlsContextCache> tls, std::vector<Listener> listeners)
      : tls_(std::move(tls)), listeners_(std::move(listeners)) {}

  std::shared_ptr<TlsContextCache> tls_;
  std::vector<Listener> listeners_;
};

}  // namespace bulwark::proxy
