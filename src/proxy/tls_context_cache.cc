// Builds contexts with tls::MakeServerContext or MakeClientContext; two threads seeing a new SVID
// at once may both build one, which is harmless (the last store wins, both are valid).
#include "proxy/tls_context_cache.h"

#include "core/status.h"
#include "spdlog/spdlog.h"
#include "tls/context.h"

namespace bulwark::proxy {

std::shared_ptr<asio::ssl::context> TlsContextCache::Get() {
  std::shared_ptr<const identity::Svid> svid = current_();
  std::shared_ptr<const Entry> entry = entry_.load();
  if (entry != nullptr && entry->svid == svid) {
    return entry->context;
  }
  absl::StatusOr<std::shared_ptr<asio::ssl::context>> context =
      side_ == Side::kServer
          ? tls::MakeServerContext(svid->credentials, svid->bundle, tls::ClientAuth::kRequired)
          : tls::MakeClientContext(svid->bundle, &svid->credentials);
  if (!context.ok()) {
    spdlog::error("sidecar: cannot make a TLS context for serial {}: {}", svid->leaf().SerialHex(),
                  context.status().message());
    return entry != nullptr ? entry->context : nullptr;
  }
  if (entry != nullptr) {
    spdlog::info("sidecar: {} TLS now presents serial {}",
                 side_ == Side::kServer ? "inbound" : "outbound", svid->leaf().SerialHex());
  }
  entry_.store(std::make_shared<const Entry>(Entry{svid, *context}));
  return *context;
}

}  // namespace bulwark::proxy
