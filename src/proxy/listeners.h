// The named http::Servers of one proxy process (the sidecar's inbound, outbound, admin...; the
// gateway's public and admin), started, drained, stopped and sampled together. Add, Start,
// Stop and Drain from one thread; OpenConnections, Describe and Sample on any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "http/server.h"

namespace bulwark::proxy {

class ListenerSet {
 public:
  using Counts = std::vector<std::pair<std::string, std::uint64_t>>;

  // Adds `server` under `name`; the first one added is the one whose handshakes are sampled.
  void Add(std::string name, std::unique_ptr<http::Server> server);
  // Starts accepting on every listener.
  void Start();
  // Stops every listener and closes its open connections.
  void Stop();
  // Stops accepting and closes idle connections (http::Server::Drain) on every listener.
  void Drain();
  // Returns how many connections are open on all listeners.
  std::size_t OpenConnections() const;
  // Returns "name=address" for each listener, for logs.
  std::vector<std::string> Describe() const;
  // Appends the open connections of each listener to `open` and the first listener's failed
  // TLS handshakes by reason to `handshake_failures`.
  void Sample(Counts& open, Counts& handshake_failures) const;
  // Returns the first listener added; there must be one.
  http::Server& first() { return *listeners_.front().server; }

 private:
  struct Listener {
    std::string name;
    std::unique_ptr<http::Server> server;
  };
  std::vector<Listener> listeners_;
};

}  // namespace bulwark::proxy
