// Prometheus text exposition (https://prometheus.io/docs/instrumenting/exposition_formats/).
#include "proxy/metrics.h"

#include <tuple>

#include "fmt/format.h"

namespace bulwark::proxy {
namespace {

using prometheus::EscapeLabel;
using prometheus::kStatusClassNames;
using prometheus::StatusClass;

const std::string kOther = "other";

void Header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  prometheus::WriteHeader(out, name, type, help);
}

}  // namespace

std::string_view DirectionName(Direction direction) {
  switch (direction) {
    case Direction::kInbound:
      return "inbound";
    case Direction::kOutbound:
      return "outbound";
    case Direction::kPublic:
      return "public";
  }
  return "other";
}

Metrics::PeerSlot& Metrics::Slot(std::string_view peer) {
  std::size_t n = peer_count_.load(std::memory_order_acquire);
  for (std::size_t i = 0; i < n; ++i) {
    if (*peers_[i].name.load(std::memory_order_acquire) == peer) {
      return peers_[i];
    }
  }
  if (n == kMaxPeers) {
    return other_;
  }
  std::lock_guard<std::mutex> lock(insert_mu_);
  n = peer_count_.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < n; ++i) {  // another thread may have added it meanwhile
    if (*peers_[i].name.load(std::memory_order_relaxed) == peer) {
      return peers_[i];
    }
  }
  if (n == kMaxPeers) {
    return other_;
  }
  names_[n] = std::make_unique<const std::string>(peer);
  peers_[n].name.store(names_[n].get(), std::memory_order_release);
  peer_count_.store(n + 1, std::memory_order_release);
  return peers_[n];
}

void Metrics::RecordRequest(Direction direction, std::string_view peer, int status,
                            std::chrono::nanoseconds duration) {
  auto d = static_cast<std::size_t>(direction);
  Slot(peer).requests[d][StatusClass(status)].fetch_add(1, std::memory_order_relaxed);
  durations_[d].Record(duration);
}

void Metrics::RenderRequests(std::string& out) const {
  Header(out, "bulwark_sidecar_requests_total", "counter",
         "Requests answered, by direction, peer and status class.");
  std::size_t n = peer_count_.load(std::memory_order_acquire);
  for (std::size_t d = 0; d < 2; ++d) {
    for (std::size_t i = 0; i <= n; ++i) {
      const PeerSlot& slot = i < n ? peers_[i] : other_;
      const std::string& name = i < n ? *slot.name.load(std::memory_order_acquire) : kOther;
      for (std::size_t c = 0; c < kClasses; ++c) {
        std::uint64_t value = slot.requests[d][c].load(std::memory_order_relaxed);
        if (value == 0) {
          continue;
        }
        fmt::format_to(std::back_inserter(out),
                       "bulwark_sidecar_requests_total{{direction=\"{}\",peer=\"{}\",code=\"{}\"}} "
                       "{}\n",
                       DirectionName(static_cast<Direction>(d)), EscapeLabel(name),
                       kStatusClassNames[c], value);
      }
    }
  }
}

void Metrics::RenderHistograms(std::string& out) const {
  constexpr std::string_view kName = "bulwark_sidecar_request_duration_seconds";
  Header(out, kName, "histogram", "Time from a request to its response, by direction.");
  for (std::size_t d = 0; d < 2; ++d) {
    durations_[d].Render(out, kName,
                         fmt::format("direction=\"{}\"", DirectionName(static_cast<Direction>(d))));
  }
}

