#include "mesh/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "core/files.h"
#include "tests/support/temp_dir.h"

namespace bulwark::mesh {
namespace {

std::string Message(const absl::Status& status) {
  return std::string(status.message().data(), status.message().size());
}

std::string ExamplePath() { return std::string(BULWARK_SOURCE_DIR) + "/examples/mesh.yaml"; }

TEST(MeshConfigTest, ExampleFileParsesIntoExpectedValues) {
  absl::StatusOr<MeshConfig> config = LoadMeshConfig(ExamplePath());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->file_name, ExamplePath());
  EXPECT_EQ(config->trust_domain, "dvd.example");
  EXPECT_EQ(config->authority.listen, (HostPort{"127.0.0.1", 7443}));
  EXPECT_EQ(config->authority.data_dir, ".bulwark/authority");
  EXPECT_EQ(config->authority.svid_ttl, core::Seconds(3600));

  ASSERT_TRUE(config->gateway.has_value());
  const GatewayConfig& gateway = *config->gateway;
  EXPECT_EQ(gateway.listen.ToString(), "127.0.0.1:8443");
  ASSERT_TRUE(gateway.tls.has_value());
  EXPECT_EQ(gateway.tls->cert, "certs/gateway.pem");
  EXPECT_EQ(gateway.tls->key, "certs/gateway-key.pem");
  ASSERT_EQ(gateway.issuers.size(), 2u);
  EXPECT_EQ(gateway.issuers[0].name, "local");
  EXPECT_TRUE(gateway.issuers[0].IsSelf());
  EXPECT_EQ(gateway.issuers[0].algorithms, std::vector<std::string>{"ES256"});
  EXPECT_EQ(gateway.issuers[1].name, "partner");
  EXPECT_EQ(gateway.issuers[1].issuer, "https://issuer.test");
  EXPECT_EQ(gateway.issuers[1].jwks, "file:keys/partner-jwks.json");
  EXPECT_FALSE(gateway.issuers[1].discovery.has_value());
  EXPECT_EQ(gateway.issuers[1].audiences, std::vector<std::string>{"api://dvd"});
  EXPECT_EQ(gateway.issuers[1].algorithms, (std::vector<std::string>{"ES256", "EdDSA"}));

  ASSERT_EQ(gateway.routes.size(), 1u);
  const RouteConfig& route = gateway.routes[0];
  EXPECT_EQ(route.match, RouteMatch::kPrefix);
  EXPECT_EQ(route.pattern, "/api/rentals");
  EXPECT_EQ(route.service, "contract");
  EXPECT_EQ(route.auth, (std::vector<AuthMethod>{AuthMethod::kSession, AuthMethod::kBearer}));
  EXPECT_EQ(route.methods, (std::vector<std::string>{"GET", "POST"}));
  EXPECT_EQ(route.max_body, 64u * 1024);
  ASSERT_TRUE(route.rate_limit.has_value());
  EXPECT_EQ(route.rate_limit->per_principal, (Rate{20, core::Seconds(1)}));
  EXPECT_FALSE(route.rate_limit->per_address.has_value());
  EXPECT_EQ(route.rate_limit->burst, 40u);
  EXPECT_FALSE(route.strip_prefix.has_value());

  ASSERT_EQ(config->services.size(), 4u);
  const ServiceConfig& contract = config->services[0];
  EXPECT_EQ(contract.name, "contract");
  EXPECT_EQ(contract.command,
            (std::vector<std::string>{"python3", "examples/dvd-rental/contract.py"}));
  EXPECT_EQ(contract.port, 9001);
  ASSERT_EQ(contract.calls.size(), 3u);
  EXPECT_EQ(contract.calls[0].service, "user");
  EXPECT_FALSE(contract.calls[0].listen.has_value());
  EXPECT_EQ(contract.calls[1].service, "dvd");
  EXPECT_EQ(contract.calls[2].service, "queue");
  EXPECT_EQ(contract.calls[2].listen, (HostPort{"127.0.0.1", 15010}));
  ASSERT_EQ(contract.allow.size(), 1u);
  EXPECT_EQ(contract.allow[0].from, std::vector<std::string>{"gateway"});
  EXPECT_EQ(contract.allow[0].methods, (std::vector<std::string>{"GET", "POST"}));
  EXPECT_EQ(contract.allow[0].paths, (std::vector<std::string>{"/rentals", "/rentals/{id}"}));
  EXPECT_FALSE(contract.allow[0].when.has_value());
  EXPECT_EQ(contract.sandbox.memory, 128u << 20);
  EXPECT_EQ(contract.sandbox.nofile, 256u);
  EXPECT_EQ(contract.sandbox.nproc, 32u);
  EXPECT_EQ(contract.sidecar.inbound, (HostPort{"127.0.0.1", 15001}));
  EXPECT_EQ(contract.sidecar.outbound, (HostPort{"127.0.0.1", 15002}));
  EXPECT_EQ(contract.sidecar.admin, (HostPort{"127.0.0.1", 15003}));
  EXPECT_EQ(contract.sidecar.workers, 2u);
  EXPECT_FALSE(contract.identity.has_value());

