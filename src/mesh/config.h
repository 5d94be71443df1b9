// The typed model of mesh.yaml (ARCHITECTURE.md §11, reference in docs/mesh.md) and its strict
// parser: unknown keys, wrong types, bad values, dangling service references and clashing
// addresses are errors that name the file:line:column and the field path. A parsed MeshConfig
// is an immutable value; sharing a const one across threads is safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "mesh/cidr.h"
#include "mesh/host_port.h"
#include "mesh/rate.h"

namespace bulwark::mesh {

// A 1-based position in the mesh.yaml text.
struct SourcePosition {
  int line = 0;
  int column = 0;
  friend bool operator==(const SourcePosition&, const SourcePosition&) = default;
};

// `authority:`: the control plane (CA, OIDC provider, token service).
struct AuthorityConfig {
  HostPort listen{"127.0.0.1", 7443};
  std::string data_dir = ".bulwark/authority";
  core::Seconds svid_ttl = std::chrono::hours(1);
  // The OAuth issuer identifier (`iss` of the tokens it signs, base of its endpoint URLs);
  // unset: https://<listen> as bound.
  std::optional<std::string> issuer;
};

// A certificate and its private key, both PEM files.
struct TlsFiles {
  std::string cert;
  std::string key;
};

// `gateway.issuers[]`: a signer of bearer tokens the gateway accepts.
struct IssuerConfig {
  // Letters, digits, '.', '_', '-' (never ':'): the prefix of its users' sub, "<name>:<sub>".
  std::string name;
  // "self" (the authority's own OpenID Connect provider) or an https:// issuer URL.
  std::string issuer;
  std::optional<std::string> jwks;       // "file:<path>" or an https:// URL
  std::optional<std::string> discovery;  // https:// URL of the OpenID configuration
  // PEM roots to verify the https:// servers of `jwks`/`discovery` with, instead of the system
  // trust store (/etc/ssl/certs); as written, relative to mesh.yaml's directory.
  std::optional<std::string> ca;
  std::vector<std::string> audiences;
  std::vector<std::string> algorithms{"ES256"};

  bool IsSelf() const { return issuer == "self"; }
};

enum class AuthMethod { kNone, kSession, kBearer, kApiKey };

// `gateway.routes[].rate_limit`: at least one of the two rates is set.
struct RateLimitConfig {
  std::optional<Rate> per_principal;
  std::optional<Rate> per_address;
  std::optional<std::uint32_t> burst;  // bucket size; unset: one period's count
};

enum class RouteMatch { kPrefix, kPath };

// `gateway.routes[]`: which requests go to which service, and how they authenticate.
struct RouteConfig {
  RouteMatch match = RouteMatch::kPrefix;
  std::string pattern;  // the value of `prefix:` or `path:`
  std::string service;
  std::vector<AuthMethod> auth;
  std::vector<std::string> methods;  // empty: any method
  std::uint64_t max_body = 1 << 20;
  std::optional<RateLimitConfig> rate_limit;
  // A leading segment-aligned part of the pattern removed before forwarding ("/api": the
  // service gets /rentals/7 for /api/rentals/7); unset: the path is forwarded as normalized.
  std::optional<std::string> strip_prefix;
  // Media types (lowercase "type/subtype", no parameters) a request body may have; empty: any.
  std::vector<std::string> content_types;
  // A JSON Schema file (as written, relative to mesh.yaml's directory) that JSON bodies must
  // satisfy (docs/gateway.md#request-validation); unset: bodies are not validated.
  std::optional<std::string> schema;
};

// `gateway.session`: browser sessions for routes with `auth: [session]` (docs/gateway.md#browser-
// sessions). The gateway is an OpenID Connect client of the authority: it sends browsers to the
// authority's login, completes the code flow at /_bulwark/callback and keeps the tokens in an
// encrypted `__Host-bulwark-session` cookie.
struct SessionConfig {
  std::string client_id = "gateway";  // the gateway's client at the authority (`client add`)
  std::string client_secret_file;     // required: a 0600 file holding the client's secret
  // A 0600 file holding the 32-byte cookie key (raw or base64url); empty: a random key at each
  // start (sessions then end when the gateway restarts).
  std::string key_file;
  core::Seconds lifetime{8 * 3600};  // a session ends this long after login, whatever it does
  core::Seconds recheck{60};  // the tokens are refreshed at least this often (revocation delay)
  std::vector<std::string> scopes = {"openid", "profile", "email"};
};

// `gateway:`: the public entry point.
struct GatewayConfig {
  HostPort listen{"127.0.0.1", 8443};
  std::optional<TlsFiles> tls;  // unset: a certificate issued by the authority
  std::vector<IssuerConfig> issuers;
  std::vector<RouteConfig> routes;
  // Proxies in front of the gateway whose X-Forwarded-For is believed (docs/gateway.md); empty:
  // X-Forwarded-For is ignored and the client address is the TCP peer's.
  std::vector<Cidr> trusted_proxies;
  // Where browsers reach the gateway ("https://host:port", no path); empty: https://<listen>.
  // Used for the session redirect URI (<public_url>/_bulwark/callback).
  std::string public_url;
  // Required when a route has `auth: [session]`.
  std::optional<SessionConfig> session;

