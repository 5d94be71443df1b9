// Process setup for the gateway: configuration and certificate first, then identity (nothing
// listens without one), then the listeners.
#include "proxy/gateway_run.h"

#include <atomic>
#include <csignal>
#include <filesystem>
#include <functional>

#include "absl/strings/ascii.h"
#include "asio/co_spawn.hpp"
#include "asio/detached.hpp"
#include "asio/signal_set.hpp"
#include "core/files.h"
#include "core/status.h"
#include "crypto/aead.h"
#include "crypto/key.h"
#include "crypto/random.h"
#include "crypto/x509.h"
#include "fmt/format.h"
#include "identity/rotator.h"
#include "identity/spiffe_id.h"
#include "proxy/api_key_auth.h"
#include "proxy/api_key_watcher.h"
#include "proxy/bearer_auth.h"
#include "proxy/identity_files.h"
#include "proxy/issuer_keys_source.h"
#include "proxy/jwks_source.h"
#include "proxy/process.h"
#include "proxy/session_cookie.h"
#include "proxy/session_rp.h"
#include "proxy/txn_signer.h"
#include "spdlog/spdlog.h"
#include "tls/context.h"

namespace bulwark::proxy {
namespace {

std::string Resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path.front() == '/' || base_dir.empty()) {
    return path;
  }
  return (std::filesystem::path(base_dir) / path).string();
}

// The public TLS context, swapped whole on SIGHUP: each new connection takes the one in place
// when it is accepted, so connections already open keep theirs.
using PublicTlsSlot = std::atomic<std::shared_ptr<asio::ssl::context>>;

struct LoadedTls {
  std::shared_ptr<asio::ssl::context> context;
  std::string serial;  // of the leaf, for logs
};

// Loads gateway.tls (paths relative to mesh.yaml's directory) into a public TLS context.
absl::StatusOr<LoadedTls> PublicTls(const mesh::MeshConfig& mesh, const std::string& base_dir) {
  if (!mesh.gateway->tls.has_value()) {
    return absl::InvalidArgumentError(fmt::format(
        "gateway.tls is required in {} (a certificate issued by the authority is not supported "
        "yet)",
        mesh.file_name));
  }
  std::string cert_path = Resolve(base_dir, mesh.gateway->tls->cert);
  std::string key_path = Resolve(base_dir, mesh.gateway->tls->key);
  BULWARK_ASSIGN_OR_RETURN(std::string cert_pem, core::ReadFile(cert_path, 256 * 1024));
  BULWARK_ASSIGN_OR_RETURN(std::string key_pem, core::ReadFile(key_path, 64 * 1024));
  absl::StatusOr<std::vector<crypto::Certificate>> chain =
      crypto::Certificate::ChainFromPem(cert_pem);
  if (!chain.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("gateway.tls.cert {}: {}", cert_path, chain.status().message()));
  }
  absl::StatusOr<crypto::PrivateKey> key = crypto::PrivateKey::FromPem(key_pem);
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("gateway.tls.key {}: {}", key_path, key.status().message()));
  }
  std::string serial = chain->front().SerialHex();
  BULWARK_ASSIGN_OR_RETURN(
      std::shared_ptr<asio::ssl::context> context,
      tls::MakePublicServerContext(tls::Credentials{*std::move(chain), *std::move(key)}));
  return LoadedTls{std::move(context), std::move(serial)};
}

// Applies a new mesh.yaml to the routes; a broken or refused one leaves them as they are.
void ReloadMesh(Gateway& gateway, const std::string& path) {
  spdlog::info("gateway: received SIGHUP, reloading {}", path);
  absl::StatusOr<mesh::MeshConfig> mesh = mesh::LoadMeshConfig(path);
  if (!mesh.ok()) {
    spdlog::error("gateway: reload failed, keeping the current configuration: {}",
                  mesh.status().message());
    return;
  }
  if (mesh->gateway.has_value() && !mesh->gateway->tls.has_value()) {
    spdlog::error(
        "gateway: reload refused, keeping the current configuration: gateway.tls was removed; "
        "restart the gateway to apply it");
    return;
  }
  if (absl::Status s = gateway.Reload(*std::move(mesh)); !s.ok()) {
    spdlog::error("gateway: reload refused, keeping the current configuration: {}", s.message());
    return;
  }
  spdlog::info("gateway: reloaded {}", path);
}

