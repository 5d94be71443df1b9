// `bulwark gateway`: the public entry point (docs/gateway.md).
#include <string>
#include <tuple>

#include "cli/commands.h"
#include "core/status.h"
#include "core/units.h"
#include "fmt/format.h"
#include "proxy/gateway_run.h"

namespace bulwark::cli {
namespace {

struct GatewayFlags {
  proxy::GatewayRunOptions run;
  std::string token_file;
  int token_fd = -1;
  std::string timeout = "30s";
  std::string drain = "15s";
  mesh::IdentityFiles identity;
};

int RunGatewayCommand(GatewayFlags& flags) {
  for (auto [flag, text, target] :
       {std::tuple{"--upstream-timeout", &flags.timeout, &flags.run.gateway.upstream_timeout},
        std::tuple{"--drain-timeout", &flags.drain, &flags.run.drain}}) {
    absl::StatusOr<core::Seconds> value = core::ParseDuration(*text);
    if (!value.ok()) {
      return Fail(fmt::format("{}: {}", flag, value.status().message()));
    }
    *target = *value;
  }
  int given =
      !flags.identity.svid.empty() + !flags.identity.key.empty() + !flags.identity.bundle.empty();
  if (given != 0 && given != 3) {
    return Fail("--svid, --key and --identity-bundle go together");
  }
  if (given == 3) {
    flags.run.identity_files = flags.identity;
  } else {
    absl::StatusOr<std::string> token = ReadJoinToken(flags.token_file, flags.token_fd);
    if (!token.ok()) {
      return Fail(std::string(token.status().message()));
    }
    flags.run.join_token = *token;
  }
  if (absl::Status s = proxy::RunGateway(flags.run); !s.ok()) {
    return Fail(std::string(s.message()));
  }
  return 0;
}

}  // namespace

void AddGatewayCommands(CLI::App& app, Action& action) {
  static GatewayFlags flags;
  CLI::App* gateway = app.add_subcommand(
      "gateway",
      "Run the public entry point: HTTPS on gateway.listen with the gateway.tls certificate\n"
      "(TLS 1.3; TLS 1.2 with ECDHE+AEAD only; HSTS), routes from gateway.routes (prefix or path\n"
      "template, most specific first; 404/405/413), per-route authentication and rate limits\n"
      "(429 + Retry-After), client identity headers removed, traceparent kept or created, and\n"
      "the request sent over mTLS (identity spiffe://<td>/gateway) to the service's sidecar.\n"
      "Responses are hardened (security headers, cookie attributes, no Server header).\n"
      "SIGTERM/SIGINT: drain. SIGHUP: reread the routes from --config.\n"
      "Example: bulwark gateway --config mesh.yaml --bundle bundle.pem --token-file gw.token \\\n"
      "           --admin 127.0.0.1:9443 --access-log -\n"
      "See docs/gateway.md.");
  gateway->add_option("--config", flags.run.config, "mesh.yaml with a gateway section")->required();
  gateway
      ->add_option("--admin", flags.run.admin,
                   "Loopback address of the admin listener (/healthz, /readyz, /metrics)")
      ->required();
  gateway->add_option("--authority", flags.run.authority_url,
                      "Authority URL (default: https://<authority.listen> from mesh.yaml)");
  gateway->add_option("--bundle", flags.run.bundle,
                      "Trust bundle to authenticate the authority (its bundle.pem)");
  gateway->add_option("--token-file", flags.token_file,
                      "File (mode 0600) holding a join token for spiffe://<td>/gateway");
  gateway->add_option("--token-fd", flags.token_fd,
                      "Inherited descriptor to read the join token from (instead of --token-file)");
  gateway->add_option("--svid", flags.identity.svid,
                      "Identity files instead of a join token: the SVID chain (PEM)");
  gateway->add_option("--key", flags.identity.key, "... its private key (mode 0600)");
  gateway->add_option("--identity-bundle", flags.identity.bundle, "... and the trust bundle");
  gateway->add_option("--workers", flags.run.workers, "event loops, one thread each (default 2)")
      ->check(CLI::Range(1, 256));
  gateway->add_option("--upstream-timeout", flags.timeout,
                      "Bound on each forwarded exchange, e.g. 30s (default 30s)");
  gateway->add_option("--drain-timeout", flags.drain,
                      "On SIGTERM, how long requests in flight may take (default 15s)");
  gateway->add_option("--access-log", flags.run.access_log,
                      "Append one JSON line per request to this file ('-' for stdout)");
  gateway->callback([&action] { action = [] { return RunGatewayCommand(flags); }; });
}

}  // namespace bulwark::cli
