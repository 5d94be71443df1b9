// Loops over the listeners of a proxy.
#include "proxy/listeners.h"

#include "fmt/format.h"

namespace bulwark::proxy {

void ListenerSet::Add(std::string name, std::unique_ptr<http::Server> server) {
  listeners_.push_back({std::move(name), std::move(server)});
}

void ListenerSet::Start() {
  for (Listener& listener : listeners_) {
    listener.server->Start();
  }
}

void ListenerSet::Stop() {
  for (Listener& listener : listeners_) {
    listener.server->Stop();
  }
}

void ListenerSet::Drain() {
  for (Listener& listener : listeners_) {
    listener.server->Drain();
  }
}

std::size_t ListenerSet::OpenConnections() const {
  std::size_t open = 0;
  for (const Listener& listener : listeners_) {
    open += listener.server->open_connections();
  }
  return open;
}

std::vector<std::string> ListenerSet::Describe() const {
  std::vector<std::string> out;
  for (const Listener& listener : listeners_) {
    asio::ip::tcp::endpoint ep = listener.server->local_endpoint();
    out.push_back(fmt::format("{}={}:{}", listener.name, ep.address().to_string(), ep.port()));
  }
  return out;
}

void ListenerSet::Sample(Counts& open, Counts& handshake_failures) const {
  for (const Listener& listener : listeners_) {
    open.emplace_back(listener.name, listener.server->open_connections());
  }
  if (listeners_.empty()) {
    return;
  }
  http::HandshakeFailureCounts failures = listeners_.front().server->handshake_failures();
  for (std::size_t i = 0; i < failures.size(); ++i) {
    handshake_failures.emplace_back(HandshakeFailureName(static_cast<http::HandshakeFailure>(i)),
                                    failures[i]);
  }
}

}  // namespace bulwark::proxy
