// The gateway's pipeline as one coroutine per request over an immutable GatewayContext; each
// refusal is a JSON error, and every answer leaves through HardenResponse.
#include "proxy/gateway.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_join.h"
#include "asio/post.hpp"
#include "core/ascii.h"
#include "core/clock.h"
#include "core/status.h"
#include "fmt/format.h"
#include "http/client.h"
#include "identity/spiffe_id.h"
#include "nlohmann/json.hpp"
#include "policy/path.h"
#include "proxy/api_key_auth.h"
#include "proxy/gateway_headers.h"
#include "spdlog/spdlog.h"

// GCC 12 at -O2 reports -Wmismatched-new-delete for asio's coroutine frames when it inlines one
// awaited coroutine of this file into another (a false positive: the frame's operator new and
// delete are asio's matching pair; see session_rp.cc).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace bulwark::proxy {
namespace {

bool IsLoopback(const mesh::HostPort& address) {
  return address.host == "localhost" || address.host == "::1" || address.host.starts_with("127.");
}

// What one request has become on its way through the pipeline.
struct Exchange {
  int route = -1;
  std::size_t worker = 0;  // the event loop serving the connection (ConnectionInfo::worker)
  std::string client;      // the client's address
  std::string trace_id;    // of the traceparent forwarded
  http::Response response;
  std::vector<std::string> set_cookies;  // the session's, added to the response
};

std::string RouteLabel(const mesh::RouteConfig& route) {
  return route.match == mesh::RouteMatch::kPrefix ? route.pattern : "path:" + route.pattern;
}

std::vector<std::string> RouteLabels(const mesh::GatewayConfig& gateway) {
  std::vector<std::string> labels;
  for (const mesh::RouteConfig& route : gateway.routes) {
    labels.push_back(RouteLabel(route));
  }
  return labels;
}

bool MethodAllowed(const mesh::RouteConfig& route, std::string_view method) {
  return route.methods.empty() ||
         std::find(route.methods.begin(), route.methods.end(), method) != route.methods.end() ||
         (method == "HEAD" &&
          std::find(route.methods.begin(), route.methods.end(), "GET") != route.methods.end());
}

bool HasAuth(const mesh::RouteConfig& route, mesh::AuthMethod method) {
  return std::find(route.auth.begin(), route.auth.end(), method) != route.auth.end();
}

// Authenticates the request with the route's methods, in the order written; the first that
// admits it wins. `session` is the session cookie's check, made for routes with `session`.
// Returns the Subject, or the 401 to send (the reasons are logged).
absl::StatusOr<tokens::Subject> Authenticate(const GatewayContext& context,
                                             const http::Request& request,
                                             const mesh::RouteConfig& route,
                                             const SessionCheck* session) {
  std::vector<std::string> reasons;
  for (mesh::AuthMethod method : route.auth) {
    switch (method) {
      case mesh::AuthMethod::kNone:
        return tokens::Subject{"none", "anonymous", {}};
      case mesh::AuthMethod::kBearer: {
        if (!context.options.authenticate_bearer) {
          reasons.push_back("bearer: no bearer authenticator is configured");
          break;
        }
        absl::StatusOr<tokens::Subject> subject =
            context.options.authenticate_bearer(request, route);
        if (subject.ok()) {
          return subject;
        }
        reasons.push_back(fmt::format("bearer: {}", subject.status().message()));
        break;
      }
      case mesh::AuthMethod::kApiKey: {
        absl::StatusOr<tokens::Subject> subject =
            context.options.authenticate_api_key
                ? context.options.authenticate_api_key(request)
                : absl::UnauthenticatedError("no API key authenticator is configured");
        if (subject.ok()) {
          return subject;
        }
        reasons.push_back(fmt::format("api_key: {}", subject.status().message()));
        break;
      }
      case mesh::AuthMethod::kSession:
        if (session == nullptr) {
          reasons.push_back("session: gateway.session is not configured");
          break;
        }
        if (session->subject.ok()) {
          return session->subject;
        }
        reasons.push_back(fmt::format("session: {}", session->subject.status().message()));
        break;
    }
  }
  return absl::UnauthenticatedError(absl::StrJoin(reasons, "; "));
}

// The 401 of a route; for bearer routes with the RFC 6750 §3 challenge, whose error says that
// the presented token was refused (never why: that is logged).
http::Response Unauthorized(const mesh::RouteConfig& route, const http::Request& request) {
  http::Response response = JsonError(401, "unauthorized", "authentication is required");
  if (HasAuth(route, mesh::AuthMethod::kBearer)) {
    response.headers.Set("WWW-Authenticate",
                         request.headers.Get("Authorization").has_value()
                             ? "Bearer realm=\"bulwark\", error=\"invalid_token\""
                             : "Bearer realm=\"bulwark\"");
  }
  return response;
}

// Takes a token from each of the route's buckets; returns the 429 when one is empty.
std::optional<http::Response> RateLimit(const GatewayContext& context, int route_index,
                                        const mesh::RouteConfig& route,
                                        const tokens::Subject& subject, const std::string& client) {
  if (!route.rate_limit.has_value()) {
    return std::nullopt;
  }
  const mesh::RateLimitConfig& limit = *route.rate_limit;
  auto now = std::chrono::steady_clock::now();
  std::string label = RouteLabel(route);
  // Keys are built from what the gateway verified (the subject, the address), never from
  // request headers, so no spelling of a header makes a new bucket. '\n' cannot occur in them.
  std::pair<const std::optional<mesh::Rate>*, std::string> buckets[] = {
      {&limit.per_principal, fmt::format("p\n{}\n{}\n{}", label, subject.issuer, subject.subject)},
      {&limit.per_address, fmt::format("a\n{}\n{}", label, client)}};
  for (const auto& [rate, key] : buckets) {
    if (!rate->has_value()) {
      continue;
    }
    BucketLimit shape{**rate, limit.burst.value_or(static_cast<std::uint32_t>(
                                  std::min<std::uint64_t>((*rate)->count, 1'000'000'000)))};
    RateDecision decision = context.options.rate_limiter->Acquire(key, shape, now);
    if (!decision.allowed) {
      context.metrics->RecordRateLimited(route_index);
      auto seconds = static_cast<long long>(
          std::ceil(std::chrono::duration<double>(decision.retry_after).count()));
      http::Response response =
          JsonError(429, "rate_limited",
                    fmt::format("too many requests; retry in {} s", std::max(1LL, seconds)));
      response.headers.Set("Retry-After", std::to_string(std::max(1LL, seconds)));
      return response;
    }
  }
  return std::nullopt;
}

// Checks the request against its route: path normalization (a path that normalizes into
// /_bulwark/ is no route), route, body size, method. Rewrites
// the target to the path to forward (normalized, the route's strip_prefix removed); returns the
// refusal or nullopt.
std::optional<http::Response> Admit(const GatewayContext& context, http::Request& request,
                                    Exchange& exchange) {
  std::string_view target = request.target;
  std::size_t q = target.find('?');
  absl::StatusOr<std::string> path = policy::NormalizePath(target.substr(0, q));
  if (!path.ok()) {
    return JsonError(400, "bad_request", std::string(path.status().message()));
  }
  if (path->starts_with(kReservedPrefix)) {
    return JsonError(404, "not_found", "no route for this path");
  }
  exchange.route = context.routes.Match(*path);
  if (exchange.route < 0) {
    return JsonError(404, "not_found", "no route for this path");
  }
  const mesh::RouteConfig& route = context.gateway().routes[exchange.route];
  if (request.body.size() > route.max_body) {
    return JsonError(
        413, "payload_too_large",
        fmt::format("the body exceeds this route's limit of {} bytes", route.max_body));
  }
  if (!MethodAllowed(route, request.method)) {
    http::Response response =
        JsonError(405, "method_not_allowed", fmt::format("{} is not allowed here", request.method));
    response.headers.Set("Allow", absl::StrJoin(route.methods, ", "));
    return response;
  }
  std::string forwarded = ForwardedPath(route, *std::move(path));
  request.target =
      q == std::string_view::npos
          ? std::move(forwarded)
          : fmt::format("{}{}", forwarded, target.substr(q));  // `target` views the old
  return std::nullopt;
}

// Sets the traceparent to forward (the client's when valid, else a new one); returns its id.
std::string Trace(http::Headers& headers) {
  std::optional<std::string_view> given = headers.Get("traceparent");
  if (given.has_value() && headers.Count("traceparent") == 1 && IsValidTraceparent(*given)) {
    return TraceIdFromTraceparent(*given);
  }
  std::string fresh = NewTraceparent();
  headers.Remove("tracestate");  // belongs to the traceparent it came with
  headers.Set("traceparent", fresh);
  return TraceIdFromTraceparent(fresh);
}

asio::awaitable<http::Response> Forward(const GatewayContext& context, http::Request request,
                                        const mesh::RouteConfig& route, std::size_t worker) {
  const mesh::ServiceConfig* service = context.mesh.FindService(route.service);
  if (service == nullptr || !service->sidecar.inbound.has_value()) {
    co_return JsonError(502, "bad_gateway", "the route's service has no sidecar address");
  }
  http::ClientOptions options;
  options.expected_server_id = identity::ServiceId(context.mesh.trust_domain, route.service);
  options.timeout = context.options.upstream_timeout;
  options.limits = context.options.limits;
  options.limits.max_body_bytes = std::max<std::size_t>(options.limits.max_body_bytes, 64 << 20);
  options.tls_context = context.client_tls->Get();
  options.pool = context.pools[worker < context.pools.size() ? worker : 0].get();
  if (options.tls_context == nullptr) {
    co_return JsonError(503, "unavailable", "no TLS context for the gateway's SVID");
  }
  std::string address = service->sidecar.inbound->ToString();
  std::string url = fmt::format("https://{}{}", address, request.target);
  absl::StatusOr<http::Response> response =
      co_await Relay(std::move(url), std::move(request), options);
  if (!response.ok()) {
    co_return UpstreamError(response.status(),
                            fmt::format("service '{}' at {}", route.service, address), "gateway");
  }
  co_return *std::move(response);
}

asio::awaitable<void> Pipeline(const GatewayContext& context, http::Request request,
                               Exchange& exchange) {
  // /_bulwark/ is the relying party's, answered here and never routed (Admit refuses a path
  // that only normalizes into it).
  SessionRelyingParty* rp = context.options.session;
  if (std::string_view(request.target).starts_with(kReservedPrefix)) {
    std::optional<http::Response> answer;
    if (rp != nullptr) {
      answer = co_await rp->HandleReserved(request);
    }
    exchange.response = answer.has_value() ? *std::move(answer)
                                           : JsonError(404, "not_found", "no route for this path");
    co_return;
  }
  // Admit rewrites the target; a login redirect returns to the one the browser asked for.
  std::string original_target = rp != nullptr ? request.target : std::string();
  if (std::optional<http::Response> refused = Admit(context, request, exchange)) {
    exchange.response = *std::move(refused);
    co_return;
  }
  const mesh::RouteConfig& route = context.gateway().routes[exchange.route];
  std::optional<SessionCheck> session;
  if (rp != nullptr && HasAuth(route, mesh::AuthMethod::kSession)) {
    session = co_await rp->Check(request);
    exchange.set_cookies = std::move(session->set_cookies);
  }
  absl::StatusOr<tokens::Subject> subject =
      Authenticate(context, request, route, session.has_value() ? &*session : nullptr);
  if (!subject.ok()) {
    spdlog::info("gateway: 401 for {} {} from {}: {}", request.method, request.Path(),
                 exchange.client, subject.status().message());
    std::optional<http::Response> login;
    if (session.has_value()) {
      login = rp->LoginRedirect(request, original_target);
    }
    exchange.response = login.has_value() ? *std::move(login) : Unauthorized(route, request);
    co_return;
  }
  if (std::optional<http::Response> limited =
          RateLimit(context, exchange.route, route, *subject, exchange.client)) {
    exchange.response = *std::move(limited);
    co_return;
  }
  if (std::optional<http::Response> invalid =
          ValidateBody(route, context.schemas[exchange.route].get(), request)) {
    exchange.response = *std::move(invalid);
    co_return;
  }
  RemoveClientIdentityHeaders(request.headers);
  if (HasAuth(route, mesh::AuthMethod::kBearer)) {
    // The user's access token stays at the edge: the service gets the Txn-Token instead.
    request.headers.Remove("Authorization");
  }
  RemoveApiKeyHeaders(request.headers);  // a key never travels past the gateway
  SessionRelyingParty::RemoveSessionCookies(request.headers);  // nor a session's tokens
  exchange.trace_id = Trace(request.headers);
  if (context.options.mint_txn_token) {
    absl::StatusOr<std::string> token =
        context.options.mint_txn_token(*subject, exchange.trace_id, exchange.client);
    if (!token.ok()) {
      spdlog::error("gateway: cannot mint a transaction token: {}", token.status().message());
      exchange.response = JsonError(503, "unavailable", "cannot mint a transaction token");
      co_return;
    }
    request.headers.Set(kTxnTokenHeader, *std::move(token));
  }
  exchange.response = co_await Forward(context, std::move(request), route, exchange.worker);
  // Only the gateway sets its session cookies: a service cannot replace or delete them.
  SessionRelyingParty::RemoveSessionSetCookies(exchange.response.headers);
}

void Finish(const GatewayContext& context, const Exchange& exchange, AccessRecord record,
            std::chrono::steady_clock::time_point start) {
  auto elapsed = std::chrono::steady_clock::now() - start;
  context.metrics->RecordRequest(exchange.route, exchange.response.status, elapsed);
  if (context.options.access_log == nullptr) {
    return;
  }
  record.peer = exchange.client;
  record.status = exchange.response.status;
  record.response_bytes = exchange.response.body.size();
  record.duration_ms = std::chrono::duration<double, std::milli>(elapsed).count();
  record.trace_id = exchange.trace_id;
  if (exchange.route >= 0) {
    record.route = RouteLabel(context.gateway().routes[exchange.route]);
  }
  context.options.access_log->Submit(std::move(record));
}

}  // namespace

std::string ClientAddress(std::string_view peer, const http::Headers& headers,
                          const std::vector<mesh::Cidr>& trusted) {
  auto is_trusted = [&trusted](const mesh::IpBytes& ip) {
    return std::any_of(trusted.begin(), trusted.end(),
                       [&ip](const mesh::Cidr& cidr) { return cidr.Contains(ip); });
  };
  std::optional<mesh::IpBytes> peer_ip = mesh::ParseIp(peer);
  if (trusted.empty() || !peer_ip.has_value() || !is_trusted(*peer_ip)) {
    return std::string(peer);
  }
  std::vector<std::string> hops;
  for (const http::Header& header : headers.all()) {
    if (core::AsciiEqualsIgnoreCase(header.name, "X-Forwarded-For")) {
      for (std::string_view hop : SplitTrimmed(header.value, ',')) {
        hops.emplace_back(hop);
      }
    }
  }
  std::string client(peer);
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    std::optional<mesh::IpBytes> ip = mesh::ParseIp(*it);
    if (!ip.has_value()) {
      return client;  // the trusted hop to its right is the last we can vouch for
    }
    client = *it;
    if (!is_trusted(*ip)) {
      return client;
    }
  }
  return client;
}

asio::awaitable<http::Response> HandleGateway(GatewayContextPtr context, http::Request request,
                                              const http::ConnectionInfo& info) {
  auto start = std::chrono::steady_clock::now();
  AccessRecord record;
  record.time = std::chrono::system_clock::now();
  record.direction = Direction::kPublic;
  record.method = request.method;
  record.path = PathWithoutQuery(request.target);
  record.request_bytes = request.body.size();
  Exchange exchange;
  exchange.worker = info.worker;
  exchange.client = ClientAddress(info.remote.address().to_string(), request.headers,
                                  context->gateway().trusted_proxies);
  co_await Pipeline(*context, std::move(request), exchange);
  for (std::string& cookie : exchange.set_cookies) {
    exchange.response.headers.Add("Set-Cookie", std::move(cookie));
  }
  for (const std::string& dropped : HardenResponse(exchange.response.headers)) {
    spdlog::warn("gateway: dropped a Set-Cookie from upstream: {}", dropped);
  }
  Finish(*context, exchange, std::move(record), start);
  co_return std::move(exchange.response);
}

asio::awaitable<http::Response> HandleGatewayAdmin(GatewayContextPtr context,
                                                   http::Request request) {
  std::shared_ptr<const identity::Svid> svid = context->identity.current();
  co_return AnswerAdmin(request.Path(), *svid, [&context, &svid] {
    GatewayGauges gauges;
    gauges.svid_expiry_seconds = SecondsUntilExpiry(*svid);
    if (context->options.access_log != nullptr) {
      gauges.access_log_dropped = context->options.access_log->dropped();
    }
    for (const std::shared_ptr<http::ConnectionPool>& pool : context->pools) {
      gauges.upstream_opened += pool->opened();
      gauges.upstream_reused += pool->reused();
    }
    if (context->sample_listeners) {
      context->sample_listeners(gauges);
    }
    return context->metrics->Render(gauges);
  });
}

namespace {

// Checks what a snapshot needs beyond the parser's checks: routes compile, each route's
// service has a sidecar to send to.
absl::StatusOr<RouteTable> CompileRoutes(const mesh::MeshConfig& mesh) {
  if (!mesh.gateway.has_value()) {
    return absl::InvalidArgumentError(
        fmt::format("{} has no gateway section (bulwark gateway needs it)", mesh.file_name));
  }
  for (std::size_t i = 0; i < mesh.gateway->routes.size(); ++i) {
    const mesh::RouteConfig& route = mesh.gateway->routes[i];
    const mesh::ServiceConfig* service = mesh.FindService(route.service);
    if (service == nullptr || !service->sidecar.inbound.has_value()) {
      return absl::InvalidArgumentError(fmt::format(
          "gateway.routes[{}]: services.{}.sidecar.inbound is not set in {} (the gateway sends "
          "to the service's sidecar)",
          i, route.service, mesh.file_name));
    }
  }
  return RouteTable::Compile(mesh.gateway->routes);
}

// The largest body any route accepts: the server's limit, so that a route can answer 413.
std::size_t LargestBody(const mesh::GatewayConfig& gateway) {
  std::uint64_t largest = 0;
  for (const mesh::RouteConfig& route : gateway.routes) {
    largest = std::max(largest, route.max_body);
  }
  return static_cast<std::size_t>(largest);
}

absl::StatusOr<std::unique_ptr<http::Server>> Listen(
    asio::io_context& io, const mesh::HostPort& address, http::TlsContextProvider tls,
    http::Handler handler, const GatewayOptions& options, std::size_t max_body,
    std::vector<asio::io_context*> workers = {}) {
  http::ServerOptions server_options;
  server_options.limits = options.limits;
  server_options.limits.max_body_bytes = max_body;
  server_options.handshake_timeout = options.handshake_timeout;
  server_options.header_timeout = options.header_timeout;
  server_options.idle_timeout = options.idle_timeout;
  server_options.workers = std::move(workers);
  return http::Server::Create(io, address.ToString(), std::move(tls), std::move(handler),
                              std::move(server_options));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Create(
    asio::io_context& io, mesh::MeshConfig mesh, IdentitySource identity,
    http::TlsContextProvider public_tls, const mesh::HostPort& admin, GatewayOptions options,
    std::vector<asio::io_context*> workers) {
  BULWARK_ASSIGN_OR_RETURN(RouteTable routes, CompileRoutes(mesh));
  BULWARK_ASSIGN_OR_RETURN(RouteSchemas schemas, LoadRouteSchemas(mesh));
  if (!IsLoopback(admin)) {
    return absl::InvalidArgumentError(fmt::format(
        "--admin {}: the admin listener is plain HTTP and must be on loopback", admin.ToString()));
  }
  if (options.rate_limiter == nullptr) {
    options.rate_limiter = std::make_shared<LocalRateLimiter>();
  }
  auto context = std::make_shared<GatewayContext>(
      GatewayContext{std::move(mesh), std::move(identity), std::move(options), std::move(routes),
                     std::move(schemas)});
  context->metrics = std::make_shared<GatewayMetrics>(RouteLabels(context->gateway()));
  for (std::size_t i = 0; i < std::max<std::size_t>(1, workers.size()); ++i) {
    context->pools.push_back(std::make_shared<http::ConnectionPool>());
  }
  context->client_tls =
      std::make_shared<TlsContextCache>(context->identity.current, TlsContextCache::Side::kClient);
  auto slot = std::make_shared<Slot>();
  auto listeners = std::make_shared<ListenerSet>();
  BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<http::Server> public_server,
                           Listen(
                               io, context->gateway().listen, std::move(public_tls),
                               [slot](http::Request request, const http::ConnectionInfo& info) {
                                 return HandleGateway(slot->load(), std::move(request), info);
                               },
                               context->options, LargestBody(context->gateway()), workers));
  listeners->Add("public", std::move(public_server));
  BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<http::Server> admin_server,
                           Listen(
                               io, admin, nullptr,
                               [slot](http::Request request, const http::ConnectionInfo&) {
                                 return HandleGatewayAdmin(slot->load(), std::move(request));
                               },
                               context->options, 0));
  listeners->Add("admin", std::move(admin_server));
  context->sample_listeners = [weak = std::weak_ptr(listeners)](GatewayGauges& gauges) {
    if (std::shared_ptr<ListenerSet> alive = weak.lock()) {
      alive->Sample(gauges.open_connections, gauges.handshake_failures);
    }
  };
  slot->store(std::move(context));
  return std::unique_ptr<Gateway>(
      new Gateway(std::move(slot), std::move(listeners), std::move(workers)));
}

Gateway::~Gateway() { Stop(); }

void Gateway::Start() { listeners_->Start(); }

void Gateway::Stop() {
  listeners_->Stop();
  for (const std::shared_ptr<http::ConnectionPool>& pool : slot_->load()->pools) {
    pool->Close();
  }
}

void Gateway::Drain() { listeners_->Drain(); }

std::size_t Gateway::OpenConnections() const { return listeners_->OpenConnections(); }

void Gateway::PrunePools() {
  GatewayContextPtr context = slot_->load();
  for (std::size_t i = 0; i < context->pools.size(); ++i) {
    auto prune = [pool = context->pools[i]] { pool->Prune(); };
    // Each worker's idle sockets are closed on the worker's own thread.
    if (i < workers_.size()) {
      asio::post(*workers_[i], std::move(prune));
    } else {
      prune();
    }
  }
}

absl::Status Gateway::Reload(mesh::MeshConfig mesh) {
  std::lock_guard<std::mutex> lock(update_mu_);
  GatewayContextPtr current = slot_->load();
  BULWARK_ASSIGN_OR_RETURN(RouteTable routes, CompileRoutes(mesh));
  BULWARK_ASSIGN_OR_RETURN(RouteSchemas schemas, LoadRouteSchemas(mesh));
  const mesh::GatewayConfig& was = current->gateway();
  const mesh::GatewayConfig& now = *mesh.gateway;
  if (mesh.trust_domain != current->mesh.trust_domain || !(was.listen == now.listen)) {
    return absl::FailedPreconditionError(
        "trust_domain or gateway.listen changed; restart the gateway to apply them");
  }
  if (LargestBody(now) > LargestBody(was)) {
    return absl::FailedPreconditionError(
        "a route's max_body grew past the listener's body limit; restart the gateway to apply it");
  }
  auto next = std::make_shared<GatewayContext>(*current);
  next->mesh = std::move(mesh);
  next->routes = std::move(routes);
  next->schemas = std::move(schemas);
  std::vector<std::string> labels = RouteLabels(next->gateway());
  if (labels != current->metrics->routes()) {
    next->metrics = std::make_shared<GatewayMetrics>(std::move(labels));
  }
  slot_->store(std::move(next));
  return absl::OkStatus();
}

std::vector<std::string> Gateway::Describe() const { return listeners_->Describe(); }

}  // namespace bulwark::proxy