// Rereads the certificate and key of the gateway.tls in use (after ReloadMesh) for the
// connections accepted from now on; on any error the current certificate stays.
void ReloadTls(const Gateway& gateway, const std::string& base_dir, PublicTlsSlot& slot) {
  absl::StatusOr<LoadedTls> loaded = PublicTls(gateway.context()->mesh, base_dir);
  if (!loaded.ok()) {
    spdlog::error("gateway: TLS certificate reload failed, keeping the current certificate: {}",
                  loaded.status().message());
    return;
  }
  slot.store(std::move(loaded->context));
  spdlog::info("gateway: TLS certificate reloaded (serial {}); new connections use it",
               loaded->serial);
}

// What admits requests and vouches for them: the keys of gateway.issuers (the authority's own
// for `issuer: self`) behind the bearer authenticator, and the delegated transaction-token key.
// They outlive the io_context and with it every handler that uses them.
struct Admission {
  std::unique_ptr<JwksSource> authority_keys;
  std::unique_ptr<IssuerKeySources> issuer_keys;
  std::unique_ptr<BearerAuthenticator> bearer;
  std::unique_ptr<TxnSigner> signer;
  std::unique_ptr<ApiKeyAuthenticator> api_keys;
  std::unique_ptr<ApiKeyWatcher> api_key_watcher;  // after api_keys: stops before it goes
  std::unique_ptr<SessionRelyingParty> session;    // gateway.session's relying party
};

// Returns the cookie key of gateway.session: key_file's (a secret file), or a random key when
// it is empty (sessions then end with the process).
absl::StatusOr<crypto::Bytes> LoadCookieKey(const mesh::SessionConfig& session,
                                            const std::string& base_dir) {
  if (session.key_file.empty()) {
    spdlog::warn(
        "gateway: gateway.session.key_file is not set: a random cookie key is used, and browser "
        "sessions end when the gateway restarts");
    return crypto::RandomBytes(crypto::kAes256KeyBytes);
  }
  std::string path = Resolve(base_dir, session.key_file);
  absl::StatusOr<std::string> content = core::ReadSecretFile(path, 256);
  absl::StatusOr<crypto::Bytes> key =
      content.ok() ? ParseCookieKey(*content) : absl::StatusOr<crypto::Bytes>(content.status());
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("gateway.session.key_file {}: {}", path, key.status().message()));
  }
  return key;
}

// Makes the relying party of gateway.session: the client secret is read once, now, and a
// missing, empty or group- or world-accessible file stops the start.
absl::StatusOr<std::unique_ptr<SessionRelyingParty>> StartSession(
    const mesh::MeshConfig& mesh, const std::string& authority_url, const std::string& issuer,
    const IdentitySource& source, const std::string& base_dir, tokens::IssuerKeySource keys) {
  const mesh::SessionConfig& config = *mesh.gateway->session;
  std::string secret_path = Resolve(base_dir, config.client_secret_file);
  absl::StatusOr<std::string> secret = core::ReadSecretFile(secret_path, 4096);
  if (!secret.ok() || absl::StripAsciiWhitespace(*secret).empty()) {
    return absl::InvalidArgumentError(
        fmt::format("gateway.session.client_secret_file {}: {}", secret_path,
                    secret.ok() ? "the file is empty" : secret.status().message()));
  }
  SessionRpOptions options;
  options.config = config;
  options.public_url = mesh.gateway->PublicUrl();
  options.issuer = issuer;
  options.authority_url = authority_url;
  options.client_secret = std::string(absl::StripAsciiWhitespace(*secret));  // a final newline
  BULWARK_ASSIGN_OR_RETURN(options.cookie_key, LoadCookieKey(config, base_dir));
  options.keys = std::move(keys);
  for (const mesh::IssuerConfig& issuer_config : mesh.gateway->issuers) {
    if (issuer_config.IsSelf()) {
      options.subject_issuer = issuer_config.name;  // the user as a bearer token names them
    }
  }
  options.trust_domain = mesh.trust_domain;
  return SessionRelyingParty::Create(std::move(options), core::SystemClock(), nullptr,
                                     source.current()->bundle);
}

