// The inbound listener's TLS context, following SVID rotation: a new context is built the first
// time a handshake sees a new SVID, so new connections present the new certificate while open
// connections keep theirs. Lock-free; Get() may be called on any thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>

#include "identity/svid.h"

namespace asio::ssl {
class context;
}

namespace bulwark::proxy {

// Returns the workload's current SVID (never null).
using SvidSource = std::function<std::shared_ptr<const identity::Svid>()>;

class TlsContextCache {
 public:
  explicit TlsContextCache(SvidSource current) : current_(std::move(current)) {}

  // Returns a TLS 1.3 server context presenting the current SVID and requiring a client
  // certificate that chains to its bundle. Rebuilds it when the SVID changed; if that fails,
  // logs and keeps the previous context (null when there is none: the connection is refused).
  std::shared_ptr<asio::ssl::context> Get();

 private:
  struct Entry {
    std::shared_ptr<const identity::Svid> svid;
    std::shared_ptr<asio::ssl::context> context;
  };
  SvidSource current_;
  std::atomic<std::shared_ptr<const Entry>> entry_;
};

}  // namespace bulwark::proxy