  // public_url, or https://<listen> when it is empty.
  std::string PublicUrl() const;
};

// `services.<name>.calls[]`: a service this one may call through its sidecar.
struct CallConfig {
  std::string service;
  std::optional<HostPort> listen;  // a dedicated local port that always leads to `service`
};

// A `when:` expression, kept as text for the policy compiler, with where it was written.
struct WhenExpression {
  std::string text;
  SourcePosition position;
};

// `services.<name>.allow[]`: one rule of the default-deny policy (docs/policy.md).
struct AllowRule {
  // Service names, "gateway", SPIFFE IDs ("spiffe://...") or SPIFFE ID patterns ending in "/*"
  // (one segment) or "/**" (any number of segments).
  std::vector<std::string> from;
  std::vector<std::string> methods;  // empty: any method
  std::vector<std::string> paths;    // path templates; empty: any path
  std::optional<WhenExpression> when;
  // Where the rule and each of `paths` were written, for the policy compiler's messages.
  SourcePosition position;
  std::vector<SourcePosition> path_positions;
};

// `services.<name>.sandbox`: resource limits applied by `bulwark up` (always sandboxed).
struct SandboxConfig {
  std::uint64_t memory = 256ULL << 20;
  std::uint32_t nofile = 1024;
  std::uint32_t nproc = 64;
};

// `services.<name>.sidecar.timeouts`: bounds on what clients of the sidecar's listeners may take.
struct SidecarTimeouts {
  core::Seconds handshake{10};  // TCP accept to the end of the TLS handshake (inbound)
  core::Seconds header{10};     // first byte of a request to the end of its head
  core::Seconds idle{60};       // between requests on a keep-alive connection, and body pauses
  core::Seconds drain{15};      // on SIGTERM, for requests in flight to finish

  bool operator==(const SidecarTimeouts&) const = default;
};

// `services.<name>.sidecar`: unset addresses are picked among free loopback ports by `up`.
struct SidecarConfig {
  std::optional<HostPort> inbound;
  std::optional<HostPort> outbound;
  std::optional<HostPort> admin;
  std::uint32_t workers = 0;  // 0: one per core
  SidecarTimeouts timeouts;
  // Tolerated clock difference when verifying a transaction token's exp, nbf and iat.
  core::Seconds token_skew{60};
};

// `services.<name>.identity`: SVID files kept fresh by another SPIFFE provider.
struct IdentityFiles {
  std::string svid;
  std::string key;
  std::string bundle;
};

// `services.<name>`.
struct ServiceConfig {
  std::string name;
  std::optional<std::vector<std::string>> command;  // unset: started by someone else
  // Where the service listens: a TCP port on 127.0.0.1, or (exactly one of the two) the path of
  // a Unix stream socket; the other is 0 / empty.
  std::uint16_t port = 0;
  std::string socket;
  std::vector<CallConfig> calls;
  std::vector<AllowRule> allow;
  SandboxConfig sandbox;
  SidecarConfig sidecar;
  std::optional<IdentityFiles> identity;  // unset: SVIDs from the bulwark authority
  // OAuth scopes the authority may grant the service's workload in client_credentials access
  // tokens; empty: none (docs/tokens.md#client-credentials).
  std::vector<std::string> scopes;
};

struct MeshConfig {
  std::string file_name;  // as given to the parser, for messages of later stages
  std::string trust_domain;
  AuthorityConfig authority;
  std::optional<GatewayConfig> gateway;  // unset: no public entry point
  std::vector<ServiceConfig> services;   // in the order of the file

  // Returns the service called `name`, or nullptr.
  const ServiceConfig* FindService(std::string_view name) const;
};

// Parses and validates mesh.yaml text. `file_name` is used in messages only. Returns the first
// error found, as "<file>:<line>:<column>: <field.path>: <message>" (1-based positions), in an
// InvalidArgument status. Never throws.
absl::StatusOr<MeshConfig> ParseMeshConfig(std::string_view yaml_text, std::string_view file_name);
// Reads `path` (at most 1 MiB) and parses it with ParseMeshConfig; messages name `path`.
absl::StatusOr<MeshConfig> LoadMeshConfig(const std::string& path);

// Returns the mesh.yaml spelling of `method` ("api_key").
std::string_view AuthMethodName(AuthMethod method);

}  // namespace bulwark::mesh