// Starts the Admission of `mesh` and plugs it into `options`. The signer registers its first key
// with the authority now: a gateway that cannot vouch for its requests does not start.
absl::StatusOr<Admission> StartAdmission(const mesh::MeshConfig& mesh, const GatewayRunOptions& run,
                                         const IdentitySource& source, const std::string& base_dir,
                                         GatewayOptions& options) {
  Admission admission;
  BULWARK_ASSIGN_OR_RETURN(identity::AuthorityClient client,
                           identity::AuthorityClient::Create(AuthorityUrl(run.authority_url, mesh),
                                                             source.current()->bundle));
  absl::StatusOr<FetchedKeys> metadata = AuthorityKeysFetcher(client)();
  if (!metadata.ok()) {
    return absl::UnavailableError(
        fmt::format("cannot read the authority's OAuth metadata: {}", metadata.status().message()));
  }
  admission.authority_keys = JwksSource::Start(client);
  if (!mesh.gateway->issuers.empty()) {
    BULWARK_ASSIGN_OR_RETURN(
        admission.issuer_keys,
        IssuerKeySources::Start(mesh.gateway->issuers, mesh.trust_domain, base_dir,
                                admission.authority_keys->AsKeySource()));
    BULWARK_ASSIGN_OR_RETURN(admission.bearer,
                             BearerAuthenticator::Create(mesh, admission.issuer_keys->issuers()));
    options.authenticate_bearer = [bearer = admission.bearer.get()](const http::Request& request,
                                                                    const mesh::RouteConfig&) {
      return bearer->Authenticate(request, core::SystemClock().Now());
    };
  }
  if (mesh.gateway->session.has_value()) {
    BULWARK_ASSIGN_OR_RETURN(
        admission.session, StartSession(mesh, client.url(), metadata->keys.issuer, source, base_dir,
                                        admission.authority_keys->AsKeySource()));
    options.session = admission.session.get();
    spdlog::info("gateway: browser sessions as OpenID Connect client '{}' of {} (callback {}{})",
                 mesh.gateway->session->client_id, metadata->keys.issuer, mesh.gateway->PublicUrl(),
                 kCallbackPath);
  }
  admission.api_keys = std::make_unique<ApiKeyAuthenticator>();
  admission.api_key_watcher =
      std::make_unique<ApiKeyWatcher>(client, source.current, *admission.api_keys);
  options.authenticate_api_key = [keys = admission.api_keys.get()](const http::Request& request) {
    return keys->Authenticate(request);
  };
  TxnSignerOptions signer_options;
  signer_options.issuer = metadata->keys.issuer;
  signer_options.trust_domain = mesh.trust_domain;
  absl::StatusOr<std::unique_ptr<TxnSigner>> signer = TxnSigner::Create(
      signer_options, AuthorityTxnKeyRegistrar(client, source.current), core::SystemClock());
  if (!signer.ok()) {
    return absl::UnavailableError(
        fmt::format("cannot register a transaction-token key with the authority: {}",
                    signer.status().message()));
  }
  admission.signer = *std::move(signer);
  admission.signer->StartMaintenance();
  options.mint_txn_token = [signer = admission.signer.get()](const tokens::Subject& subject,
                                                             std::string_view txn,
                                                             std::string_view client_ip) {
    return signer->Mint(subject, txn, client_ip);
  };
  return admission;
}

