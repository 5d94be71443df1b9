// Parser of the `gateway:` section of mesh.yaml: listener, TLS files, token issuers, routes.
#include <algorithm>

#include "core/status.h"
#include "fmt/format.h"
#include "http/media_type.h"
#include "mesh/internal/parse.h"

namespace bulwark::mesh::internal {
namespace {

const std::vector<std::string> kAlgorithms = {"ES256", "ES384", "ES512", "EdDSA", "RS256",
                                              "RS384", "RS512", "PS256", "PS384", "PS512"};

// Issuer names that would pass for another kind of principal in a transaction token's sub_iss
// or qualified sub: "api_key" (API-key clients), "spiffe" ("spiffe:" + sub could spell a
// workload's SPIFFE ID).
const std::vector<std::string> kReservedIssuerNames = {"api_key", "spiffe"};

// An issuer name becomes the prefix of its users' `sub` ("<name>:<sub>"), so it must not
// contain ':' (docs/tokens.md): 1-63 of a-z, A-Z, 0-9, '.', '_', '-', starting alphanumeric.
absl::Status CheckIssuerName(const Field& field, const std::string& name) {
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  bool ok = !name.empty() && name.size() <= 63 && alnum(name[0]) &&
            std::all_of(name.begin(), name.end(),
                        [&](char c) { return alnum(c) || c == '.' || c == '_' || c == '-'; });
  if (!ok) {
    return field.Error(fmt::format(
        "issuer name '{}' must be 1-63 letters, digits, '.', '_' and '-', starting with a letter "
        "or digit (it prefixes its users' sub as '<name>:<sub>', so no ':')",
        name));
  }
  if (std::find(kReservedIssuerNames.begin(), kReservedIssuerNames.end(), name) !=
      kReservedIssuerNames.end()) {
    return field.Error(fmt::format("issuer name '{}' is reserved", name));
  }
  return absl::OkStatus();
}

absl::StatusOr<TlsFiles> ParseTls(const Field& field) {
  BULWARK_ASSIGN_OR_RETURN(MapReader map, MapReader::Create(field, {"cert", "key"}));
  TlsFiles tls;
  BULWARK_ASSIGN_OR_RETURN(Field cert, map.Require("cert"));
  BULWARK_ASSIGN_OR_RETURN(tls.cert, cert.String());
  BULWARK_ASSIGN_OR_RETURN(Field key, map.Require("key"));
  BULWARK_ASSIGN_OR_RETURN(tls.key, key.String());
  return tls;
}

absl::Status ParseIssuerSource(const MapReader& map, IssuerConfig& issuer) {
  std::optional<Field> jwks = map.Get("jwks");
  std::optional<Field> discovery = map.Get("discovery");
  if (issuer.IsSelf()) {
    if (jwks || discovery) {
      const Field& f = jwks ? *jwks : *discovery;
      return f.Error("is not allowed with issuer 'self' (the authority publishes its own keys)");
    }
    if (std::optional<Field> ca = map.Get("ca")) {
      return ca->Error("is not allowed with issuer 'self' (its keys come from the authority)");
    }
    return absl::OkStatus();
  }
  if (jwks && discovery) {
    return discovery->Error("give either jwks or discovery, not both");
  }
  if (jwks) {
    BULWARK_ASSIGN_OR_RETURN(std::string value, jwks->String());
    if (!(value.starts_with("file:") && value.size() > 5) && !value.starts_with("https://")) {
      return jwks->Error(fmt::format("'{}' must be file:<path> or an https:// URL", value));
    }
    issuer.jwks = std::move(value);
  } else if (discovery) {
    BULWARK_ASSIGN_OR_RETURN(issuer.discovery, ReadHttpsUrl(*discovery));
  } else {
    return map.field().Error("an external issuer needs jwks or discovery");
  }
  if (std::optional<Field> ca = map.Get("ca")) {
    if (!discovery && issuer.jwks->starts_with("file:")) {
      return ca->Error("is only used to fetch https:// keys; this issuer's jwks is a file");
    }
    BULWARK_ASSIGN_OR_RETURN(std::string path, ca->String());
    issuer.ca = std::move(path);
  }
  return absl::OkStatus();
}

absl::StatusOr<IssuerConfig> ParseIssuer(const Field& field) {
  BULWARK_ASSIGN_OR_RETURN(MapReader map,
                           MapReader::Create(field, {"name", "issuer", "jwks", "discovery", "ca",
                                                     "audiences", "algorithms"}));
  IssuerConfig issuer;
  BULWARK_ASSIGN_OR_RETURN(Field name, map.Require("name"));
  BULWARK_ASSIGN_OR_RETURN(issuer.name, name.String());
  BULWARK_RETURN_IF_ERROR(CheckIssuerName(name, issuer.name));
  BULWARK_ASSIGN_OR_RETURN(Field iss, map.Require("issuer"));
  BULWARK_ASSIGN_OR_RETURN(issuer.issuer, iss.String());
  if (!issuer.IsSelf()) {
    BULWARK_ASSIGN_OR_RETURN(issuer.issuer, ReadHttpsUrl(iss));
  }
  BULWARK_RETURN_IF_ERROR(ParseIssuerSource(map, issuer));
  if (std::optional<Field> audiences = map.Get("audiences")) {
    BULWARK_ASSIGN_OR_RETURN(issuer.audiences, audiences->StringList());
  } else if (!issuer.IsSelf()) {
    return map.field().Error("an external issuer needs audiences (RFC 8725: always check aud)");
  }
  if (std::optional<Field> algorithms = map.Get("algorithms")) {
    BULWARK_ASSIGN_OR_RETURN(std::vector<Field> elements, algorithms->Elements());
    BULWARK_ASSIGN_OR_RETURN(issuer.algorithms, algorithms->StringList());
    for (std::size_t i = 0; i < elements.size(); ++i) {
      const std::string& alg = issuer.algorithms[i];
      if (std::find(kAlgorithms.begin(), kAlgorithms.end(), alg) == kAlgorithms.end()) {
        return elements[i].Error(
            fmt::format("unsupported algorithm '{}'{}", alg, DidYouMean(alg, kAlgorithms)));
      }
    }
  }
  return issuer;
}

absl::StatusOr<std::vector<AuthMethod>> ParseAuth(const Field& field) {
  static const std::vector<std::string> kNames = {"none", "session", "bearer", "api_key"};
  BULWARK_ASSIGN_OR_RETURN(std::vector<Field> elements, field.Elements());
  BULWARK_ASSIGN_OR_RETURN(std::vector<std::string> names, field.StringList());
  std::vector<AuthMethod> methods;
  for (std::size_t i = 0; i < names.size(); ++i) {
    auto it = std::find(kNames.begin(), kNames.end(), names[i]);
    if (it == kNames.end()) {
      return elements[i].Error(
          fmt::format("unknown authentication '{}'{}; use none, session, "
                      "bearer or api_key",
                      names[i], DidYouMean(names[i], kNames)));
    }
    methods.push_back(static_cast<AuthMethod>(it - kNames.begin()));
  }
  if (methods.size() > 1 &&
      std::find(methods.begin(), methods.end(), AuthMethod::kNone) != methods.end()) {
    return field.Error("'none' cannot be combined with other authentication methods");
  }
  return methods;
}

absl::StatusOr<RateLimitConfig> ParseRateLimit(const Field& field) {
  BULWARK_ASSIGN_OR_RETURN(MapReader map,
                           MapReader::Create(field, {"per_principal", "per_address", "burst"}));
  RateLimitConfig limit;
  for (auto [key, target] : {std::pair{"per_principal", &limit.per_principal},
                             std::pair{"per_address", &limit.per_address}}) {
    if (std::optional<Field> f = map.Get(key)) {
      BULWARK_ASSIGN_OR_RETURN(std::string text, f->String());
      auto rate = ParseRate(text);
      if (!rate.ok()) {
        return f->Error(std::string(rate.status().message()));
      }
      *target = *rate;
    }
  }
  if (!limit.per_principal && !limit.per_address) {
    return field.Error("give per_principal, per_address or both");
  }
  if (std::optional<Field> burst = map.Get("burst")) {
    BULWARK_ASSIGN_OR_RETURN(std::int64_t value, burst->Integer(1, 1'000'000'000));
    limit.burst = static_cast<std::uint32_t>(value);
  }
  return limit;
}

absl::Status ParseRouteMatch(const MapReader& map, RouteConfig& route) {
  std::optional<Field> prefix = map.Get("prefix");
  std::optional<Field> path = map.Get("path");
  if (prefix && path) {
    return path->Error("give either prefix or path, not both");
  }
  if (!prefix && !path) {
    return map.field().Error("a route needs prefix or path");
  }
  route.match = prefix ? RouteMatch::kPrefix : RouteMatch::kPath;
  const Field& f = prefix ? *prefix : *path;
  BULWARK_ASSIGN_OR_RETURN(route.pattern, f.String());
  if (route.pattern.front() != '/' || route.pattern.find_first_of(" \t?#") != std::string::npos) {
    return f.Error(
        fmt::format("'{}' must start with '/' and have no spaces, '?' or '#'", route.pattern));
  }
  return absl::OkStatus();
}

// Returns the parts of `path` between its '/'s ("/a/b" -> "", "a", "b").
std::vector<std::string_view> SplitOnSlash(std::string_view path) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    std::size_t slash = path.find('/', start);
    parts.push_back(path.substr(start, slash - start));
    if (slash == std::string_view::npos) {
      return parts;
    }
    start = slash + 1;
  }
}

// Reads `strip_prefix`: whole leading segments of the route's prefix or the literal leading
// segments of its template, so the rewrite can only remove what every matching path starts with.
absl::StatusOr<std::string> ReadStripPrefix(const Field& field, const RouteConfig& route) {
  BULWARK_ASSIGN_OR_RETURN(std::string strip, field.String());
  std::vector<std::string_view> segments = SplitOnSlash(strip);
  bool segments_ok =
      strip.front() == '/' && strip.size() > 1 &&
      std::all_of(segments.begin() + 1, segments.end(), [](std::string_view segment) {
        return !segment.empty() && segment != "." && segment != ".." &&
               segment.find_first_of("%{}*") == std::string_view::npos;
      });
  if (!segments_ok) {
    return field.Error(fmt::format(
        "'{}' must be a path of one or more whole segments, as in /api (no trailing '/', no "
        "'.', '..', '%', '{{', '}}' or '*')",
        strip));
  }
  std::vector<std::string_view> pattern = SplitOnSlash(route.pattern);
  bool leading = segments.size() <= pattern.size() &&
                 std::equal(segments.begin(), segments.end(), pattern.begin());
  if (!leading) {
    return field.Error(
        fmt::format("'{}' is not a leading part of the route's {} '{}' made of whole segments",
                    strip, route.match == RouteMatch::kPrefix ? "prefix" : "path", route.pattern));
  }
  return strip;
}

// Reads `content_types`: media types without parameters, stored lowercase.
absl::StatusOr<std::vector<std::string>> ReadContentTypes(const Field& field) {
  BULWARK_ASSIGN_OR_RETURN(std::vector<Field> elements, field.Elements());
  BULWARK_ASSIGN_OR_RETURN(std::vector<std::string> names, field.StringList());
  std::vector<std::string> types;
  for (std::size_t i = 0; i < names.size(); ++i) {
    absl::StatusOr<http::MediaType> media = http::ParseMediaType(names[i]);
    if (!media.ok() || !media->parameters.empty() || names[i].find(';') != std::string::npos) {
      return elements[i].Error(fmt::format(
          "'{}' must be a media type type/subtype without parameters, as in application/json",
          names[i]));
    }
    if (std::find(types.begin(), types.end(), media->Essence()) != types.end()) {
      return elements[i].Error(fmt::format("'{}' is listed twice", names[i]));
    }
    types.push_back(media->Essence());
  }
  return types;
}

// Reads the optional request-validation fields: strip_prefix, content_types, schema. A schema
// validates JSON, so a route with one accepts only JSON types.
absl::Status ParseRouteValidation(const MapReader& map, RouteConfig& route) {
  if (std::optional<Field> strip = map.Get("strip_prefix")) {
    BULWARK_ASSIGN_OR_RETURN(route.strip_prefix, ReadStripPrefix(*strip, route));
  }
  std::optional<Field> content_types = map.Get("content_types");
  if (content_types) {
    BULWARK_ASSIGN_OR_RETURN(route.content_types, ReadContentTypes(*content_types));
  }
  if (std::optional<Field> schema = map.Get("schema")) {
    BULWARK_ASSIGN_OR_RETURN(route.schema, schema->String());
    if (route.content_types.empty()) {
      route.content_types = {"application/json"};
    }
    for (const std::string& type : route.content_types) {
      absl::StatusOr<http::MediaType> media = http::ParseMediaType(type);
      if (media.ok() && !media->IsJson()) {
        return content_types->Error(fmt::format(
            "'{}' is not JSON, but this route's schema validates JSON bodies (list only "
            "application/json or a +json type)",
            type));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<RouteConfig> ParseRoute(const Field& field, const ParseState& state) {
  BULWARK_ASSIGN_OR_RETURN(
      MapReader map,
      MapReader::Create(field, {"prefix", "path", "service", "auth", "methods", "max_body",
                                "rate_limit", "strip_prefix", "content_types", "schema"}));
  RouteConfig route;
  BULWARK_RETURN_IF_ERROR(ParseRouteMatch(map, route));
  BULWARK_ASSIGN_OR_RETURN(Field service, map.Require("service"));
  BULWARK_ASSIGN_OR_RETURN(route.service, ReadServiceRef(service, state, false));
  BULWARK_ASSIGN_OR_RETURN(Field auth, map.Require("auth"));
  BULWARK_ASSIGN_OR_RETURN(route.auth, ParseAuth(auth));
  if (std::optional<Field> methods = map.Get("methods")) {
    BULWARK_ASSIGN_OR_RETURN(route.methods, ReadMethods(*methods));
  }
  if (std::optional<Field> max_body = map.Get("max_body")) {
    BULWARK_ASSIGN_OR_RETURN(route.max_body, max_body->Size());
  }
  if (std::optional<Field> rate_limit = map.Get("rate_limit")) {
    BULWARK_ASSIGN_OR_RETURN(route.rate_limit, ParseRateLimit(*rate_limit));
  }
  BULWARK_RETURN_IF_ERROR(ParseRouteValidation(map, route));
  return route;
}

// `public_url`: https://host[:port] with nothing after the authority.
absl::StatusOr<std::string> ParsePublicUrl(const Field& field) {
  BULWARK_ASSIGN_OR_RETURN(std::string url, field.String());
  constexpr std::string_view kScheme = "https://";
  std::string_view rest = std::string_view(url).substr(std::min(url.size(), kScheme.size()));
  if (!url.starts_with(kScheme) || rest.empty() ||
      rest.find_first_of("/?#@ \t") != std::string_view::npos) {
    return field.Error(
        "must be https://host[:port] with no path, query or userinfo (where browsers reach the "
        "gateway)");
  }
  return url;
}

absl::StatusOr<SessionConfig> ParseSession(const Field& field) {
  BULWARK_ASSIGN_OR_RETURN(MapReader map,
                           MapReader::Create(field, {"client_id", "client_secret_file", "key_file",
                                                     "lifetime", "recheck", "scopes"}));
  SessionConfig session;
  if (std::optional<Field> id = map.Get("client_id")) {
    BULWARK_ASSIGN_OR_RETURN(session.client_id, id->String());
  }
  BULWARK_ASSIGN_OR_RETURN(Field secret, map.Require("client_secret_file"));
  BULWARK_ASSIGN_OR_RETURN(session.client_secret_file, secret.String());
  if (std::optional<Field> key = map.Get("key_file")) {
    BULWARK_ASSIGN_OR_RETURN(session.key_file, key->String());
  }
  if (std::optional<Field> lifetime = map.Get("lifetime")) {
    BULWARK_ASSIGN_OR_RETURN(session.lifetime, lifetime->Duration());
    if (session.lifetime < core::Seconds(60)) {
      return lifetime->Error("must be at least 1m");
    }
  }
  if (std::optional<Field> recheck = map.Get("recheck")) {
    BULWARK_ASSIGN_OR_RETURN(session.recheck, recheck->Duration());
    if (session.recheck < core::Seconds(1) || session.recheck > session.lifetime) {
      return recheck->Error("must be at least 1s and at most the session's lifetime");
    }
  }
  if (std::optional<Field> scopes = map.Get("scopes")) {
    BULWARK_ASSIGN_OR_RETURN(session.scopes, scopes->StringList());
    if (std::find(session.scopes.begin(), session.scopes.end(), "openid") == session.scopes.end()) {
      return scopes->Error("must include openid");
    }
  }
  return session;
}

}  // namespace

absl::StatusOr<GatewayConfig> ParseGateway(const Field& field, ParseState& state) {
  BULWARK_ASSIGN_OR_RETURN(MapReader map,
                           MapReader::Create(field, {"listen", "tls", "issuers", "routes",
                                                     "trusted_proxies", "public_url", "session"}));
  GatewayConfig gateway;
  if (std::optional<Field> listen = map.Get("listen")) {
    BULWARK_ASSIGN_OR_RETURN(gateway.listen, ReadListen(*listen, state));
  } else {
    state.addresses.push_back({gateway.listen, false, field.path() + ".listen", field.mark()});
  }
  if (std::optional<Field> tls = map.Get("tls")) {
    BULWARK_ASSIGN_OR_RETURN(gateway.tls, ParseTls(*tls));
  }
  if (std::optional<Field> issuers = map.Get("issuers")) {
    BULWARK_ASSIGN_OR_RETURN(std::vector<Field> elements, issuers->Elements());
    for (const Field& element : elements) {
      BULWARK_ASSIGN_OR_RETURN(IssuerConfig issuer, ParseIssuer(element));
      for (const IssuerConfig& other : gateway.issuers) {
        if (other.name == issuer.name) {
          return element.Error(fmt::format("issuer name '{}' is used twice", issuer.name));
        }
      }
      gateway.issuers.push_back(std::move(issuer));
    }
  }
  if (std::optional<Field> routes = map.Get("routes")) {
    BULWARK_ASSIGN_OR_RETURN(std::vector<Field> elements, routes->Elements());
    for (const Field& element : elements) {
      BULWARK_ASSIGN_OR_RETURN(RouteConfig route, ParseRoute(element, state));
      for (const RouteConfig& other : gateway.routes) {
        if (other.match == route.match && other.pattern == route.pattern) {
          return element.Error(fmt::format("a route for '{}' is already defined", route.pattern));
        }
      }
      gateway.routes.push_back(std::move(route));
    }
  }
  if (std::optional<Field> proxies = map.Get("trusted_proxies")) {
    BULWARK_ASSIGN_OR_RETURN(std::vector<Field> elements, proxies->Elements());
    for (const Field& element : elements) {
      BULWARK_ASSIGN_OR_RETURN(std::string text, element.String());
      absl::StatusOr<Cidr> cidr = ParseCidr(text);
      if (!cidr.ok()) {
        return element.Error(std::string(cidr.status().message()));
      }
      gateway.trusted_proxies.push_back(*std::move(cidr));
    }
  }
  if (std::optional<Field> url = map.Get("public_url")) {
    BULWARK_ASSIGN_OR_RETURN(gateway.public_url, ParsePublicUrl(*url));
  }
  if (std::optional<Field> session = map.Get("session")) {
    BULWARK_ASSIGN_OR_RETURN(gateway.session, ParseSession(*session));
  }
  if (!gateway.session.has_value()) {
    for (std::size_t i = 0; i < gateway.routes.size(); ++i) {
      const std::vector<AuthMethod>& auth = gateway.routes[i].auth;
      if (std::find(auth.begin(), auth.end(), AuthMethod::kSession) != auth.end()) {
        return field.Error(fmt::format(
            "routes[{}] has auth 'session' but gateway.session is not set (the gateway's OpenID "
            "Connect client: client_secret_file, ...; see docs/gateway.md#browser-sessions)",
            i));
      }
    }
  }
  return gateway;
}

}  // namespace bulwark::mesh::internal
