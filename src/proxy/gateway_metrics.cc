// Prometheus text exposition of the gateway's metrics.
#include "proxy/gateway_metrics.h"

#include <iterator>
#include <tuple>

#include "fmt/format.h"

namespace bulwark::proxy {
namespace {

using prometheus::EscapeLabel;
using prometheus::WriteHeader;

}  // namespace

GatewayMetrics::GatewayMetrics(std::vector<std::string> routes)
    : labels_(std::move(routes)), slots_(std::make_unique<Slot[]>(labels_.size() + 1)) {}

GatewayMetrics::Slot& GatewayMetrics::At(int route) {
  bool known = route >= 0 && static_cast<std::size_t>(route) < labels_.size();
  return slots_[known ? static_cast<std::size_t>(route) : labels_.size()];
}

void GatewayMetrics::RecordRequest(int route, int status, std::chrono::nanoseconds duration) {
  At(route).requests[prometheus::StatusClass(status)].fetch_add(1, std::memory_order_relaxed);
  duration_.Record(duration);
}

void GatewayMetrics::RecordRateLimited(int route) {
  At(route).rate_limited.fetch_add(1, std::memory_order_relaxed);
}

std::string GatewayMetrics::Render(const GatewayGauges& gauges) const {
  std::string out;
  auto it = std::back_inserter(out);
  WriteHeader(out, "bulwark_gateway_requests_total", "counter",
              "Requests answered, by route and status class.");
  for (std::size_t i = 0; i <= labels_.size(); ++i) {
    std::string route = EscapeLabel(i < labels_.size() ? labels_[i] : "none");
    for (std::size_t c = 0; c < prometheus::kStatusClassNames.size(); ++c) {
      if (std::uint64_t v = slots_[i].requests[c].load(std::memory_order_relaxed); v > 0) {
        fmt::format_to(it, "bulwark_gateway_requests_total{{route=\"{}\",code=\"{}\"}} {}\n", route,
                       prometheus::kStatusClassNames[c], v);
      }
    }
  }
  WriteHeader(out, "bulwark_gateway_rate_limited_total", "counter",
              "Requests refused with 429 by a rate limit, by route.");
  for (std::size_t i = 0; i < labels_.size(); ++i) {
    fmt::format_to(it, "bulwark_gateway_rate_limited_total{{route=\"{}\"}} {}\n",
                   EscapeLabel(labels_[i]), slots_[i].rate_limited.load(std::memory_order_relaxed));
  }
  WriteHeader(out, "bulwark_gateway_request_duration_seconds", "histogram",
              "Time from a request to its response.");
  duration_.Render(out, "bulwark_gateway_request_duration_seconds", "");
  for (auto [name, value, help] :
       {std::tuple{"bulwark_gateway_upstream_connections_opened_total", gauges.upstream_opened,
                   "Connections opened to the services' sidecars."},
        std::tuple{"bulwark_gateway_upstream_connections_reused_total", gauges.upstream_reused,
                   "Requests sent on a pooled connection to a sidecar."},
        std::tuple{"bulwark_gateway_access_log_dropped_total", gauges.access_log_dropped,
                   "Access log lines dropped because the writer's queue was full."}}) {
    WriteHeader(out, name, "counter", help);
    fmt::format_to(it, "{} {}\n", name, value);
  }
  WriteHeader(out, "bulwark_gateway_svid_expiry_seconds", "gauge",
              "Seconds until the gateway's SVID expires.");
  fmt::format_to(it, "bulwark_gateway_svid_expiry_seconds {}\n", gauges.svid_expiry_seconds);
  WriteHeader(out, "bulwark_gateway_open_connections", "gauge", "Open connections, by listener.");
  for (const auto& [listener, value] : gauges.open_connections) {
    fmt::format_to(it, "bulwark_gateway_open_connections{{listener=\"{}\"}} {}\n",
                   EscapeLabel(listener), value);
  }
  WriteHeader(out, "bulwark_gateway_tls_handshake_failures_total", "counter",
              "Public TLS handshakes that failed, by reason.");
  for (const auto& [reason, value] : gauges.handshake_failures) {
    fmt::format_to(it, "bulwark_gateway_tls_handshake_failures_total{{reason=\"{}\"}} {}\n",
                   EscapeLabel(reason), value);
  }
  return out;
}

}  // namespace bulwark::proxy
