#include "authority/server.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "asio/co_spawn.hpp"
#include "asio/detached.hpp"
#include "asio/io_context.hpp"
#include "asio/ip/address.hpp"
#include "asio/signal_set.hpp"
#include "asio/steady_timer.hpp"
#include "asio/use_awaitable.hpp"
#include "authority/api/revocation_feed.h"
#include "authority/api/router.h"
#include "authority/data_dir.h"
#include "core/files.h"
#include "core/status.h"
#include "fmt/format.h"
#include "http/server.h"
#include "spdlog/spdlog.h"
#include "tls/context.h"

namespace bulwark::authority {
namespace {

// Returns the host part of "host:port" or "[v6]:port".
std::string ListenHost(const std::string& listen) {
  if (listen.starts_with("[")) return listen.substr(1, listen.find(']') - 1);
  return listen.substr(0, listen.rfind(':'));
}

bool IsWildcard(const std::string& host) {
  return host.empty() || host == "0.0.0.0" || host == "::";
}

// Holds the TLS context of the authority's own server certificate and renews it.
class ServerIdentity {
 public:
  ServerIdentity(AuthorityService& service, std::string listen_host, core::Seconds ttl)
      : service_(service), host_(std::move(listen_host)), ttl_(ttl) {}

  // Issues a fresh server certificate and makes it the one new connections see.
  absl::Status Renew() {
    BULWARK_ASSIGN_OR_RETURN(crypto::PrivateKey key,
                             crypto::PrivateKey::Generate(crypto::KeyType::kP256));
    BULWARK_ASSIGN_OR_RETURN(
        identity::SpiffeId id,
        identity::SpiffeId::FromParts(service_.ca().trust_domain(), kAuthorityPath));
    std::vector<std::string> ips = {"127.0.0.1", "::1"};
    std::error_code ec;
    asio::ip::address address = asio::ip::make_address(host_, ec);
    if (!ec && !address.is_unspecified() && !address.is_loopback()) ips.push_back(host_);
    BULWARK_ASSIGN_OR_RETURN(IssuedSvid issued, service_.IssueDirect(key.Public(), id, ttl_,
                                                                     "server", {"localhost"}, ips));
    tls::Credentials credentials{issued.svid.chain, std::move(key)};
    BULWARK_ASSIGN_OR_RETURN(
        auto context,
        tls::MakeServerContext(credentials, service_.ca().Roots(), tls::ClientAuth::kOptional));
    renew_at_ = issued.svid.chain.front().NotBefore() +
                (issued.not_after - issued.svid.chain.front().NotBefore()) / 2;
    context_.store(std::move(context));
    return absl::OkStatus();
  }
  bool Due(core::TimePoint now) const { return now >= renew_at_; }
  std::shared_ptr<asio::ssl::context> Current() const { return context_.load(); }

 private:
  AuthorityService& service_;
  const std::string host_;
  const core::Seconds ttl_;
  core::TimePoint renew_at_;
  std::atomic<std::shared_ptr<asio::ssl::context>> context_;
};

// Advances the token-key schedule and, once a minute, forgets revoked tokens, authorization codes
// and refresh tokens past their expiry.
void MaintainTokens(AuthorityService& service, oauth::TokenKeys& keys, int tick) {
  absl::StatusOr<oauth::TokenKeyRotation> rotation = keys.Rotate(/*force=*/false);
  if (!rotation.ok()) {
    spdlog::error("token-key rotation failed: {}", rotation.status().ToString());
  } else if (rotation->activated) {
    spdlog::info("token-signing key {} is now current", rotation->current_kid);
  }
  if (tick % 60 == 0) {
    core::TimePoint before = service.clock().Now() - keys.options().skew;
    if (absl::Status s = service.store().PruneRevokedTokens(before); !s.ok()) {
      spdlog::error("pruning revoked tokens failed: {}", s.ToString());
    }
    // OpenID Connect: expired authorization codes and refresh tokens.
    if (absl::Status s = service.store().PruneOidcGrants(before); !s.ok()) {
      spdlog::error("pruning OpenID Connect grants failed: {}", s.ToString());
    }
  }
}

// Rotates the signing CA and the token keys when due and keeps the server certificate fresh.
asio::awaitable<void> Maintain(AuthorityService& service, oauth::TokenKeys& keys,
                               ServerIdentity& identity, std::chrono::milliseconds interval) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (int tick = 1;; ++tick) {
    timer.expires_after(interval);
    co_await timer.async_wait(asio::use_awaitable);
    MaintainTokens(service, keys, tick);
    absl::StatusOr<bool> rotated = service.ca().Rotate(/*force=*/false);
    if (!rotated.ok()) {
      spdlog::error("signing CA rotation failed: {}", rotated.status().ToString());
    } else if (*rotated) {
      spdlog::info("activated signing CA {}", service.ca().ActiveSigningCa().SerialHex());
    }
    if ((rotated.ok() && *rotated) || identity.Due(service.clock().Now())) {
      if (absl::Status s = identity.Renew(); !s.ok()) {
        spdlog::error("server certificate renewal failed: {}", s.ToString());
      }
    }
  }
}

// Rereads mesh.yaml's policy when the file changes, every `interval`.
asio::awaitable<void> WatchPolicy(api::PolicyFeed& policy, std::chrono::milliseconds interval) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(interval);
    co_await timer.async_wait(asio::use_awaitable);
    policy.ReloadIfChanged();
  }
}

