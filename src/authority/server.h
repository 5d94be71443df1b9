// `bulwark authority serve`: the authority's HTTPS API over its data directory, with the
// maintenance loop that rotates the signing CA, the token-signing keys and the server's own
// certificate. Runs until
// SIGINT or SIGTERM.
#pragma once

#include <chrono>
#include <string>

#include "absl/status/status.h"
#include "authority/ca/ca.h"
#include "authority/oauth/oauth_service.h"
#include "authority/oauth/token_keys.h"
#include "authority/service.h"

namespace bulwark::authority {

struct ServeOptions {
  std::string listen = "127.0.0.1:7443";
  ServiceOptions service;
  CaOptions ca;
  int threads = 2;
  core::Seconds server_cert_ttl{86400};
  // OAuth: the issuer identifier (empty: https://<listen> as bound), token lifetimes, the
  // issuers of exchangeable user tokens, the token-key schedule.
  std::string issuer;
  oauth::OAuthOptions oauth;
  oauth::TokenKeyOptions token_keys;
  std::chrono::milliseconds maintenance_interval{1000};
  // mesh.yaml whose allow rules GET /v1/policy distributes, watched (every
  // policy_poll_interval, and on SIGHUP) for changes; empty: no policy is distributed.
  std::string mesh_config;
  std::chrono::milliseconds policy_poll_interval{250};
};

// SPIFFE ID path of the authority's own server certificate.
inline constexpr std::string_view kAuthorityPath = "/authority";

// Serves the authority in `data_dir` until SIGINT or SIGTERM. Writes the URL it listens on to
// `data_dir`/endpoint once bound. Errors: the data directory cannot be opened, the address is
// invalid or taken, mesh_config does not load or its policy does not compile.
absl::Status ServeAuthority(const std::string& data_dir, const ServeOptions& options);

}  // namespace bulwark::authority
