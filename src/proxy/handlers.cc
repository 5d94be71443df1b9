// Inbound, outbound and admin handlers. Every forwarded exchange is one AsyncSend on the
// connection's strand, so a slow upstream never holds an io thread.
#include "proxy/handlers.h"

#include <algorithm>

#include "core/clock.h"
#include "core/status.h"
#include "fmt/format.h"
#include "http/client.h"
#include "identity/spiffe_id.h"
#include "nlohmann/json.hpp"
#include "policy/path.h"
#include "proxy/headers.h"
#include "spdlog/spdlog.h"

namespace bulwark::proxy {
namespace {

// Returns the peer's verified SPIFFE ID, or why it is not acceptable.
absl::StatusOr<std::string> VerifyPeer(const ProxyContext& context,
                                       const http::ConnectionInfo& info) {
  if (!info.peer_certificate.has_value()) {
    return absl::PermissionDeniedError("a client certificate is required");
  }
  std::vector<std::string> sans = info.peer_certificate->UriSans();
  if (sans.size() != 1) {
    return absl::PermissionDeniedError(fmt::format(
        "the client certificate must carry exactly one SPIFFE ID, it has {}", sans.size()));
  }
  absl::StatusOr<identity::SpiffeId> id = identity::SpiffeId::Parse(sans[0]);
  if (!id.ok() || id->trust_domain() != context.mesh.trust_domain) {
    return absl::PermissionDeniedError(fmt::format("'{}' is not a SPIFFE ID in trust domain {}",
                                                   sans[0], context.mesh.trust_domain));
  }
  std::string serial = info.peer_certificate->SerialHex();
  if (context.identity.is_revoked(serial)) {
    return absl::PermissionDeniedError(
        fmt::format("the client certificate (serial {}) is revoked", serial));
  }
  return id->str();
}

bool MayCall(const mesh::ServiceConfig& self, const std::string& target) {
  return std::any_of(self.calls.begin(), self.calls.end(),
                     [&](const mesh::CallConfig& call) { return call.service == target; });
}

// What the metrics and the access log need of one request: taken when it arrives.
struct Observation {
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  AccessRecord record;
};

Observation Observe(Direction direction, const http::Request& request, std::size_t worker) {
  Observation o;
  o.record.worker = worker;
  o.record.time = std::chrono::system_clock::now();
  o.record.direction = direction;
  o.record.method = request.method;
  o.record.path = PathWithoutQuery(request.target);
  o.record.request_bytes = request.body.size();
  if (std::optional<std::string_view> tp = request.headers.Get("traceparent"); tp.has_value()) {
    o.record.trace_id = TraceIdFromTraceparent(*tp);
  }
  return o;
}

// Counts the answered request and queues its access log line.
void Finish(const ProxyContext& context, Observation o, std::string peer,
            const http::Response& response) {
  auto elapsed = std::chrono::steady_clock::now() - o.start;
  context.metrics->RecordRequest(o.record.direction, peer, response.status, elapsed);
  if (context.options.access_log == nullptr) {
    return;
  }
  o.record.peer = std::move(peer);
  o.record.status = response.status;
  o.record.response_bytes = response.body.size();
  o.record.duration_ms = std::chrono::duration<double, std::milli>(elapsed).count();
  context.options.access_log->Submit(std::move(o.record));
}

// A handler's response and the peer label it is counted under.
struct Handled {
  http::Response response;
  std::string peer;
};

}  // namespace

http::Response JsonError(int status, std::string_view code, std::string_view description) {
  http::Response response;
  response.status = status;
  response.headers.Set("Content-Type", "application/json");
  response.body =
      nlohmann::json{{"error", code}, {"error_description", description}}.dump(-1, ' ', true);
  return response;
}

http::Response UpstreamError(const absl::Status& status, std::string_view what,
                             std::string_view role) {
  spdlog::warn("{}: {}: {}", role, what, status.message());
  if (status.code() == absl::StatusCode::kDeadlineExceeded) {
    return JsonError(504, "upstream_timeout", fmt::format("{}: {}", what, status.message()));
  }
  return JsonError(502, "bad_gateway", fmt::format("{}: {}", what, status.message()));
}

asio::awaitable<absl::StatusOr<http::Response>> Relay(std::string url, http::Request request,
                                                      const http::ClientOptions& options) {
  absl::StatusOr<http::Response> response =
      co_await http::AsyncSend(url, std::move(request), options);
  if (response.ok()) {
    RemoveHopByHop(response->headers);
  }
  co_return response;
}

namespace {

// Counts a decision and, when sampled, queues its decision log line. `reason` is a deny
// reason of Metrics::kDenyReasons, `detail` what the log adds to it. Allocates only to log.
void RecordDecision(const ProxyContext& context, const http::Request& request,
                    const std::string& peer, std::string_view path, policy::Decision decision,
                    std::string_view reason, std::string_view detail = "") {
  if (decision.allowed) {
    context.metrics->RecordAllow(decision.rule);
  } else {
    context.metrics->RecordDeny(reason);
  }
  DecisionLog* log = context.options.decision_log.get();
  if (log == nullptr || !log->Sampled(decision.allowed)) {
    return;
  }
  DecisionRecord r{.time = std::chrono::system_clock::now(),
                   .peer = peer,
                   .method = request.method,
                   .path = std::string(path),
                   .allowed = decision.allowed,
                   .rule = decision.rule};
  if (decision.rule >= 0 && context.policy != nullptr) {
    r.description = context.policy->RuleDescription(static_cast<std::size_t>(decision.rule));
  }
  r.reason = detail.empty() ? std::string(reason) : fmt::format("{}: {}", reason, detail);
  if (std::optional<std::string_view> tp = request.headers.Get("traceparent"); tp.has_value()) {
    r.trace_id = TraceIdFromTraceparent(*tp);
  }
  r.policy_version = context.policy_version;
  log->Submit(std::move(r));
}

// Normalizes the path of `request` and decides it with the policy; on allow, rewrites its
// target to the normalized path and the original query and returns nullopt, else the 400/403.
std::optional<http::Response> Authorize(const ProxyContext& context, http::Request& request,
                                        const std::string& peer, const nlohmann::json* claims) {
  std::string_view target = request.target;
  std::size_t q = target.find('?');
  std::string_view query = q == std::string_view::npos ? "" : target.substr(q + 1);
  absl::StatusOr<std::string> path = policy::NormalizePath(target.substr(0, q));
  if (!path.ok()) {
    std::string why(path.status().message());
    RecordDecision(context, request, peer, target.substr(0, q), {}, "bad_path", why);
    return JsonError(400, "bad_request", why);
  }
  policy::Decision decision;  // default deny, also without a policy
  if (context.policy != nullptr) {
    decision =
        context.policy->Decide({request.method, *path, peer, claims, query, &request.headers});
  }
  RecordDecision(context, request, peer, *path, decision, policy::DenyReasonName(decision.reason));
  if (!decision.allowed) {
    return JsonError(403, "forbidden", "not allowed");
  }
  if (q == std::string_view::npos) {
    request.target = *std::move(path);
  } else {
    request.target = fmt::format("{}?{}", *path, query);  // `query` views the old target
  }
  return std::nullopt;
}

asio::awaitable<Handled> Inbound(ProxyContextPtr context, http::Request request,
                                 const http::ConnectionInfo& info) {
  absl::StatusOr<std::string> peer = VerifyPeer(*context, info);
  if (!peer.ok()) {
    spdlog::warn("sidecar: refused a request from {}: {}", info.remote.address().to_string(),
                 peer.status().message());
    co_return Handled{JsonError(403, "forbidden", std::string(peer.status().message())),
                      "unverified"};
  }
  RemoveUnderscoreSpellings(request.headers);  // no Txn_Token or X_Bulwark_Peer_Id gets by
  absl::StatusOr<TokenFilter::Claims> token = VerifyRequestToken(
      context->options.token_filter.get(), request.headers, context->self().sidecar.token_skew);
  if (!token.ok()) {
    spdlog::warn("sidecar: refused a request from {}: {}", *peer, token.status().message());
    co_return Handled{JsonError(401, "invalid_token", "the transaction token was refused"), *peer};
  }
  RemoveHopByHop(request.headers);
  // Whatever the caller claimed, only ours counts (Set replaces every copy); before Authorize,
  // so that headers.* sees what we forward.
  request.headers.Set(kPeerIdHeader, *peer);
  if (std::optional<http::Response> refused = Authorize(*context, request, *peer, token->get())) {
    co_return Handled{*std::move(refused), *std::move(peer)};
  }
  http::ClientOptions options;
  options.timeout = context->options.upstream_timeout;
  options.limits = context->options.limits;
  const UpstreamPools* pools = context->PoolsOf(info.worker);
  options.pool = pools != nullptr ? pools->inbound.get() : nullptr;
  options.open_socket = context->options.service_sockets;
  const mesh::ServiceConfig& self = context->self();
  // A Unix socket's service sees "Host: localhost"; the path is not the caller's business.
  options.unix_socket = self.socket;
  std::string url = self.socket.empty()
                        ? fmt::format("http://127.0.0.1:{}{}", self.port, request.target)
                        : fmt::format("http://localhost{}", request.target);
  absl::StatusOr<http::Response> response =
      co_await Relay(std::move(url), std::move(request), options);
  if (!response.ok()) {
    std::string where = self.socket.empty() ? fmt::format("127.0.0.1:{}", self.port)
                                            : fmt::format("unix:{}", self.socket);
    co_return Handled{
        UpstreamError(response.status(),
                      fmt::format("service '{}' on {} is unavailable", context->service, where)),
        *std::move(peer)};
  }
  co_return Handled{*std::move(response), *std::move(peer)};
}

// Returns the 4xx/5xx answer when `target` cannot be called, else nullopt.
std::optional<http::Response> RefuseTarget(const ProxyContext& context, const std::string& target) {
  if (!MayCall(context.self(), target)) {
    return JsonError(403, "forbidden",
                     fmt::format("service '{}' may not call '{}': it is not in services.{}.calls",
                                 context.service, target, context.service));
  }
  const mesh::ServiceConfig* peer = context.mesh.FindService(target);
  if (peer == nullptr || !peer->sidecar.inbound.has_value()) {
    return JsonError(502, "bad_gateway",
                     fmt::format("mesh.yaml gives no services.{}.sidecar.inbound address", target));
  }
  return std::nullopt;
}

asio::awaitable<Handled> Outbound(ProxyContextPtr context, std::optional<std::string> fixed_target,
                                  http::Request request, std::size_t worker) {
  absl::StatusOr<std::string> target =
      fixed_target.has_value() ? *fixed_target : TargetService(request);
  if (!target.ok()) {
    co_return Handled{JsonError(400, "bad_request", std::string(target.status().message())),
                      "none"};
  }
  if (std::optional<http::Response> refused = RefuseTarget(*context, *target)) {
    co_return Handled{*std::move(refused), *target};
  }
  const mesh::ServiceConfig* peer = context->mesh.FindService(*target);
  std::shared_ptr<const identity::Svid> svid;  // held for the call when there is no context
  http::ClientOptions options;
  options.expected_server_id = identity::ServiceId(context->mesh.trust_domain, *target);
  options.timeout = context->options.upstream_timeout;
  options.limits = context->options.limits;
  if (context->client_tls != nullptr) {
    // Pooled connections are keyed by this context, so after rotation new ones use the new SVID.
    options.tls_context = context->client_tls->Get();
    const UpstreamPools* pools = context->PoolsOf(worker);
    options.pool = pools != nullptr ? pools->outbound.get() : nullptr;
  } else {
    svid = context->identity.current();
    options.roots = svid->bundle;
    options.credentials = &svid->credentials;
  }
  request.headers.Remove(kPeerIdHeader);
  RemoveHopByHop(request.headers);
  std::string address = peer->sidecar.inbound->ToString();
  std::string url = fmt::format("https://{}{}", address, request.target);
  absl::StatusOr<http::Response> response =
      co_await Relay(std::move(url), std::move(request), options);
  if (!response.ok()) {
    co_return Handled{UpstreamError(response.status(), fmt::format("cannot call service '{}' at {}",
                                                                   *target, address)),
                      *std::move(target)};
  }
  co_return Handled{*std::move(response), *std::move(target)};
}

}  // namespace

asio::awaitable<http::Response> HandleInbound(ProxyContextPtr context, http::Request request,
                                              const http::ConnectionInfo& info) {
  Observation o = Observe(Direction::kInbound, request, info.worker);
  Handled handled = co_await Inbound(context, std::move(request), info);
  Finish(*context, std::move(o), std::move(handled.peer), handled.response);
  co_return std::move(handled.response);
}

asio::awaitable<http::Response> HandleOutbound(ProxyContextPtr context,
                                               std::optional<std::string> fixed_target,
                                               http::Request request, std::size_t worker) {
  Observation o = Observe(Direction::kOutbound, request, worker);
  Handled handled = co_await Outbound(context, std::move(fixed_target), std::move(request), worker);
  Finish(*context, std::move(o), std::move(handled.peer), handled.response);
  co_return std::move(handled.response);
}

http::Response AnswerAdmin(std::string_view path, const identity::Svid& svid,
                           const std::function<std::string()>& render_metrics) {
  http::Response response;
  if (path == "/healthz") {
    response.body = R"({"status":"ok"})";
    return response;
  }
  if (path == "/metrics") {
    response.headers.Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    response.body = render_metrics();
    return response;
  }
  if (path != "/readyz") {
    return JsonError(404, "not_found", "try /healthz, /readyz or /metrics");
  }
  if (svid.leaf().NotAfter() <= core::SystemClock().Now()) {
    return JsonError(503, "not_ready", "the SVID has expired");
  }
  response.body = nlohmann::json{{"status", "ready"}, {"spiffe_id", svid.spiffe_id}}.dump();
  return response;
}

double SecondsUntilExpiry(const identity::Svid& svid) {
  return std::chrono::duration<double>(svid.leaf().NotAfter() - core::SystemClock().Now()).count();
}

asio::awaitable<http::Response> HandleAdmin(ProxyContextPtr context, http::Request request) {
  std::shared_ptr<const identity::Svid> svid = context->identity.current();
  co_return AnswerAdmin(request.Path(), *svid, [&context, &svid] {
    ScrapeGauges gauges{SecondsUntilExpiry(*svid), 0};
    if (context->options.access_log != nullptr) {
      gauges.access_log_dropped = context->options.access_log->dropped();
    }
    if (context->options.decision_log != nullptr) {
      gauges.decision_log_dropped = context->options.decision_log->dropped();
    }
    gauges.policy_version = context->policy_version;
    for (const UpstreamPools& pools : context->pools) {
      for (const auto& [d, pool] :
           {std::pair{0, pools.inbound.get()}, std::pair{1, pools.outbound.get()}}) {
        gauges.upstream_opened[d] += pool->opened();
        gauges.upstream_reused[d] += pool->reused();
      }
    }
    if (context->sample_listeners) {
      context->sample_listeners(gauges);
    }
    return context->metrics->Render(gauges);
  });
}

}  // namespace bulwark::proxy