  const ServiceConfig* user = config->FindService("user");
  ASSERT_NE(user, nullptr);
  EXPECT_EQ(user->port, 9002);
  EXPECT_TRUE(user->calls.empty());
  ASSERT_EQ(user->allow.size(), 1u);
  EXPECT_EQ(user->allow[0].from, std::vector<std::string>{"contract"});
  EXPECT_EQ(user->allow[0].paths, std::vector<std::string>{"/users/{id}/charge"});
  ASSERT_TRUE(user->allow[0].when.has_value());
  EXPECT_EQ(user->allow[0].when->text,
            R"(token.sub == path.id && "rentals:charge" in token.scope)");
  EXPECT_EQ(user->allow[0].when->position, (SourcePosition{54, 15}));
  EXPECT_EQ(user->sandbox.memory, 256u << 20);  // defaults
  EXPECT_FALSE(user->sidecar.inbound.has_value());
  EXPECT_EQ(user->sidecar.workers, 0u);  // one per core
  EXPECT_EQ(config->FindService("nobody"), nullptr);
}

TEST(MeshConfigTest, MinimalFileGetsDefaults) {
  absl::StatusOr<MeshConfig> config = ParseMeshConfig("trust_domain: td\n", "mesh.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->authority.listen.ToString(), "127.0.0.1:7443");
  EXPECT_EQ(config->authority.data_dir, ".bulwark/authority");
  EXPECT_EQ(config->authority.svid_ttl, core::Seconds(3600));
  EXPECT_FALSE(config->authority.issuer.has_value());
  EXPECT_FALSE(config->gateway.has_value());
  EXPECT_TRUE(config->services.empty());
}

TEST(MeshConfigTest, AuthorityIssuerIsAnHttpsUrl) {
  absl::StatusOr<MeshConfig> config = ParseMeshConfig(
      "trust_domain: td\nauthority:\n  issuer: https://auth.td.example/mesh\n", "mesh.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->authority.issuer, "https://auth.td.example/mesh");
}

TEST(MeshConfigTest, ReadsRouteRewriteAndValidationFields) {
  absl::StatusOr<MeshConfig> config = ParseMeshConfig(R"(trust_domain: td
gateway:
  routes:
    - { prefix: /api/rentals, service: b, auth: [none], strip_prefix: /api,
        content_types: [Application/JSON, application/merge-patch+json] }
    - { path: "/v1/films/{id}", service: b, auth: [none], strip_prefix: /v1, schema: f.json }
    - { prefix: /static/, service: b, auth: [none], strip_prefix: /static }
services:
  b:
    port: 9002
)",
                                                      "mesh.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  const std::vector<RouteConfig>& routes = config->gateway->routes;
  EXPECT_EQ(routes[0].strip_prefix, "/api");
  EXPECT_EQ(routes[0].content_types,
            (std::vector<std::string>{"application/json", "application/merge-patch+json"}));
  EXPECT_FALSE(routes[0].schema.has_value());
  EXPECT_EQ(routes[1].strip_prefix, "/v1");
  EXPECT_EQ(routes[1].schema, "f.json");
  EXPECT_EQ(routes[1].content_types, std::vector<std::string>{"application/json"});
  EXPECT_EQ(routes[2].strip_prefix, "/static");
  EXPECT_TRUE(routes[2].content_types.empty());
}

TEST(MeshConfigTest, AcceptsAlternativeForms) {
  const char* yaml = R"(trust_domain: td
gateway:
  listen: "[::1]:8443"
  issuers:
    - { name: p, issuer: "https://p.test", discovery: "https://p.test/.well-known/openid-configuration", ca: test-ca.pem, audiences: [a] }
  routes:
    - { path: "/api/x/{id}", service: b, auth: [none], rate_limit: { per_address: 600/m } }
services:
  a:
    port: 9001
    identity: { svid: id/svid.pem, key: id/key.pem, bundle: id/bundle.pem }
  b:
    port: 9002
    allow:
      - from: [a, gateway]
)";
  absl::StatusOr<MeshConfig> config = ParseMeshConfig(yaml, "mesh.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->gateway->listen.host, "::1");
  EXPECT_EQ(config->gateway->listen.ToString(), "[::1]:8443");
  EXPECT_EQ(config->gateway->issuers[0].discovery,
            "https://p.test/.well-known/openid-configuration");
  EXPECT_EQ(config->gateway->issuers[0].ca, "test-ca.pem");
  EXPECT_EQ(config->gateway->routes[0].match, RouteMatch::kPath);
  EXPECT_EQ(config->gateway->routes[0].pattern, "/api/x/{id}");
  EXPECT_EQ(config->gateway->routes[0].max_body, 1u << 20);
  EXPECT_DOUBLE_EQ(config->gateway->routes[0].rate_limit->per_address->PerSecond(), 10.0);
  EXPECT_EQ(config->services[0].identity->bundle, "id/bundle.pem");
  EXPECT_FALSE(config->services[0].command.has_value());
  EXPECT_EQ(config->services[1].allow[0].from, (std::vector<std::string>{"a", "gateway"}));
}

TEST(MeshConfigTest, FromTakesSpiffeIdsAndPatternsAndPathsKeepTheirPositions) {
  const char* yaml = R"(trust_domain: td
services:
  b:
    port: 9002
    allow:
      - from: [gateway, spiffe://other.example/svc/x, spiffe://td/admin/*, spiffe://td/**]
        paths:
          - /a/{id}
          - "/b/**"
)";
  absl::StatusOr<MeshConfig> config = ParseMeshConfig(yaml, "mesh.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  const AllowRule& rule = config->services[0].allow[0];
  EXPECT_EQ(rule.from, (std::vector<std::string>{"gateway", "spiffe://other.example/svc/x",
                                                 "spiffe://td/admin/*", "spiffe://td/**"}));
  EXPECT_EQ(rule.position, (SourcePosition{6, 9}));
  EXPECT_EQ(rule.path_positions, (std::vector<SourcePosition>{{8, 13}, {9, 13}}));
}

TEST(MeshConfigTest, SidecarTimeouts) {
  absl::StatusOr<MeshConfig> config = ParseMeshConfig(
      "trust_domain: td\nservices:\n  a:\n    port: 1\n"
      "    sidecar: { timeouts: { header: 2s, drain: 1m } }\n  b:\n    port: 2\n",
      "mesh.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  const SidecarTimeouts& a = config->FindService("a")->sidecar.timeouts;
  EXPECT_EQ(a.header, core::Seconds(2));
  EXPECT_EQ(a.drain, core::Seconds(60));
  EXPECT_EQ(a.handshake, core::Seconds(10));  // defaults
  EXPECT_EQ(a.idle, core::Seconds(60));
  EXPECT_EQ(config->FindService("b")->sidecar.timeouts, SidecarTimeouts{});
}

TEST(MeshConfigTest, SidecarTokenSkew) {
  absl::StatusOr<MeshConfig> config = ParseMeshConfig(
      "trust_domain: td\nservices:\n  a:\n    port: 1\n"
      "    sidecar: { token_skew: 5s }\n  b:\n    port: 2\n",
      "mesh.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->FindService("a")->sidecar.token_skew, core::Seconds(5));
  EXPECT_EQ(config->FindService("b")->sidecar.token_skew, core::Seconds(60));  // the default
}

TEST(MeshConfigTest, ServiceOnAUnixSocket) {
  absl::StatusOr<MeshConfig> config = ParseMeshConfig(
      "trust_domain: td\nservices:\n  a:\n    socket: /run/bulwark/a.sock\n  b:\n    port: 2\n",
      "mesh.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->FindService("a")->socket, "/run/bulwark/a.sock");
  EXPECT_EQ(config->FindService("a")->port, 0) << "exactly one of the two is set";
  EXPECT_EQ(config->FindService("b")->socket, "");
  EXPECT_EQ(config->FindService("b")->port, 2);
}

TEST(MeshConfigTest, ServiceScopes) {
  absl::StatusOr<MeshConfig> config = ParseMeshConfig(
      "trust_domain: td\nservices:\n  a:\n    port: 1\n"
      "    scopes: [orders:read, \"orders:write\"]\n  b:\n    port: 2\n",
      "mesh.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_THAT(config->FindService("a")->scopes,
              ::testing::ElementsAre("orders:read", "orders:write"));
  EXPECT_TRUE(config->FindService("b")->scopes.empty()) << "no list: no scope may be granted";
}

TEST(MeshConfigTest, TrustedProxiesAreParsedAsCidrRanges) {
  absl::StatusOr<MeshConfig> config = ParseMeshConfig(
      "trust_domain: td\ngateway:\n  trusted_proxies: [10.0.0.0/8, \"::1\", 192.0.2.7]\n",
      "mesh.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  const std::vector<Cidr>& proxies = config->gateway->trusted_proxies;
  ASSERT_EQ(proxies.size(), 3u);
  EXPECT_EQ(proxies[0].text, "10.0.0.0/8");
  EXPECT_TRUE(proxies[0].Contains(*ParseIp("10.9.8.7")));
  EXPECT_TRUE(proxies[1].Contains(*ParseIp("::1")));
  EXPECT_FALSE(proxies[2].Contains(*ParseIp("192.0.2.8")));
}

TEST(MeshConfigTest, SessionAndPublicUrl) {
  absl::StatusOr<MeshConfig> config = ParseMeshConfig(
      "trust_domain: td\ngateway:\n  listen: 127.0.0.1:9443\n  session:\n"
      "    client_secret_file: s/secret\n    key_file: s/key\n    lifetime: 2h\n"
      "    recheck: 5s\n    scopes: [openid, email]\n",
      "mesh.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  const GatewayConfig& gateway = *config->gateway;
  ASSERT_TRUE(gateway.session.has_value());
  EXPECT_EQ(gateway.session->client_id, "gateway");
  EXPECT_EQ(gateway.session->client_secret_file, "s/secret");
  EXPECT_EQ(gateway.session->key_file, "s/key");
  EXPECT_EQ(gateway.session->lifetime, core::Seconds(7200));
  EXPECT_EQ(gateway.session->recheck, core::Seconds(5));
  EXPECT_EQ(gateway.session->scopes, (std::vector<std::string>{"openid", "email"}));
  EXPECT_EQ(gateway.PublicUrl(), "https://127.0.0.1:9443");

  absl::StatusOr<MeshConfig> with_url = ParseMeshConfig(
      "trust_domain: td\ngateway:\n  public_url: https://shop.example\n", "mesh.yaml");
  ASSERT_TRUE(with_url.ok()) << with_url.status();
  EXPECT_EQ(with_url->gateway->PublicUrl(), "https://shop.example");
  EXPECT_FALSE(with_url->gateway->session.has_value());
}

struct ErrorCase {
  const char* name;
  const char* yaml;
  const char* error;
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

class MeshConfigErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(MeshConfigErrorTest, ReportsFileLineColumnPathAndMessage) {
  absl::StatusOr<MeshConfig> config = ParseMeshConfig(GetParam().yaml, "mesh.yaml");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(config.status()), GetParam().error);
}

// 107 characters: with a leading '/', one more than a Unix socket path may have.
#define X107                                                                                       \
  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
  "xxxxxxxxxxxxx"

// The services used by most cases: "user" on 9001 and "contract" on 9002.
#define SERVICES "services:\n  user:\n    port: 9001\n  contract:\n    port: 9002\n"

const ErrorCase kErrorCases[] = {
    {"SessionRouteWithoutSession",
     "trust_domain: td\ngateway:\n  routes:\n    - { prefix: /, service: user, auth: [session] "
     "}\n" SERVICES,
     "mesh.yaml:3:3: gateway: routes[0] has auth 'session' but gateway.session is not set (the "
     "gateway's OpenID Connect client: client_secret_file, ...; see "
     "docs/gateway.md#browser-sessions)"},
    {"SessionWithoutSecretFile", "trust_domain: td\ngateway:\n  session: { key_file: k }\n",
     "mesh.yaml:3:12: gateway.session.client_secret_file: required field is missing"},
    {"SessionScopesWithoutOpenid",
     "trust_domain: td\ngateway:\n  session: { client_secret_file: s, scopes: [email] }\n",
     "mesh.yaml:3:45: gateway.session.scopes: must include openid"},
    {"PublicUrlWithPath", "trust_domain: td\ngateway:\n  public_url: https://shop.example/app\n",
     "mesh.yaml:3:15: gateway.public_url: must be https://host[:port] with no path, query or "
     "userinfo (where browsers reach the gateway)"},
    {"TrustedProxyNotACidr", "trust_domain: td\ngateway:\n  trusted_proxies: [10.0.0.1/8]\n",
     "mesh.yaml:3:21: gateway.trusted_proxies[0]: '10.0.0.1/8' has host bits set after the prefix "
     "length"},
    {"SidecarTimeoutTooLong",
     "trust_domain: td\nservices:\n  a:\n    port: 1\n    sidecar: { timeouts: { idle: 2h } }\n",
     "mesh.yaml:5:34: services.a.sidecar.timeouts.idle: must be at most 1h"},
    {"SidecarTokenSkewTooLong",
     "trust_domain: td\nservices:\n  a:\n    port: 1\n    sidecar: { token_skew: 10m }\n",
     "mesh.yaml:5:28: services.a.sidecar.token_skew: must be at most 5m"},
    {"SidecarTimeoutUnknown",
     "trust_domain: td\nservices:\n  a:\n    port: 1\n    sidecar: { timeouts: { heder: 2s } }\n",
     "mesh.yaml:5:28: services.a.sidecar.timeouts.heder: unknown key 'heder' (did you mean "
     "'header'?)"},
    {"ScopeWithASpace",
     "trust_domain: td\nservices:\n  a:\n    port: 1\n    scopes: [read, \"a b\"]\n",
     "mesh.yaml:5:20: services.a.scopes[1]: 'a b' is not one OAuth scope (printable ASCII "
     "without spaces, '\"' or '\\')"},
    {"ScopeRepeated", "trust_domain: td\nservices:\n  a:\n    port: 1\n    scopes: [x, x]\n",
     "mesh.yaml:5:17: services.a.scopes[1]: 'x' is listed twice"},
    {"ScopesNotAList", "trust_domain: td\nservices:\n  a:\n    port: 1\n    scopes: read\n",
     "mesh.yaml:5:13: services.a.scopes: expected a list, got 'read'"},
    {"UnknownTopLevelKeyWithHint", "trust_domian: td\n",
     "mesh.yaml:1:1: trust_domian: unknown key 'trust_domian' (did you mean 'trust_domain'?)"},
    {"UnknownNestedKeyWithHint", "trust_domain: td\nauthority:\n  lisen: 127.0.0.1:1\n",
     "mesh.yaml:3:3: authority.lisen: unknown key 'lisen' (did you mean 'listen'?)"},
    {"UnknownKeyWithoutHint", "trust_domain: td\nauthority:\n  colour: blue\n",
     "mesh.yaml:3:3: authority.colour: unknown key 'colour'"},
    {"DuplicateKey", "trust_domain: td\nauthority:\n  data_dir: a\n  data_dir: b\n",
     "mesh.yaml:4:3: authority.data_dir: key 'data_dir' is repeated (first at line 3)"},
    {"MissingTrustDomain", SERVICES, "mesh.yaml:1:1: trust_domain: required field is missing"},
    {"BadTrustDomain", "trust_domain: Dvd.Example\n",
     "mesh.yaml:1:15: trust_domain: trust domain 'Dvd.Example' must be at most 255 lowercase "
     "letters, digits, '.', '-' and '_'"},
    {"TrustDomainWithScheme", "trust_domain: spiffe://dvd.example\n",
     "mesh.yaml:1:15: trust_domain: write the trust domain without 'spiffe://' (as in "
     "'dvd.example')"},
    {"WrongTypeMapping", "trust_domain: td\nauthority: [a, b]\n",
     "mesh.yaml:2:12: authority: expected a mapping, got a list"},
    {"WrongTypeString", "trust_domain: {a: b}\n",
     "mesh.yaml:1:15: trust_domain: expected a string, got a mapping"},
    {"EmptyValue", "trust_domain: td\nauthority:\n  data_dir:\n",
     "mesh.yaml:3:3: authority.data_dir: expected a string, got an empty value"},
    {"QuotedPort", "trust_domain: td\nservices:\n  user:\n    port: \"9001\"\n",
     "mesh.yaml:4:11: services.user.port: expected an integer, got '9001'"},
    {"PortOutOfRange", "trust_domain: td\nservices:\n  user:\n    port: 70000\n",
     "mesh.yaml:4:11: services.user.port: must be between 1 and 65535, got 70000"},
    {"MissingPort", "trust_domain: td\nservices:\n  user:\n    command: [x]\n",
     "mesh.yaml:4:5: services.user.port: required field is missing (the service's TCP port on "
     "127.0.0.1; or set socket: the path of its Unix socket)"},
    {"PortAndSocket",
     "trust_domain: td\nservices:\n  user:\n    port: 9001\n    socket: /run/user.sock\n",
     "mesh.yaml:5:13: services.user.socket: set either port (TCP on 127.0.0.1) or socket (a Unix "
     "socket), not both"},
    {"RelativeSocket", "trust_domain: td\nservices:\n  user:\n    socket: run/user.sock\n",
     "mesh.yaml:4:13: services.user.socket: 'run/user.sock' must be an absolute path (as in "
     "/run/app.sock)"},
    {"SocketPathTooLong", "trust_domain: td\nservices:\n  user:\n    socket: /" X107 "\n",
     "mesh.yaml:4:13: services.user.socket: '/" X107
     "' is 108 bytes long; a Unix socket path has at most 107"},
    {"SocketUsedTwice",
     "trust_domain: td\nservices:\n  a:\n    socket: /run/x.sock\n  b:\n    socket: /run/x.sock\n",
     "mesh.yaml:6:13: services.b.socket: socket /run/x.sock is already used by services.a.socket"},
    {"BadDuration", "trust_domain: td\nauthority:\n  svid_ttl: 1 hour\n",
     "mesh.yaml:3:13: authority.svid_ttl: duration '1 hour' needs a unit: s, m, h or d (as in "
     "30s, 10m, 1h)"},
    {"IssuerNotHttps", "trust_domain: td\nauthority:\n  issuer: http://a.example\n",
     "mesh.yaml:3:11: authority.issuer: 'http://a.example' must be an https:// URL"},
    {"IssuerWithTrailingSlash", "trust_domain: td\nauthority:\n  issuer: https://a.example/\n",
     "mesh.yaml:3:11: authority.issuer: 'https://a.example/' must have no query, fragment or "
     "trailing '/' (RFC 8414 §2)"},
    {"DurationOutOfRange", "trust_domain: td\nauthority:\n  svid_ttl: 10s\n",
     "mesh.yaml:3:13: authority.svid_ttl: must be between 1m and 30d (SVIDs are short-lived and "
     "renewed)"},
    {"BadSize",
     "trust_domain: td\nservices:\n  user:\n    port: 1\n    sandbox: { memory: 128MB }\n",
     "mesh.yaml:5:24: services.user.sandbox.memory: size '128MB' needs a unit: B, KiB, MiB or GiB "
     "(as in 64KiB)"},
    {"BadRate",
     "trust_domain: td\ngateway:\n  routes:\n    - prefix: /\n      service: user\n"
     "      auth: [none]\n      rate_limit: { per_principal: 20/sec }\n" SERVICES,
     "mesh.yaml:7:36: gateway.routes[0].rate_limit.per_principal: rate '20/sec' needs a unit "
     "after '/': s, m or h (as in 20/s)"},
    {"BadListenAddress", "trust_domain: td\nauthority:\n  listen: 127.0.0.1\n",
     "mesh.yaml:3:11: authority.listen: address '127.0.0.1' must be host:port (as in "
     "127.0.0.1:8443)"},
    {"DanglingAllowFrom",
     "trust_domain: td\nservices:\n  user:\n    port: 9001\n    allow:\n      - from: usr\n",
     "mesh.yaml:6:15: services.user.allow[0].from: unknown service 'usr' (did you mean "
     "'user'?)"},
    {"DanglingAllowFromList",
     "trust_domain: td\nservices:\n  user:\n    port: 9001\n    allow:\n"
     "      - from: [user, gatewya]\n",
     "mesh.yaml:6:22: services.user.allow[0].from[1]: unknown service 'gatewya' (did you mean "
     "'gateway'?)"},
    {"MalformedSpiffePatternInFrom",
     "trust_domain: td\nservices:\n  user:\n    port: 9001\n    allow:\n"
     "      - from: spiffe://td/svc/a*\n",
     "mesh.yaml:6:15: services.user.allow[0].from: 'spiffe://td/svc/a*': '*' may only be a whole "
     "last segment, /* (one segment) or /** (any)"},
    {"InvalidSpiffeIdInFrom",
     "trust_domain: td\nservices:\n  user:\n    port: 9001\n    allow:\n"
     "      - from: [gateway, spiffe://td/svc/]\n",
     "mesh.yaml:6:25: services.user.allow[0].from[1]: SPIFFE ID path '/svc/' has an empty segment "
     "or a trailing slash"},
    {"DanglingCall", "trust_domain: td\nservices:\n  user:\n    port: 9001\n    calls: [billing]\n",
     "mesh.yaml:5:13: services.user.calls[0]: unknown service 'billing'"},
    {"DanglingRoute",
     "trust_domain: td\ngateway:\n  routes:\n    - prefix: /\n      service: contrat\n"
     "      auth: [none]\n" SERVICES,
     "mesh.yaml:5:16: gateway.routes[0].service: unknown service 'contrat' (did you mean "
     "'contract'?)"},
    {"ClashingServicePorts",
     "trust_domain: td\nservices:\n  user:\n    port: 9001\n  contract:\n    port: 9001\n",
     "mesh.yaml:6:11: services.contract.port: port 9001 is already used by services.user.port"},
    {"ClashingListenAddresses",
     "trust_domain: td\ngateway:\n  listen: 127.0.0.1:15001\n" SERVICES
     "    sidecar: { inbound: 'localhost:15001' }\n",
     "mesh.yaml:9:25: services.contract.sidecar.inbound: address localhost:15001 is already "
     "used by gateway.listen"},
    {"ClashWithDefaultAuthorityListen", "trust_domain: td\ngateway:\n  listen: 0.0.0.0:7443\n",
     "mesh.yaml:3:11: gateway.listen: address 0.0.0.0:7443 is already used by authority.listen"},
    {"RouteWithPrefixAndPath",
     "trust_domain: td\ngateway:\n  routes:\n    - prefix: /a\n      path: /a/b\n"
     "      service: user\n      auth: [none]\n" SERVICES,
     "mesh.yaml:5:13: gateway.routes[0].path: give either prefix or path, not both"},
    {"RouteWithoutMatch",
     "trust_domain: td\ngateway:\n  routes:\n    - service: user\n      auth: [none]\n" SERVICES,
     "mesh.yaml:4:7: gateway.routes[0]: a route needs prefix or path"},
    {"StripPrefixNotLeading",
     "trust_domain: td\ngateway:\n  routes:\n    - { prefix: /api/rentals, service: user, "
     "auth: [none], strip_prefix: /ap }\n" SERVICES,
     "mesh.yaml:4:74: gateway.routes[0].strip_prefix: '/ap' is not a leading part of the "
     "route's prefix '/api/rentals' made of whole segments"},
    {"StripPrefixWithDotSegment",
     "trust_domain: td\ngateway:\n  routes:\n    - { prefix: /api, service: user, "
     "auth: [none], strip_prefix: /api/.. }\n" SERVICES,
     "mesh.yaml:4:66: gateway.routes[0].strip_prefix: '/api/..' must be a path of one or more "
     "whole segments, as in /api (no trailing '/', no '.', '..', '%', '{', '}' or '*')"},
    {"StripPrefixBoolean",
     "trust_domain: td\ngateway:\n  routes:\n    - { prefix: /api, service: user, "
     "auth: [none], strip_prefix: true }\n" SERVICES,
     "mesh.yaml:4:66: gateway.routes[0].strip_prefix: 'true' must be a path of one or more "
     "whole segments, as in /api (no trailing '/', no '.', '..', '%', '{', '}' or '*')"},
    {"StripPrefixIntoATemplateParameter",
     "trust_domain: td\ngateway:\n  routes:\n    - { path: \"/api/{id}\", service: user, "
     "auth: [none], strip_prefix: /api/x }\n" SERVICES,
     "mesh.yaml:4:71: gateway.routes[0].strip_prefix: '/api/x' is not a leading part of the "
     "route's path '/api/{id}' made of whole segments"},
    {"ContentTypeWithParameters",
     "trust_domain: td\ngateway:\n  routes:\n    - { prefix: /api, service: user, "
     "auth: [none], content_types: [application/json, 'text/plain; charset=utf-8'] }\n" SERVICES,
     "mesh.yaml:4:86: gateway.routes[0].content_types[1]: 'text/plain; charset=utf-8' must be a "
     "media type type/subtype without parameters, as in application/json"},
    {"SchemaWithNonJsonContentType",
     "trust_domain: td\ngateway:\n  routes:\n    - { prefix: /api, service: user, "
     "auth: [none], content_types: [text/plain], schema: s.json }\n" SERVICES,
     "mesh.yaml:4:67: gateway.routes[0].content_types: 'text/plain' is not JSON, but this "
     "route's schema validates JSON bodies (list only application/json or a +json type)"},
    {"UnknownAuthWithHint",
     "trust_domain: td\ngateway:\n  routes:\n    - prefix: /\n      service: user\n"
     "      auth: [session, apikey]\n" SERVICES,
     "mesh.yaml:6:23: gateway.routes[0].auth[1]: unknown authentication 'apikey' (did you mean "
     "'api_key'?); use none, session, bearer or api_key"},
    {"UnknownMethod",
     "trust_domain: td\nservices:\n  user:\n    port: 1\n    allow:\n"
     "      - { from: gateway, methods: [GET, PSOT] }\n",
     "mesh.yaml:6:41: services.user.allow[0].methods[1]: unknown HTTP method 'PSOT' (did you "
     "mean 'POST'?)"},
    {"ExternalIssuerWithoutAudiences",
     "trust_domain: td\ngateway:\n  issuers:\n    - name: p\n      issuer: https://p.test\n"
     "      jwks: https://p.test/jwks\n",
     "mesh.yaml:4:7: gateway.issuers[0]: an external issuer needs audiences (RFC 8725: always "
     "check aud)"},
    {"HttpJwks",
     "trust_domain: td\ngateway:\n  issuers:\n    - name: p\n      issuer: https://p.test\n"
     "      jwks: http://p.test/jwks\n      audiences: [a]\n",
     "mesh.yaml:6:13: gateway.issuers[0].jwks: 'http://p.test/jwks' must be file:<path> or an "
     "https:// URL"},
    {"HttpDiscovery",
     "trust_domain: td\ngateway:\n  issuers:\n    - name: p\n      issuer: https://p.test\n"
     "      discovery: http://p.test/.well-known/openid-configuration\n      audiences: [a]\n",
     "mesh.yaml:6:18: gateway.issuers[0].discovery: "
     "'http://p.test/.well-known/openid-configuration' must be an https:// URL"},
    {"IssuerNameWithColon",
     "trust_domain: td\ngateway:\n  issuers:\n    - name: \"p:x\"\n      issuer: self\n",
     "mesh.yaml:4:13: gateway.issuers[0].name: issuer name 'p:x' must be 1-63 letters, digits, "
     "'.', '_' and '-', starting with a letter or digit (it prefixes its users' sub as "
     "'<name>:<sub>', so no ':')"},
    {"ReservedIssuerName",
     "trust_domain: td\ngateway:\n  issuers:\n    - name: spiffe\n      issuer: self\n",
     "mesh.yaml:4:13: gateway.issuers[0].name: issuer name 'spiffe' is reserved"},
    {"CaWithFileJwks",
     "trust_domain: td\ngateway:\n  issuers:\n    - name: p\n      issuer: https://p.test\n"
     "      jwks: file:p.json\n      ca: ca.pem\n      audiences: [a]\n",
     "mesh.yaml:7:11: gateway.issuers[0].ca: is only used to fetch https:// keys; this issuer's "
     "jwks is a file"},
    {"ReservedServiceName", "trust_domain: td\nservices:\n  gateway:\n    port: 1\n",
     "mesh.yaml:3:3: services.gateway: 'gateway' is reserved for the gateway (as in allow.from: "
     "gateway)"},
    {"CommandAsString", "trust_domain: td\nservices:\n  user:\n    command: python3 app.py\n",
     "mesh.yaml:4:14: services.user.command: expected a list of strings (as in [python3, "
     "app.py]), got 'python3 app.py'"},
    {"InvalidYamlSyntax", "trust_domain: td\nservices: [a, b\nx: 1\n",
     "mesh.yaml:3:2: invalid YAML: end of sequence flow not found"},
    {"UnquotedTemplateInFlowList",
     "trust_domain: td\nservices:\n  user:\n    port: 1\n    allow:\n"
     "      - { from: gateway, paths: [/users/{id}] }\n",
     "mesh.yaml:6:41: invalid YAML: end of sequence flow not found (inside [ ], quote paths with "
     "templates: [\"/users/{id}\"])"},
    {"RootNotAMapping", "- a\n- b\n", "mesh.yaml:1:1: (document): expected a mapping, got a list"},
    {"EmptyFile", "# nothing\n",
     "mesh.yaml:1:1: (document): the file is empty; it needs at least trust_domain"},
    {"TwoDocuments", "trust_domain: a\n---\ntrust_domain: b\n",
     "mesh.yaml:2:1: (document): only one YAML document is allowed"},
    // yaml-cpp 0.7's LoadAll never returns on this input.
    {"StrayTopLevelComma", ",trust_domain: td\n", "mesh.yaml:1:1: invalid YAML: unexpected ','"},
    {"StrayCommaAfterList", "- a\n,\n", "mesh.yaml:2:1: invalid YAML: unexpected ','"},
};

INSTANTIATE_TEST_SUITE_P(MeshConfig, MeshConfigErrorTest, ::testing::ValuesIn(kErrorCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(MeshConfigTest, LoadReportsTheGivenPath) {
  testing::TempDir dir;
  const std::string path = dir.File("mesh.yaml");
  ASSERT_TRUE(core::WriteFileAtomic(path, "trust_domain: td\nfoo: 1\n", 0600).ok());
  absl::StatusOr<MeshConfig> config = LoadMeshConfig(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(Message(config.status()), path + ":2:1: foo: unknown key 'foo'");
}

TEST(MeshConfigTest, LoadFailsOnMissingFile) {
  EXPECT_FALSE(LoadMeshConfig("/nonexistent/mesh.yaml").ok());
}

TEST(MeshConfigTest, RejectsOversizedText) {
  const std::string text = "trust_domain: td\n" + std::string(1 << 20, '#');
  EXPECT_EQ(Message(ParseMeshConfig(text, "mesh.yaml").status()),
            "mesh.yaml:1:1: (document): the file is larger than 1 MiB");
}

TEST(MeshConfigTest, BoundsAliasExpansion) {
  // Each level multiplies the values to visit by 16; parsing must stop, not hang.
  std::string yaml = "x0: &a0 [GET]\n";
  for (int i = 1; i < 8; ++i) {
    yaml += "x" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 16; ++j) {
      yaml += (j ? ", *a" : "*a") + std::to_string(i - 1);
    }
    yaml += "]\n";
  }
  EXPECT_FALSE(ParseMeshConfig(yaml, "mesh.yaml").ok());
}

TEST(MeshConfigRateTest, ParsesAndFormatsRates) {
  EXPECT_EQ(*ParseRate("20/s"), (Rate{20, core::Seconds(1)}));
  EXPECT_EQ(*ParseRate("600/m"), (Rate{600, core::Seconds(60)}));
  EXPECT_DOUBLE_EQ(ParseRate("600/m")->PerSecond(), 10.0);
  EXPECT_DOUBLE_EQ(ParseRate("36/h")->PerSecond(), 0.01);
  EXPECT_EQ(FormatRate(*ParseRate("600/m")), "600/m");
  EXPECT_EQ(Message(ParseRate("20").status()),
            "rate '20' must be <count>/<unit> (as in 20/s or 600/m)");
  EXPECT_EQ(Message(ParseRate("x/s").status()),
            "rate 'x/s' must start with a whole number of requests");
  EXPECT_EQ(Message(ParseRate("0/s").status()),
            "rate '0/s' must count between 1 and 1000000000 requests");
  EXPECT_EQ(Message(ParseRate("99999999999999999999/s").status()),
            "rate '99999999999999999999/s' must start with a whole number of requests");
  EXPECT_EQ(Message(ParseRate("5/d").status()),
            "rate '5/d' needs a unit after '/': s, m or h (as in 20/s)");
}

TEST(MeshConfigHostPortTest, ParsesAddresses) {
  EXPECT_EQ(*ParseHostPort("127.0.0.1:7443"), (HostPort{"127.0.0.1", 7443}));
  EXPECT_EQ(*ParseHostPort("localhost:0"), (HostPort{"localhost", 0}));
  EXPECT_EQ(*ParseHostPort("[::1]:15001"), (HostPort{"::1", 15001}));
  EXPECT_TRUE(ParseHostPort("0.0.0.0:8443")->IsWildcard());
  EXPECT_EQ(Message(ParseHostPort(":80").status()), "address ':80' has an invalid host ''");
  EXPECT_EQ(Message(ParseHostPort("a:65536").status()),
            "address 'a:65536' has port 65536 outside 0-65535");
  EXPECT_EQ(Message(ParseHostPort("a:http").status()),
            "address 'a:http' needs a numeric port after ':' (as in 127.0.0.1:8443)");
  EXPECT_EQ(Message(ParseHostPort("::1:80").status()),
            "address '::1:80': write an IPv6 host in brackets (as in [::1]:8443)");
  EXPECT_EQ(Message(ParseHostPort("[zz]:80").status()),
            "address '[zz]:80' has an invalid IPv6 host 'zz'");
}

}  // namespace
}  // namespace bulwark::mesh