// Rereads mesh.yaml's policy on every SIGHUP until the io_context stops.
void ReloadPolicyOnHangup(asio::signal_set& hangup, api::PolicyFeed& policy) {
  hangup.async_wait([&hangup, &policy](const std::error_code& ec, int) {
    if (ec) return;
    spdlog::info("received SIGHUP, rereading the policy");
    policy.Reload();
    ReloadPolicyOnHangup(hangup, policy);
  });
}

// Loads the policy feed of `options.mesh_config`; null when none is configured.
absl::StatusOr<std::unique_ptr<api::PolicyFeed>> LoadPolicy(const ServeOptions& options) {
  if (options.mesh_config.empty()) return nullptr;
  // Versions start at the start time in ms, so a restarted authority never repeats one.
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return api::PolicyFeed::Load(options.mesh_config,
                               std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
}

absl::StatusOr<std::int64_t> CurrentRevocationVersion(Store& store) {
  BULWARK_ASSIGN_OR_RETURN(std::vector<RevocationRecord> all, store.RevocationsSince(0));
  return all.empty() ? 0 : all.back().version;
}

}  // namespace

absl::Status ServeAuthority(const std::string& data_dir, const ServeOptions& options) {
  BULWARK_ASSIGN_OR_RETURN(OpenAuthority opened,
                           OpenDataDir(data_dir, core::SystemClock(), options.ca));
  AuthorityService service(*opened.store, *opened.ca, core::SystemClock(), options.service);
  BULWARK_ASSIGN_OR_RETURN(std::int64_t version, CurrentRevocationVersion(*opened.store));
  api::RevocationFeed feed(version);
  oauth::TokenKeyOptions key_options = options.token_keys;
  key_options.max_token_ttl = std::max(options.oauth.access_token_ttl, options.oauth.txn_token_ttl);
  BULWARK_ASSIGN_OR_RETURN(
      oauth::TokenKeysPtr keys,
      oauth::TokenKeys::Load(*opened.store, opened.kek, core::SystemClock(), key_options));
  ServerIdentity identity(service, ListenHost(options.listen), options.server_cert_ttl);
  BULWARK_RETURN_IF_ERROR(identity.Renew());
  BULWARK_RETURN_IF_ERROR(WriteBundle(DataDirLayout{data_dir}, *opened.ca));
  BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<api::PolicyFeed> policy, LoadPolicy(options));

  asio::io_context io;
  // The router needs the issuer, which defaults to the bound address; the server calls the
  // handler only after Start().
  std::unique_ptr<oauth::OAuthService> oauth;
  std::unique_ptr<api::Router> router;
  BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<http::Server> server,
                           http::Server::Create(
                               io, options.listen, [&identity] { return identity.Current(); },
                               [&router](http::Request request, const http::ConnectionInfo& conn) {
                                 return router->Handle(std::move(request), conn);
                               }));
  asio::ip::tcp::endpoint bound = server->local_endpoint();
  std::string host = ListenHost(options.listen);
  if (IsWildcard(host)) host = bound.address().is_v6() ? "::1" : "127.0.0.1";
  std::string url = host.find(':') != std::string::npos
                        ? fmt::format("https://[{}]:{}", host, bound.port())
                        : fmt::format("https://{}:{}", host, bound.port());
  oauth::OAuthOptions oauth_options = options.oauth;
  oauth_options.issuer = options.issuer.empty() ? url : options.issuer;
  oauth = std::make_unique<oauth::OAuthService>(service, *keys, std::move(oauth_options));
  // SSO users and their login pages.
  UserDirectory users(*opened.store, core::SystemClock(), opened.kek, oauth->options().issuer);
  LoginPages login(users, LoginOptions{});
  router = std::make_unique<api::Router>(service, feed, *oauth, policy.get(), &login);
  BULWARK_RETURN_IF_ERROR(
      core::WriteFileAtomic(DataDirLayout{data_dir}.endpoint(), url + "\n", 0644));
  server->Start();
  asio::co_spawn(io, Maintain(service, *keys, identity, options.maintenance_interval),
                 asio::detached);
  asio::signal_set hangup(io);
  if (policy != nullptr) {
    asio::co_spawn(io, WatchPolicy(*policy, options.policy_poll_interval), asio::detached);
    hangup.add(SIGHUP);
    ReloadPolicyOnHangup(hangup, *policy);
    spdlog::info("distributing the policy of {} (version {})", options.mesh_config,
                 policy->Current()->version);
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const std::error_code&, int signal) {
    spdlog::info("received signal {}, stopping", signal);
    server->Stop();
    hangup.cancel();
    io.stop();
  });
  spdlog::info("authority for trust domain {} listening on {} (OAuth issuer {})",
               opened.ca->trust_domain(), url, oauth->options().issuer);
  std::vector<std::thread> threads;
  for (int i = 1; i < options.threads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (std::thread& t : threads) t.join();
  return absl::OkStatus();
}

}  // namespace bulwark::authority