absl::Status Serve(mesh::MeshConfig mesh, const GatewayRunOptions& options,
                   std::shared_ptr<PublicTlsSlot> tls, IdentitySource source,
                   std::function<void()> tick) {
  BULWARK_ASSIGN_OR_RETURN(mesh::HostPort admin, mesh::ParseHostPort(options.admin));
  GatewayOptions gateway_options = options.gateway;
  std::string base_dir = std::filesystem::path(options.config).parent_path().string();
  BULWARK_ASSIGN_OR_RETURN(
      Admission admission,
      StartAdmission(mesh, options, source, base_dir.empty() ? "." : base_dir, gateway_options));
  spdlog::info("gateway: transaction tokens signed with delegated key {}",
               admission.signer->CurrentKid());
  asio::io_context io;
  BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<Gateway> gateway,
                           Gateway::Create(
                               io, std::move(mesh), std::move(source),
                               [tls] { return tls->load(); }, admin, std::move(gateway_options)));
  gateway->Start();
  Gateway* g = gateway.get();
  asio::co_spawn(io,
                 Every(std::chrono::seconds(1),
                       [g, tick] {
                         g->PrunePools();
                         if (tick) {
                           tick();
                         }
                       }),
                 asio::detached);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const std::error_code& ec, int signal) {
    if (ec) {
      return;
    }
    spdlog::info("gateway: received signal {}, draining", signal);
    asio::co_spawn(io, DrainThenStop("gateway", *g, io, options.drain), asio::detached);
  });
  asio::signal_set hangup(io, SIGHUP);
  OnEveryHangup(hangup, [g, &options, tls, base_dir] {
    ReloadMesh(*g, options.config);
    ReloadTls(*g, base_dir, *tls);
  });
  for (const std::string& listener : gateway->Describe()) {
    spdlog::info("gateway: listening {}", listener);
  }
  RunIoThreads(io, std::max(1, options.workers));
  // Its long-poll may stay open for its whole wait: do not let it hold up the exit.
  StopOrExit("gateway", std::move(admission.api_key_watcher), std::chrono::seconds(1));
  return absl::OkStatus();
}

}  // namespace

absl::Status RunGateway(const GatewayRunOptions& given) {
  GatewayRunOptions options = given;
  if (!options.access_log.empty()) {
    BULWARK_ASSIGN_OR_RETURN(options.gateway.access_log,
                             AccessLog::Open(options.access_log, "--access-log"));
  }
  BULWARK_ASSIGN_OR_RETURN(mesh::MeshConfig mesh, mesh::LoadMeshConfig(options.config));
  if (!mesh.gateway.has_value()) {
    return absl::InvalidArgumentError(
        fmt::format("{} has no gateway section (bulwark gateway needs it)", options.config));
  }
  std::string base_dir = std::filesystem::path(options.config).parent_path().string();
  BULWARK_ASSIGN_OR_RETURN(LoadedTls loaded, PublicTls(mesh, base_dir));
  auto tls = std::make_shared<PublicTlsSlot>(std::move(loaded.context));
  std::string expected = identity::GatewayId(mesh.trust_domain);
  if (options.identity_files.has_value()) {
    BULWARK_ASSIGN_OR_RETURN(std::shared_ptr<IdentityFileWatcher> watcher,
                             IdentityFileWatcher::Create(*options.identity_files, "", expected));
    spdlog::info("gateway: loaded {} from identity files (serial {})", expected,
                 watcher->Current()->leaf().SerialHex());
    IdentitySource source{[watcher] { return watcher->Current(); },
                          [](const std::string&) { return false; }, nullptr};
    return Serve(std::move(mesh), options, std::move(tls), std::move(source),
                 [watcher] { watcher->ReloadIfChanged(); });
  }
  BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<identity::SvidRotator> rotator,
                           FetchIdentity("gateway", options.bundle, options.join_token, expected,
                                         AuthorityUrl(options.authority_url, mesh)));
  identity::SvidRotator* r = rotator.get();
  IdentitySource source{[r] { return r->Current(); },
                        [r](const std::string& serial) { return r->IsRevoked(serial); },
                        [r] { return r->revocation_version(); }};
  absl::Status served = Serve(std::move(mesh), options, std::move(tls), std::move(source), nullptr);
  StopOrExit("gateway", std::move(rotator), std::chrono::seconds(1));
  return served;
}

}  // namespace bulwark::proxy
