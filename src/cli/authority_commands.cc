// `bulwark authority ...`: initialise and serve the workload CA, and its admin commands.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "authority/data_dir.h"
#include "authority/server.h"
#include "cli/admin_session.h"
#include "cli/commands.h"
#include "core/files.h"
#include "core/status.h"
#include "core/units.h"
#include "fmt/format.h"
#include "mesh/config.h"
#include "mesh/gateway_names.h"

namespace bulwark::cli {
namespace {

struct AuthorityFlags {
  std::string data_dir = ".bulwark/authority";
  std::string config;
  std::string trust_domain;
  std::string listen;
  std::string svid_ttl;
  std::string ca_ttl;
  std::string authority_url;
  std::string access_token_ttl;
  std::string txn_token_ttl;
  std::string jwks_max_age;
  std::string token_key_period;
  std::string gateway_cert_ttl;
  int threads = 2;
  std::optional<mesh::MeshConfig> mesh;  // set by ApplyConfig
};

// Fills unset flags from mesh.yaml's authority section when --config was given.
absl::Status ApplyConfig(AuthorityFlags& flags, const CLI::App& app) {
  if (flags.config.empty()) {
    return absl::OkStatus();
  }
  absl::StatusOr<mesh::MeshConfig> config = mesh::LoadMeshConfig(flags.config);
  if (!config.ok()) {
    return config.status();
  }
  if (flags.trust_domain.empty()) {
    flags.trust_domain = config->trust_domain;
  }
  if (app.count("--data-dir") == 0) {
    // Relative paths in mesh.yaml are relative to the file, not to the working directory.
    std::filesystem::path dir(config->authority.data_dir);
    if (dir.is_relative()) {
      dir = std::filesystem::path(flags.config).parent_path() / dir;
    }
    flags.data_dir = dir.lexically_normal().string();
  }
  if (flags.listen.empty()) {
    flags.listen = config->authority.listen.ToString();
  }
  if (flags.svid_ttl.empty()) {
    flags.svid_ttl = core::FormatDuration(config->authority.svid_ttl);
  }
  flags.mesh = *std::move(config);
  return absl::OkStatus();
}

// Sets `*out` from a duration flag when it was given, within [min, max].
absl::Status DurationFlag(const std::string& text, const char* name, core::Seconds min,
                          core::Seconds max, core::Seconds* out) {
  if (text.empty()) {
    return absl::OkStatus();
  }
  absl::StatusOr<core::Seconds> value = core::ParseDuration(text);
  if (!value.ok()) {
    return absl::InvalidArgumentError(fmt::format("{}: {}", name, value.status().message()));
  }
  if (*value < min || *value > max) {
    return absl::InvalidArgumentError(fmt::format("{} must be between {} and {}", name,
                                                  core::FormatDuration(min),
                                                  core::FormatDuration(max)));
  }
  *out = *value;
  return absl::OkStatus();
}

// Fills the OAuth part of `options` from the flags and mesh.yaml (authority.issuer,
// services.<name>.scopes, gateway.issuers with file: JWKS and CA paths relative to the file).
absl::Status OAuthOptionsFrom(const AuthorityFlags& flags, authority::ServeOptions& options) {
  using std::chrono::hours;
  using std::chrono::seconds;
  BULWARK_RETURN_IF_ERROR(DurationFlag(flags.access_token_ttl, "--access-token-ttl", seconds(1),
                                       hours(1), &options.oauth.access_token_ttl));
  BULWARK_RETURN_IF_ERROR(DurationFlag(flags.txn_token_ttl, "--txn-token-ttl", seconds(1),
                                       seconds(60), &options.oauth.txn_token_ttl));
  BULWARK_RETURN_IF_ERROR(DurationFlag(flags.jwks_max_age, "--jwks-max-age", seconds(1), hours(1),
                                       &options.token_keys.jwks_max_age));
  BULWARK_RETURN_IF_ERROR(DurationFlag(flags.token_key_period, "--token-key-period", seconds(10),
                                       hours(24 * 90), &options.token_keys.signing_period));
  if (!flags.mesh) {
    return absl::OkStatus();
  }
  options.issuer = flags.mesh->authority.issuer.value_or("");
  options.oauth.workload_scopes = authority::oauth::WorkloadScopes(*flags.mesh);
  if (flags.mesh->gateway) {
    std::string base = std::filesystem::path(flags.config).parent_path().string();
    BULWARK_ASSIGN_OR_RETURN(
        options.oauth.subject_key_sources,
        authority::oauth::LoadSubjectIssuers(flags.mesh->gateway->issuers, flags.mesh->trust_domain,
                                             base.empty() ? "." : base));
    options.oauth.subject_issuers = options.oauth.subject_key_sources->issuers();
  }
  return absl::OkStatus();
}

// Fills the gateway certificate's lifetime and, from mesh.yaml's gateway section, the names it
// may be for (POST /v1/gateway/certificate).
absl::Status GatewayCertOptionsFrom(const AuthorityFlags& flags, authority::ServeOptions& options) {
  BULWARK_RETURN_IF_ERROR(DurationFlag(flags.gateway_cert_ttl, "--gateway-cert-ttl",
                                       std::chrono::seconds(5), std::chrono::hours(24 * 30),
                                       &options.service.gateway_cert_ttl));
  if (flags.mesh && flags.mesh->gateway) {
    BULWARK_ASSIGN_OR_RETURN(options.service.gateway_names,
                             mesh::DeriveGatewayCertificateNames(*flags.mesh->gateway));
  }
  return absl::OkStatus();
}

absl::StatusOr<authority::CaOptions> CaOptionsFrom(const AuthorityFlags& flags) {
  authority::CaOptions options;
  if (!flags.ca_ttl.empty()) {
    absl::StatusOr<core::Seconds> ttl = core::ParseDuration(flags.ca_ttl);
    if (!ttl.ok()) {
      return absl::InvalidArgumentError(fmt::format("--ca-ttl: {}", ttl.status().message()));
    }
    options.signing_ttl = *ttl;
  }
  return options;
}

int RunInit(AuthorityFlags& flags, const CLI::App& app) {
  if (absl::Status s = ApplyConfig(flags, app); !s.ok()) {
    return Fail(std::string(s.message()));
  }
  if (flags.trust_domain.empty()) {
    return Fail("--trust-domain is required (or --config mesh.yaml)");
  }
  absl::StatusOr<authority::CaOptions> ca = CaOptionsFrom(flags);
  if (!ca.ok()) {
    return Fail(std::string(ca.status().message()));
  }
  absl::StatusOr<authority::OpenAuthority> opened =
      authority::InitializeDataDir(flags.data_dir, flags.trust_domain, core::SystemClock(), *ca);
  if (!opened.ok()) {
    return Fail(std::string(opened.status().message()));
  }
  authority::DataDirLayout layout{flags.data_dir};
  crypto::Certificate root = opened->ca->Roots().front();
  crypto::Certificate signing = opened->ca->ActiveSigningCa();
  std::printf("initialised authority for trust domain %s in %s\n", flags.trust_domain.c_str(),
              flags.data_dir.c_str());
  std::printf("  root CA         serial %s, valid 10 years\n", root.SerialHex().c_str());
  std::printf("  signing CA      serial %s, rotates itself\n", signing.SerialHex().c_str());
  std::printf("  trust bundle    %s (share it with workloads)\n", layout.bundle().c_str());
  std::printf("  keys sealed by  %s (mode 0600; back it up, never share it)\n",
              layout.kek().c_str());
  std::printf("next: bulwark authority serve --data-dir %s\n", flags.data_dir.c_str());
  return 0;
}

int RunServe(AuthorityFlags& flags, const CLI::App& app) {
  if (absl::Status s = ApplyConfig(flags, app); !s.ok()) {
    return Fail(std::string(s.message()));
  }
  authority::ServeOptions options;
  if (!flags.listen.empty()) {
    options.listen = flags.listen;
  }
  if (!flags.svid_ttl.empty()) {
    absl::StatusOr<core::Seconds> ttl = core::ParseDuration(flags.svid_ttl);
    if (!ttl.ok()) {
      return Fail(fmt::format("--svid-ttl: {}", ttl.status().message()));
    }
    options.service.svid_ttl = *ttl;
  }
  absl::StatusOr<authority::CaOptions> ca = CaOptionsFrom(flags);
  if (!ca.ok()) {
    return Fail(std::string(ca.status().message()));
  }
  options.ca = *ca;
  if (absl::Status s = OAuthOptionsFrom(flags, options); !s.ok()) {
    return Fail(std::string(s.message()));
  }
  if (absl::Status s = GatewayCertOptionsFrom(flags, options); !s.ok()) {
    return Fail(std::string(s.message()));
  }
  if (flags.threads < 1 || flags.threads > 256) {
    return Fail("--threads must be 1..256");
  }
  options.threads = flags.threads;
  options.mesh_config = flags.config;  // its allow rules are distributed (GET /v1/policy)
  absl::Status served = authority::ServeAuthority(flags.data_dir, options);
  if (!served.ok()) {
    return Fail(std::string(served.message()));
  }
  return 0;
}

// Calls the running authority's admin API as a freshly minted admin identity.
absl::StatusOr<nlohmann::json> AdminRequest(const AuthorityFlags& flags, const std::string& method,
                                            const std::string& path, const nlohmann::json& body) {
  return cli::AdminRequest(flags.data_dir, flags.authority_url, method, path, body);
}

// Runs an admin API call and prints the JSON answer (pretty) on stdout.
int AdminCall(const AuthorityFlags& flags, const std::string& method, const std::string& path,
              const nlohmann::json& body) {
  return cli::AdminCall(flags.data_dir, flags.authority_url, method, path, body);
}

void AddCommonAdminFlags(CLI::App& cmd, AuthorityFlags& flags) {
  AddAdminTargetFlags(cmd, flags.data_dir, flags.authority_url);
}

void AddTokenCommands(CLI::App& authority, AuthorityFlags& flags, Action& action) {
  CLI::App* token = authority.add_subcommand("token", "Manage one-time join tokens");
  token->require_subcommand(1);
  CLI::App* create = token->add_subcommand(
      "create", "Create a join token bound to one SPIFFE ID (shown once, stored only as a hash)");
  auto spiffe_id = std::make_shared<std::string>();
  auto ttl = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  create
      ->add_option("--spiffe-id", *spiffe_id, "The workload's SPIFFE ID, e.g. spiffe://td/svc/api")
      ->required();
  create->add_option("--ttl", *ttl, "How long the token may be redeemed (default 10m)");
  create->add_option("--out", *out, "Write the token to this file (mode 0600) instead of stdout");
  AddCommonAdminFlags(*create, flags);
  create->footer(
      "Example:\n  bulwark authority token create --spiffe-id spiffe://dvd.example/svc/api "
      "--out api.token\nThe token is shown once (or written to a 0600 file) and works once.");
  create->callback([&flags, &action, spiffe_id, ttl, out] {
    action = [&flags, spiffe_id, ttl, out] {
      nlohmann::json body = {{"spiffe_id", *spiffe_id}};
      if (!ttl->empty()) {
        body["ttl"] = *ttl;
      }
      absl::StatusOr<nlohmann::json> answer =
          AdminRequest(flags, "POST", "/v1/admin/join-tokens", body);
      if (!answer.ok()) {
        return Fail(std::string(answer.status().message()));
      }
      std::string token = answer->value("join_token", "");
      if (token.empty()) {
        return Fail("the authority's answer carries no join_token");
      }
      if (out->empty()) {
        std::printf("%s\n", token.c_str());
        return 0;
      }
      if (absl::Status s = core::WriteFileAtomic(*out, token + "\n", 0600); !s.ok()) {
        return Fail(std::string(s.message()));
      }
      std::fprintf(stderr, "join token for %s written to %s (expires at %lld)\n",
                   spiffe_id->c_str(), out->c_str(),
                   static_cast<long long>(answer->value("expires_at", std::int64_t{0})));
      return 0;
    };
  });
}

void AddApiKeyCommands(CLI::App& authority, AuthorityFlags& flags, Action& action) {
  CLI::App* apikey = authority.add_subcommand("apikey", "Manage the gateway's API keys");
  apikey->require_subcommand(1);
  CLI::App* create = apikey->add_subcommand(
      "create", "Create an API key for a client (shown once on stdout, stored only as a hash)");
  auto client = std::make_shared<std::string>();
  auto scopes = std::make_shared<std::string>();
  create->add_option("--client", *client, "Who the key is for (the requests' subject)")->required();
  create->add_option("--scopes", *scopes, "Space-separated scopes the key grants, e.g. \"a b\"");
  AddCommonAdminFlags(*create, flags);
  create->footer(
      "Example:\n  bulwark authority apikey create --client billing --scopes \"orders:read\"\n"
      "Prints the key (bwk_<id>_<secret>) once on stdout and its id on stderr; see "
      "docs/gateway.md#api-keys.");
  create->callback([&flags, &action, client, scopes] {
    action = [&flags, client, scopes] {
      nlohmann::json body = {{"client", *client}};
      if (!scopes->empty()) {
        body["scopes"] = *scopes;
      }
      absl::StatusOr<nlohmann::json> answer =
          AdminRequest(flags, "POST", "/v1/admin/apikeys", body);
      if (!answer.ok()) {
        return Fail(std::string(answer.status().message()));
      }
      std::string key = answer->value("key", "");
      if (key.empty()) {
        return Fail("the authority's answer carries no key");
      }
      std::printf("%s\n", key.c_str());
      std::fprintf(stderr, "API key %s created for client %s (shown once: store it now)\n",
                   answer->value("id", "").c_str(), client->c_str());
      return 0;
    };
  });
  CLI::App* revoke = apikey->add_subcommand("revoke", "Revoke an API key by its id");
  auto id = std::make_shared<std::string>();
  revoke->add_option("id", *id, "The key's id (the part after bwk_, before the next _)")
      ->required();
  AddCommonAdminFlags(*revoke, flags);
  revoke->callback([&flags, &action, id] {
    action = [&flags, id] {
      return AdminCall(flags, "DELETE", fmt::format("/v1/admin/apikeys/{}", *id), nullptr);
    };
  });
  CLI::App* list = apikey->add_subcommand("list", "List API keys (ids, clients, scopes; no keys)");
  AddCommonAdminFlags(*list, flags);
  list->callback([&flags, &action] {
    action = [&flags] { return AdminCall(flags, "GET", "/v1/admin/apikeys", nullptr); };
  });
}

// ---- OpenID Connect clients ----
void AddClientCommands(CLI::App& authority, AuthorityFlags& flags, Action& action) {
  CLI::App* client =
      authority.add_subcommand("client", "Manage the OpenID Connect provider's clients");
  client->require_subcommand(1);
  CLI::App* add = client->add_subcommand(
      "add", "Register a client (a confidential client's secret is shown once on stdout)");
  auto name = std::make_shared<std::string>();
  auto redirects = std::make_shared<std::vector<std::string>>();
  auto post_logout = std::make_shared<std::vector<std::string>>();
  auto scopes = std::make_shared<std::string>();
  auto is_public = std::make_shared<bool>(false);
  add->add_option("name", *name, "The client_id: 1 to 64 of a-z 0-9 . _ -")->required();
  add->add_option("--redirect-uri", *redirects,
                  "A redirect URI, matched exactly (https, or http for loopback); repeatable")
      ->required();
  add->add_option("--post-logout-redirect-uri", *post_logout,
                  "Where RP-initiated logout may return to, matched exactly; repeatable");
  add->add_flag("--public", *is_public,
                "A public client (no secret: a browser or native app; PKCE binds its codes)");
  add->add_option("--scopes", *scopes,
                  "Space-separated scopes it may ask for (default \"openid profile email\")");
  AddCommonAdminFlags(*add, flags);
  add->footer(
      "Example:\n  bulwark authority client add wiki --redirect-uri "
      "https://wiki.example/callback\nPrints the client secret once on stdout (none for "
      "--public); see docs/sso.md.");
  add->callback([&flags, &action, name, redirects, post_logout, scopes, is_public] {
    action = [&flags, name, redirects, post_logout, scopes, is_public] {
      nlohmann::json body = {{"client_id", *name},
                             {"redirect_uris", fmt::format("{}", fmt::join(*redirects, " "))},
                             {"public", *is_public ? "true" : "false"}};
      if (!post_logout->empty()) {
        body["post_logout_redirect_uris"] = fmt::format("{}", fmt::join(*post_logout, " "));
      }
      if (!scopes->empty()) {
        body["scopes"] = *scopes;
      }
      absl::StatusOr<nlohmann::json> answer =
          AdminRequest(flags, "POST", "/v1/admin/clients", body);
      if (!answer.ok()) {
        return Fail(std::string(answer.status().message()));
      }
      std::string secret = answer->value("client_secret", "");
      if (!secret.empty()) {
        std::printf("%s\n", secret.c_str());
      }
      std::fprintf(stderr, "client %s registered (%s)\n", name->c_str(),
                   secret.empty() ? "public: no secret"
                                  : "confidential: its secret is shown once, store it now");
      return 0;
    };
  });
  CLI::App* remove = client->add_subcommand(
      "remove", "Remove a client; its refresh tokens and their access tokens are revoked");
  auto id = std::make_shared<std::string>();
  remove->add_option("name", *id, "The client_id")->required();
  AddCommonAdminFlags(*remove, flags);
  remove->callback([&flags, &action, id] {
    action = [&flags, id] {
      return AdminCall(flags, "DELETE", fmt::format("/v1/admin/clients/{}", *id), nullptr);
    };
  });
  CLI::App* list = client->add_subcommand("list", "List clients (no secrets)");
  AddCommonAdminFlags(*list, flags);
  list->callback([&flags, &action] {
    action = [&flags] { return AdminCall(flags, "GET", "/v1/admin/clients", nullptr); };
  });
}
// ---- end OpenID Connect clients ----

}  // namespace

void AddAuthorityCommands(CLI::App& app, Action& action) {
  static AuthorityFlags flags;
  CLI::App* authority = app.add_subcommand(
      "authority", "The workload CA: SPIFFE X.509-SVIDs, join tokens, rotation, revocation");
  authority->require_subcommand(1);

  CLI::App* init = authority->add_subcommand(
      "init", "Create a new authority: root and signing CA, sealed keys, trust bundle");
  init->add_option("--data-dir", flags.data_dir,
                   "Directory to create (default .bulwark/authority)");
  init->add_option("--trust-domain", flags.trust_domain, "Trust domain, e.g. dvd.example");
  init->add_option("--config", flags.config,
                   "Take trust_domain and authority.data_dir from mesh.yaml");
  init->add_option("--ca-ttl", flags.ca_ttl, "Lifetime of each signing CA (default 7d)");
  init->footer(
      "Example:\n  bulwark authority init --data-dir .bulwark/authority --trust-domain "
      "dvd.example\n"
      "Creates DATA_DIR (0700) with kek.key (0600), authority.db and bundle.pem; refuses a\n"
      "directory that already holds anything. See docs/authority.md.");
  init->callback([&action, init] { action = [init] { return RunInit(flags, *init); }; });

  CLI::App* serve = authority->add_subcommand("serve", "Serve the authority's HTTPS API");
  serve->add_option("--data-dir", flags.data_dir,
                    "Authority data directory (default .bulwark/authority)");
  serve->add_option("--listen", flags.listen,
                    "Address to listen on (default 127.0.0.1:7443; port 0: any)");
  serve->add_option("--config", flags.config,
                    "Take the authority section from mesh.yaml, and distribute its allow rules "
                    "(GET /v1/policy; the file is watched, and reread on SIGHUP)");
  serve->add_option("--svid-ttl", flags.svid_ttl, "Lifetime of issued SVIDs (default 1h)");
  serve->add_option("--gateway-cert-ttl", flags.gateway_cert_ttl,
                    "Lifetime of the gateway's authority-issued TLS certificate (default 24h)");
  serve->add_option("--ca-ttl", flags.ca_ttl, "Lifetime of each new signing CA (default 7d)");
  serve->add_option("--threads", flags.threads, "Worker threads (default 2)");
  serve->add_option("--access-token-ttl", flags.access_token_ttl,
                    "Lifetime of access tokens from client_credentials (default 5m)");
  serve->add_option("--txn-token-ttl", flags.txn_token_ttl,
                    "Lifetime of transaction tokens (default and at most 60s)");
  serve->add_option("--jwks-max-age", flags.jwks_max_age,
                    "Cache-Control max-age of the JWKS and metadata (default 5m)");
  serve->add_option("--token-key-period", flags.token_key_period,
                    "How long each token-signing key signs before the next one (default 1d)");
  serve->footer(
      "Example:\n  bulwark authority serve --data-dir .bulwark/authority --listen 127.0.0.1:7443\n"
      "Writes its URL to DATA_DIR/endpoint; logs to stderr; SIGINT or SIGTERM stops it.\n"
      "The API is described in docs/api.md, OAuth and token keys in docs/tokens.md.");
  serve->callback([&action, serve] { action = [serve] { return RunServe(flags, *serve); }; });

  AddTokenCommands(*authority, flags, action);
  AddApiKeyCommands(*authority, flags, action);
  AddClientCommands(*authority, flags, action);
  AddUserCommands(*authority, flags.data_dir, flags.authority_url, action);

  CLI::App* revoke = authority->add_subcommand(
      "revoke", "Revoke one certificate by serial, or every unexpired one of a SPIFFE ID");
  static std::string serial, spiffe_id;
  auto* by_serial = revoke->add_option("--serial", serial, "Serial number (hex) to revoke");
  revoke->add_option("--spiffe-id", spiffe_id, "Revoke every unexpired SVID of this ID")
      ->excludes(by_serial);
  AddCommonAdminFlags(*revoke, flags);
  revoke->footer(
      "Examples:\n  bulwark authority revoke --serial 3ac6c10b3d53d0597752c093b90628b8\n"
      "  bulwark authority revoke --spiffe-id spiffe://dvd.example/svc/api");
  revoke->callback([&action] {
    action = [] {
      if (serial.empty() == spiffe_id.empty()) {
        return Fail("give one of --serial or --spiffe-id");
      }
      nlohmann::json body = serial.empty() ? nlohmann::json{{"spiffe_id", spiffe_id}}
                                           : nlohmann::json{{"serial", serial}};
      return AdminCall(flags, "POST", "/v1/admin/revocations", body);
    };
  });

  CLI::App* list =
      authority->add_subcommand("list", "List issued certificates (or the audit trail)");
  static bool all = false;
  static int audit = 0;
  list->add_flag("--all", all, "Include expired certificates");
  list->add_option("--audit", audit, "Show the last N audit entries instead");
  AddCommonAdminFlags(*list, flags);
  list->footer("Examples:\n  bulwark authority list --all\n  bulwark authority list --audit 50");
  list->callback([&action] {
    action = [] {
      if (audit > 0) {
        return AdminCall(flags, "GET", fmt::format("/v1/admin/audit?limit={}", audit), nullptr);
      }
      return AdminCall(flags, "GET", all ? "/v1/admin/svids?all=true" : "/v1/admin/svids", nullptr);
    };
  });

  CLI::App* keys = authority->add_subcommand("keys", "Token-signing key operations");
  keys->require_subcommand(1);
  CLI::App* keys_rotate = keys->add_subcommand(
      "rotate",
      "Start a token-key rotation now: publish the next key, which signs once every verifier can "
      "have it (after the longest token lifetime + the JWKS max-age)");
  AddCommonAdminFlags(*keys_rotate, flags);
  keys_rotate->footer(
      "Example:\n  bulwark authority keys rotate\nPrints the keys with their schedule; the new key "
      "becomes current at next_activates_at\n(at once if it was published long enough ago). See "
      "docs/tokens.md.");
  keys_rotate->callback([&action] {
    action = [] {
      return AdminCall(flags, "POST", "/v1/admin/keys/rotate", nlohmann::json::object());
    };
  });

  CLI::App* ca = authority->add_subcommand("ca", "Signing CA operations");
  ca->require_subcommand(1);
  CLI::App* rotate = ca->add_subcommand(
      "rotate", "Prepare and activate a new signing CA now (SVIDs of the old one stay valid)");
  AddCommonAdminFlags(*rotate, flags);
  rotate->callback([&action] {
    action = [] {
      return AdminCall(flags, "POST", "/v1/admin/ca/rotate", nlohmann::json::object());
    };
  });
}

}  // namespace bulwark::cli
