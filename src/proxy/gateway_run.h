// `bulwark gateway`: loads mesh.yaml and the public certificate, obtains the gateway's identity
// (spiffe://<td>/gateway, from a join token kept fresh by an SvidRotator, or from identity files
// reread when they change), then runs the Gateway on `workers` event loops until SIGINT or
// SIGTERM (drain), and on SIGHUP reloads the routes and the public certificate (new connections
// get the new one; a file that does not load leaves the current one in place).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "mesh/config.h"
#include "proxy/gateway.h"

namespace bulwark::proxy {

struct GatewayRunOptions {
  std::string config;         // mesh.yaml
  std::string admin;          // host:port of the admin listener (loopback)
  std::string authority_url;  // "" : https://<authority.listen>
  std::string bundle;         // the authority's bundle.pem (with a join token)
  std::string join_token;     // read by the caller from a 0600 file or a descriptor
  std::optional<mesh::IdentityFiles> identity_files;  // instead of a join token
  std::string access_log;  // file to append JSON lines to, "-" for stdout, "" for none
  int workers = 2;         // event loops (EventLoops), each on its own thread
  std::chrono::milliseconds drain{15'000};
  GatewayOptions gateway;
};

// Runs the gateway until SIGINT or SIGTERM; then drains for up to `drain`. SIGHUP rereads
// mesh.yaml (Gateway::Reload; a file that does not load is logged and the current routes stay).
// Errors: the access log cannot be opened, mesh.yaml does not load or has no gateway section,
// gateway.tls is unset or its files do not load, the identity cannot be obtained or is not
// spiffe://<td>/gateway, a listener cannot bind.
absl::Status RunGateway(const GatewayRunOptions& options);

}  // namespace bulwark::proxy
