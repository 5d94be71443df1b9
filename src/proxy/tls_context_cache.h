// The sidecar's TLS contexts, following SVID rotation: the inbound listener's server context and
// the outbound side's client context. A new context is built the first time a handshake sees a
// new SVID, so new connections present the new certificate while open connections keep theirs.
// Lock-free; Get() may be called on any thread.
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
  enum class Side {
    kServer,  // presents the SVID, requires a client certificate chaining to the bundle
    kClient,  // presents the SVID, verifies servers against the bundle
  };
  explicit TlsContextCache(SvidSource current, Side side = Side::kServer)
      : current_(std::move(current)), side_(side) {}

  // Returns a TLS 1.3 context for the current SVID, of this cache's side. Rebuilds it when the
  // SVID changed; if that fails, logs and keeps the previous context (null when there is none:
  // the connection is refused).
  std::shared_ptr<asio::ssl::context> Get();

 private:
  struct Entry {
    std::shared_ptr<const identity::Svid> svid;
    std::shared_ptr<asio::ssl::context> context;
  };
  SvidSource current_;
  const Side side_;
  std::atomic<std::shared_ptr<const Entry>> entry_;
};

}  // namespace bulwark::proxy
