// The gateway's public TLS certificate when gateway.tls is not set (docs/gateway.md#certificate):
// asked of the authority with the gateway's SVID (POST /v1/gateway/certificate) for a key made
// here and the names DeriveGatewayCertificateNames gives, then renewed at half-life on a thread
// of its own and handed to `install`, which swaps it into the public TLS slot as SIGHUP does (new
// connections get it). For local use: browsers do not trust the mesh CA. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "asio/ssl/context.hpp"
#include "core/clock.h"
#include "identity/authority_client.h"
#include "identity/svid.h"
#include "mesh/gateway_names.h"

namespace bulwark::proxy {

// A public TLS context and what logs and the renewal schedule need of its leaf.
struct PublicTlsCertificate {
  std::shared_ptr<asio::ssl::context> context;
  std::string serial;
  core::TimePoint not_before;
  core::TimePoint not_after;
};

using SvidProvider = std::function<std::shared_ptr<const identity::Svid>()>;

// Generates a P-256 key, asks `client` for a certificate for `names` with the current SVID of
// `svid` as client certificate, checks the answer (the leaf is for our key and chains to the
// SVID's bundle) and returns it as a public TLS context (tls::MakePublicServerContext). Errors:
// the authority refuses (its reason), or the answer is not a certificate for this key.
absl::StatusOr<PublicTlsCertificate> FetchGatewayCertificate(
    const identity::AuthorityClient& client, const SvidProvider& svid,
    const mesh::GatewayCertificateNames& names);

class GatewayCertificateRenewer {
 public:
  using Install = std::function<void(PublicTlsCertificate)>;

  // Renews `current` from half of its life on, calling `install` with each new certificate;
  // a failed renewal is logged and retried every tenth of the lifetime (1 s to 60 s).
  GatewayCertificateRenewer(identity::AuthorityClient client, SvidProvider svid,
                            mesh::GatewayCertificateNames names,
                            const PublicTlsCertificate& current, Install install);
  // Stops the thread (an exchange in progress ends within its deadline).
  ~GatewayCertificateRenewer();
  GatewayCertificateRenewer(const GatewayCertificateRenewer&) = delete;
  GatewayCertificateRenewer& operator=(const GatewayCertificateRenewer&) = delete;

 private:
  void Run(core::TimePoint not_before, core::TimePoint not_after);

  const identity::AuthorityClient client_;
  const SvidProvider svid_;
  const mesh::GatewayCertificateNames names_;
  const Install install_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace bulwark::proxy