void Metrics::RenderSampled(std::string& out, const ScrapeGauges& gauges) {
  auto it = std::back_inserter(out);
  Header(out, "bulwark_sidecar_open_connections", "gauge", "Open connections, by listener.");
  for (const auto& [listener, value] : gauges.open_connections) {
    fmt::format_to(it, "bulwark_sidecar_open_connections{{listener=\"{}\"}} {}\n",
                   EscapeLabel(listener), value);
  }
  Header(out, "bulwark_sidecar_tls_handshake_failures_total", "counter",
         "Inbound TLS handshakes that failed, by reason.");
  for (const auto& [reason, value] : gauges.handshake_failures) {
    fmt::format_to(it, "bulwark_sidecar_tls_handshake_failures_total{{reason=\"{}\"}} {}\n",
                   EscapeLabel(reason), value);
  }
  for (auto [name, values, help] :
       {std::tuple{"bulwark_sidecar_upstream_connections_opened_total", &gauges.upstream_opened,
                   "Upstream connections opened, by direction (inbound: to the service)."},
        std::tuple{"bulwark_sidecar_upstream_connections_reused_total", &gauges.upstream_reused,
                   "Requests sent on a pooled upstream connection, by direction."}}) {
    Header(out, name, "counter", help);
    for (std::size_t d = 0; d < 2; ++d) {
      fmt::format_to(it, "{}{{direction=\"{}\"}} {}\n", name,
                     DirectionName(static_cast<Direction>(d)), (*values)[d]);
    }
  }
}

void Metrics::RecordAllow(int rule) {
  std::size_t slot = rule >= 0 && static_cast<std::size_t>(rule) < kMaxRuleLabels
                         ? static_cast<std::size_t>(rule)
                         : kMaxRuleLabels;
  allows_[slot].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::RecordDeny(std::string_view reason) {
  std::size_t slot = 0;
  while (slot + 1 < kDenyReasons.size() && kDenyReasons[slot] != reason) {
    ++slot;
  }
  denies_[slot].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::RenderDecisions(std::string& out) const {
  constexpr std::string_view kName = "bulwark_sidecar_policy_decisions_total";
  Header(out, kName, "counter",
         "Inbound authorization decisions, by decision and rule (index or deny reason).");
  auto it = std::back_inserter(out);
  for (std::size_t i = 0; i < allows_.size(); ++i) {
    if (std::uint64_t value = allows_[i].load(std::memory_order_relaxed); value > 0) {
      std::string rule = i < kMaxRuleLabels ? std::to_string(i) : kOther;
      fmt::format_to(it, "{}{{decision=\"allow\",rule=\"{}\"}} {}\n", kName, rule, value);
    }
  }
  for (std::size_t i = 0; i < denies_.size(); ++i) {
    if (std::uint64_t value = denies_[i].load(std::memory_order_relaxed); value > 0) {
      fmt::format_to(it, "{}{{decision=\"deny\",rule=\"{}\"}} {}\n", kName, kDenyReasons[i], value);
    }
  }
}

std::string Metrics::Render(const ScrapeGauges& gauges) const {
  std::string out;
  RenderRequests(out);
  RenderHistograms(out);
  RenderDecisions(out);
  auto it = std::back_inserter(out);
  Header(out, "bulwark_sidecar_policy_version", "gauge",
         "Version of the authorization policy in use (0: from the local mesh.yaml).");
  fmt::format_to(it, "bulwark_sidecar_policy_version {}\n", gauges.policy_version);
  Header(out, "bulwark_sidecar_decision_log_dropped_total", "counter",
         "Decision log lines dropped because the writer's queue was full.");
  fmt::format_to(it, "bulwark_sidecar_decision_log_dropped_total {}\n",
                 gauges.decision_log_dropped);
  Header(out, "bulwark_sidecar_svid_expiry_seconds", "gauge",
         "Seconds until the current SVID expires.");
  fmt::format_to(it, "bulwark_sidecar_svid_expiry_seconds {}\n", gauges.svid_expiry_seconds);
  Header(out, "bulwark_sidecar_access_log_dropped_total", "counter",
         "Access log lines dropped because the writer's queue was full.");
  fmt::format_to(it, "bulwark_sidecar_access_log_dropped_total {}\n", gauges.access_log_dropped);
  RenderSampled(out, gauges);
  return out;
}

}  // namespace bulwark::proxy
