// Process setup for the sidecar: identity first (nothing listens without one), then listeners.
#include "proxy/run.h"

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <optional>
#include <thread>
#include <vector>

#include "asio/signal_set.hpp"
#include "core/files.h"
#include "core/status.h"
#include "fmt/format.h"
#include "identity/authority_client.h"
#include "identity/rotator.h"
#include "mesh/config.h"
#include "proxy/headers.h"
#include "proxy/sidecar.h"
#include "spdlog/spdlog.h"

namespace bulwark::proxy {
namespace {

// Resolves a path from mesh.yaml relative to the file's directory.
std::string FromConfig(const std::string& config, const std::string& path) {
  std::filesystem::path p(path);
  return p.is_absolute() ? path : (std::filesystem::path(config).parent_path() / p).string();
}

absl::StatusOr<identity::Svid> LoadIdentityFiles(const std::string& config,
                                                 const mesh::IdentityFiles& files) {
  BULWARK_ASSIGN_OR_RETURN(std::string chain, core::ReadFile(FromConfig(config, files.svid)));
  BULWARK_ASSIGN_OR_RETURN(std::string key, core::ReadSecretFile(FromConfig(config, files.key)));
  BULWARK_ASSIGN_OR_RETURN(std::string bundle, core::ReadFile(FromConfig(config, files.bundle)));
  return identity::SvidFromPem(chain, key, bundle);
}

// Redeems the join token and checks that it was for this service.
absl::StatusOr<std::unique_ptr<identity::SvidRotator>> FetchIdentity(const RunOptions& options,
                                                                     const std::string& expected) {
  if (options.authority_url.empty() || options.bundle.empty() || options.join_token.empty()) {
    return absl::InvalidArgumentError(
        "without identity files in mesh.yaml, give --authority, --bundle and a join token");
  }
  BULWARK_ASSIGN_OR_RETURN(std::string pem, core::ReadFile(options.bundle, 256 * 1024));
  BULWARK_ASSIGN_OR_RETURN(std::vector<crypto::Certificate> bundle,
                           crypto::Certificate::ChainFromPem(pem));
  BULWARK_ASSIGN_OR_RETURN(identity::AuthorityClient client,
                           identity::AuthorityClient::Create(options.authority_url, bundle));
  BULWARK_ASSIGN_OR_RETURN(identity::Svid svid, client.FetchWithJoinToken(options.join_token));
  if (svid.spiffe_id != expected) {
    return absl::PermissionDeniedError(
        fmt::format("the join token is for {}, not {}", svid.spiffe_id, expected));
  }
  spdlog::info("sidecar: obtained {} (serial {})", svid.spiffe_id, svid.leaf().SerialHex());
  return std::make_unique<identity::SvidRotator>(std::move(client), std::move(svid),
                                                 identity::RotatorOptions{});
}

absl::Status Serve(mesh::MeshConfig mesh, const RunOptions& options, IdentitySource source) {
  int workers = static_cast<int>(
      std::max<std::uint32_t>(1, mesh.FindService(options.service)->sidecar.workers));
  asio::io_context io;
  BULWARK_ASSIGN_OR_RETURN(
      std::unique_ptr<Sidecar> sidecar,
      Sidecar::Create(io, std::move(mesh), options.service, std::move(source), options.sidecar));
  sidecar->Start();
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const std::error_code&, int signal) {
    spdlog::info("sidecar: received signal {}, stopping", signal);
    sidecar->Stop();
    io.stop();
  });
  for (const std::string& listener : sidecar->Describe()) {
    spdlog::info("sidecar for {}: listening {}", options.service, listener);
  }
  std::vector<std::thread> threads;
  for (int i = 1; i < workers; ++i) {
    threads.emplace_back([&io] { io.run(); });
  }
  io.run();
  for (std::thread& t : threads) {
    t.join();
  }
  return absl::OkStatus();
}

// Stops the rotator, waiting at most `limit`: its revocation long-poll is a blocking call that
// may stay open for up to RotatorOptions::revocation_wait. Past the limit the process ends at
// once; the sidecar keeps no state, so there is nothing to flush but the log.
void StopRotatorOrExit(std::unique_ptr<identity::SvidRotator> rotator,
                       std::chrono::milliseconds limit) {
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> stopped = done->get_future();
  std::thread stopper([r = std::move(rotator), done]() mutable {
    r.reset();  // ~SvidRotator stops and joins its threads
    done->set_value();
  });
  if (stopped.wait_for(limit) == std::future_status::ready) {
    stopper.join();
    return;
  }
  spdlog::info("sidecar: not waiting for the open revocation long-poll; exiting");
  spdlog::shutdown();
  std::_Exit(0);
}

}  // namespace

absl::Status RunSidecar(const RunOptions& options) {
  BULWARK_ASSIGN_OR_RETURN(mesh::MeshConfig mesh, mesh::LoadMeshConfig(options.config));
  const mesh::ServiceConfig* self = mesh.FindService(options.service);
  if (self == nullptr) {
    return absl::InvalidArgumentError(
        fmt::format("service '{}' is not in {}", options.service, options.config));
  }
  std::string expected = ServiceId(mesh.trust_domain, options.service);
  if (self->identity.has_value()) {
    BULWARK_ASSIGN_OR_RETURN(identity::Svid loaded,
                             LoadIdentityFiles(options.config, *self->identity));
    if (loaded.spiffe_id != expected) {
      return absl::InvalidArgumentError(
          fmt::format("the identity files hold {}, not {}", loaded.spiffe_id, expected));
    }
    auto svid = std::make_shared<const identity::Svid>(std::move(loaded));
    IdentitySource source{[svid] { return svid; }, [](const std::string&) { return false; }};
    return Serve(std::move(mesh), options, std::move(source));
  }
  BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<identity::SvidRotator> rotator,
                           FetchIdentity(options, expected));
  identity::SvidRotator* r = rotator.get();
  IdentitySource source{[r] { return r->Current(); },
                        [r](const std::string& serial) { return r->IsRevoked(serial); }};
  absl::Status served = Serve(std::move(mesh), options, std::move(source));
  StopRotatorOrExit(std::move(rotator), std::chrono::seconds(1));
  return served;
}

}  // namespace bulwark::proxy
