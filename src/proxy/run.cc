// Process setup for the sidecar: identity first (nothing listens without one), then listeners.
#include "proxy/run.h"

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <optional>
#include <thread>
#include <vector>

#include "asio/co_spawn.hpp"
#include "asio/detached.hpp"
#include "asio/signal_set.hpp"
#include "asio/steady_timer.hpp"
#include "asio/use_awaitable.hpp"
#include "core/files.h"
#include "core/status.h"
#include "fmt/format.h"
#include "identity/authority_client.h"
#include "identity/rotator.h"
#include "identity/spiffe_id.h"
#include "mesh/config.h"
#include "proxy/headers.h"
#include "proxy/identity_files.h"
#include "proxy/jwks_source.h"
#include "proxy/policy_watcher.h"
#include "proxy/process.h"
#include "proxy/sidecar.h"
#include "spdlog/spdlog.h"

namespace bulwark::proxy {
namespace {

// Closes the inbound connections of revoked peers as soon as the revocation list changes; the
// version is an atomic load, so polling every 200 ms costs nothing.
std::function<void()> RevocationWatch(Sidecar& sidecar, std::function<std::int64_t()> version) {
  std::int64_t seen = version();
  return [&sidecar, version = std::move(version), seen]() mutable {
    std::int64_t now = version();
    if (now != seen) {
      seen = now;
      sidecar.CloseRevokedConnections();
    }
  };
}

// Reopens the access and decision logs by their paths (after logrotate renamed them): a line
// queued before the signal goes to the old file, every later one to the new.
void ReopenLogs(const SidecarOptions& options) {
  if (options.access_log != nullptr) {
    options.access_log->Reopen();
  }
  if (options.decision_log != nullptr) {
    options.decision_log->Reopen();
  }
}

// Rereads mesh.yaml; a file that does not load, or that changes what needs a restart, leaves
// the current configuration in place.
void Reload(Sidecar& sidecar, const std::string& path) {
  absl::StatusOr<mesh::MeshConfig> mesh = mesh::LoadMeshConfig(path);
  if (!mesh.ok()) {
    spdlog::error("sidecar: reload failed, keeping the current configuration: {}",
                  mesh.status().message());
    return;
  }
  if (absl::Status s = sidecar.Reload(*std::move(mesh)); !s.ok()) {
    spdlog::error("sidecar: reload refused, keeping the current configuration: {}", s.message());
    return;
  }
  spdlog::info("sidecar: reloaded {}", path);
}

// Runs the sidecar until SIGINT or SIGTERM (then drains); `tick` (may be empty) runs once a
// second; SIGHUP reloads mesh.yaml; with `policy_source`, the policy follows the authority.
absl::Status Serve(mesh::MeshConfig mesh, const RunOptions& options, IdentitySource source,
                   std::function<void()> tick,
                   std::optional<identity::AuthorityClient> policy_source = std::nullopt) {
  const mesh::SidecarConfig& config = mesh.FindService(options.service)->sidecar;
  std::chrono::milliseconds drain = config.timeouts.drain;
  std::function<std::int64_t()> revocation_version = source.revocation_version;
  // The token keys outlive the io_context and with it every handler that may use the filter.
  BULWARK_ASSIGN_OR_RETURN(
      identity::AuthorityClient keys_client,
      identity::AuthorityClient::Create(AuthorityUrl(options.authority_url, mesh),
                                        source.current()->bundle));
  std::unique_ptr<JwksSource> token_keys = JwksSource::Start(std::move(keys_client));
  SidecarOptions sidecar_options = options.sidecar;
  sidecar_options.token_filter =
      std::make_shared<TokenFilter>(token_keys->AsKeySource(), mesh.trust_domain);
  EventLoops loops(WorkerCount(config.workers));
  asio::io_context& io = loops.main();
  BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<Sidecar> sidecar,
                           Sidecar::Create(io, std::move(mesh), options.service, std::move(source),
                                           sidecar_options, loops.all()));
  sidecar->Start();
  Sidecar* s = sidecar.get();
  std::unique_ptr<PolicyWatcher> watcher;
  if (policy_source.has_value()) {
    watcher = std::make_unique<PolicyWatcher>(
        *std::move(policy_source), s->context()->identity.current, 0,
        [s](std::int64_t version, std::vector<mesh::AllowRule> rules) {
          return s->ApplyPolicy(version, std::move(rules));
        });
  }
  asio::co_spawn(io,
                 Every(std::chrono::seconds(1),
                       [s, tick] {
                         s->PrunePools();
                         if (tick) {
                           tick();
                         }
                       }),
                 asio::detached);
  if (revocation_version) {
    asio::co_spawn(io,
                   Every(std::chrono::milliseconds(200), RevocationWatch(*s, revocation_version)),
                   asio::detached);
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const std::error_code& ec, int signal) {
    if (ec) {
      return;
    }
    spdlog::info("sidecar: received signal {}, draining (at most {} s)", signal,
                 std::chrono::duration_cast<std::chrono::seconds>(drain).count());
    asio::co_spawn(io, DrainThenStop("sidecar", *s, loops, drain), asio::detached);
  });
  asio::signal_set hangup(io, SIGHUP);
  OnEveryHangup(hangup, [s, &options] {
    spdlog::info("sidecar: received SIGHUP, reopening the logs and reloading {}", options.config);
    ReopenLogs(options.sidecar);
    Reload(*s, options.config);
  });
  for (const std::string& listener : sidecar->Describe()) {
    spdlog::info("sidecar for {}: listening {}", options.service, listener);
  }
  spdlog::info("sidecar for {}: {} workers", options.service, loops.all().size());
  loops.Run();
  if (watcher != nullptr) {
    StopOrExit("sidecar", std::move(watcher), std::chrono::seconds(1));
  }
  return absl::OkStatus();
}

