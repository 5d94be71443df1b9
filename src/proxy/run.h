// `bulwark sidecar`: obtains the service's identity (a join token redeemed at the authority and
// kept fresh by an SvidRotator, or the identity files named in mesh.yaml, reread once a second
// when they change), then runs the Sidecar on `workers` io threads until SIGINT or SIGTERM,
// closing revoked peers' connections as the revocation list grows and reloading mesh.yaml on
// SIGHUP.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "proxy/handlers.h"

namespace bulwark::proxy {

struct RunOptions {
  std::string config;         // mesh.yaml
  std::string service;        // a key of services
  std::string authority_url;  // "https://127.0.0.1:7443"; with identity files: token keys only
  std::string bundle;         // the authority's bundle.pem; unused with identity files
  std::string join_token;     // read by the caller from a 0600 file or a descriptor
  std::string access_log;     // file to append JSON lines to, "-" for stdout, "" for none
  std::string decision_log;   // the same, for authorization decisions
  std::uint32_t decision_sample = 1;  // log every deny and 1 allow in this many
  SidecarOptions sidecar;
};

// Runs the sidecar until SIGINT or SIGTERM. On a signal it drains: stops accepting, closes idle
// connections, lets requests in flight finish for up to sidecar.timeouts.drain, then closes the
// rest; if the rotator's revocation long-poll is still open a second later, it ends the process
// (exit status 0) rather than wait for it. SIGHUP rereads mesh.yaml (Sidecar::Reload); a file
// that does not load or changes a listener is logged and the current configuration stays. With
// an authority (no identity files), the policy follows GET /v1/policy by long-poll; without,
// SIGHUP is how a policy change arrives. Errors: the access or decision log cannot be opened,
// mesh.yaml does not load, the service is not in it, the join token is refused or names another
// identity, a listener cannot bind.
absl::Status RunSidecar(const RunOptions& options);

}  // namespace bulwark::proxy