// Serves with the SVID from mesh.yaml's identity files, rereading them when they change.
absl::Status ServeWithIdentityFiles(mesh::MeshConfig mesh, const RunOptions& options,
                                    const mesh::IdentityFiles& files, std::string expected) {
  std::string base_dir = std::filesystem::path(options.config).parent_path().string();
  BULWARK_ASSIGN_OR_RETURN(std::shared_ptr<IdentityFileWatcher> watcher,
                           IdentityFileWatcher::Create(files, base_dir, expected));
  spdlog::info("sidecar: loaded {} from identity files (serial {})", expected,
               watcher->Current()->leaf().SerialHex());
  // The files' provider handles revocation by not renewing; there is no list to follow here.
  IdentitySource source{[watcher] { return watcher->Current(); },
                        [](const std::string&) { return false; }, nullptr};
  return Serve(std::move(mesh), options, std::move(source),
               [watcher] { watcher->ReloadIfChanged(); });
}

}  // namespace

absl::Status RunSidecar(const RunOptions& given) {
  RunOptions options = given;
  if (!options.access_log.empty()) {
    BULWARK_ASSIGN_OR_RETURN(std::shared_ptr<AccessLog> log,
                             AccessLog::Open(options.access_log, "--access-log"));
    options.sidecar.access_log = std::move(log);
  }
  if (!options.decision_log.empty()) {
    BULWARK_ASSIGN_OR_RETURN(
        options.sidecar.decision_log,
        DecisionLog::Open(options.decision_log, "--decision-log", options.decision_sample));
  }
  BULWARK_ASSIGN_OR_RETURN(mesh::MeshConfig mesh, mesh::LoadMeshConfig(options.config));
  const mesh::ServiceConfig* self = mesh.FindService(options.service);
  if (self == nullptr) {
    return absl::InvalidArgumentError(
        fmt::format("service '{}' is not in {}", options.service, options.config));
  }
  std::string expected = identity::ServiceId(mesh.trust_domain, options.service);
  if (self->identity.has_value()) {
    mesh::IdentityFiles files = *self->identity;
    return ServeWithIdentityFiles(std::move(mesh), options, files, expected);
  }
  std::string url = AuthorityUrl(options.authority_url, mesh);
  BULWARK_ASSIGN_OR_RETURN(
      std::unique_ptr<identity::SvidRotator> rotator,
      FetchIdentity("sidecar", options.bundle, options.join_token, expected, url));
  identity::SvidRotator* r = rotator.get();
  IdentitySource source{[r] { return r->Current(); },
                        [r](const std::string& serial) { return r->IsRevoked(serial); },
                        [r] { return r->revocation_version(); }};
  BULWARK_ASSIGN_OR_RETURN(identity::AuthorityClient policy_client,
                           identity::AuthorityClient::Create(url, r->Current()->bundle));
  absl::Status served =
      Serve(std::move(mesh), options, std::move(source), nullptr, std::move(policy_client));
  StopOrExit("sidecar", std::move(rotator), std::chrono::seconds(1));
  return served;
}

}  // namespace bulwark::proxy
