// The sidecar's Prometheus metrics: request counters by direction, peer and status class, a
// latency histogram per direction, gauges sampled at scrape time (connections, handshake
// failures, upstream pools, SVID expiry), rendered in the text exposition format (version 0.0.4).
// Sans-I/O. Thread-safe: recording uses relaxed atomics and takes a mutex only the first time a
// peer label is seen (at most kMaxPeers times); Render() may run concurrently with recording.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proxy/prometheus.h"

namespace bulwark::proxy {

// kPublic: the gateway's public listener (access log only; Metrics counts the first two).
enum class Direction { kInbound, kOutbound, kPublic };

// Returns "inbound", "outbound" or "public".
std::string_view DirectionName(Direction direction);

// Values that the registry does not own, sampled by the caller at scrape time.
struct ScrapeGauges {
  double svid_expiry_seconds = 0;  // until the current SVID's notAfter; negative once expired
  std::uint64_t access_log_dropped = 0;
  std::uint64_t decision_log_dropped = 0;
  std::int64_t policy_version = 0;  // 0: compiled from the local mesh.yaml
  // Upstream connections opened and reuses of pooled ones, by Direction.
  std::array<std::uint64_t, 2> upstream_opened{};
  std::array<std::uint64_t, 2> upstream_reused{};
  // Open connections by listener name ("inbound", "outbound", "admin", "to <service>").
  std::vector<std::pair<std::string, std::uint64_t>> open_connections;
  // Failed inbound TLS handshakes by reason ("no_client_certificate", "protocol_version", ...).
  std::vector<std::pair<std::string, std::uint64_t>> handshake_failures;
};

class Metrics {
 public:
  // Distinct peer label values kept; later ones are counted under peer="other".
  static constexpr std::size_t kMaxPeers = 64;
  // Upper bounds (seconds) of the duration histogram's buckets, +Inf implied.
  static constexpr auto kBuckets = prometheus::LatencyHistogram::kBuckets;

  // Rule indices with their own rule="<index>" label; higher ones count under rule="other".
  static constexpr std::size_t kMaxRuleLabels = 256;
  // Deny reasons, as the rule label of decision="deny" (policy::DenyReasonName, and "bad_path"
  // for a path refused by normalization); any other reason counts as "other".
  static constexpr std::array<std::string_view, 6> kDenyReasons = {
      "bad_path", "no_rule_for_caller", "method", "path", "condition", "other"};

  Metrics() = default;
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Counts one answered request: `peer` is the caller's SPIFFE ID (inbound) or the target
  // service (outbound); `status` the HTTP status sent; `duration` from request to response.
  void RecordRequest(Direction direction, std::string_view peer, int status,
                     std::chrono::nanoseconds duration);

  // Counts one inbound request allowed by rule `rule` (its index in services.<name>.allow).
  void RecordAllow(int rule);
  // Counts one inbound request denied for `reason` (one of kDenyReasons).
  void RecordDeny(std::string_view reason);

  // Returns every metric in the Prometheus text format, series in a stable order.
  std::string Render(const ScrapeGauges& gauges) const;

 private:
  static constexpr std::size_t kClasses = 4;  // 2xx, 3xx, 4xx, 5xx
  struct PeerSlot {
    std::atomic<const std::string*> name{nullptr};  // published once, then immutable
    std::array<std::array<std::atomic<std::uint64_t>, kClasses>, 2> requests{};
  };

  PeerSlot& Slot(std::string_view peer);
  void RenderRequests(std::string& out) const;
  void RenderHistograms(std::string& out) const;
  void RenderDecisions(std::string& out) const;
  static void RenderSampled(std::string& out, const ScrapeGauges& gauges);

  std::array<PeerSlot, kMaxPeers> peers_;
  PeerSlot other_;
  std::atomic<std::size_t> peer_count_{0};
  std::mutex insert_mu_;                                             // serializes adding a peer
  std::array<std::unique_ptr<const std::string>, kMaxPeers> names_;  // owned; guarded by insert_mu_
  std::array<prometheus::LatencyHistogram, 2> durations_;
  std::array<std::atomic<std::uint64_t>, kMaxRuleLabels + 1> allows_{};  // last: "other"
  std::array<std::atomic<std::uint64_t>, kDenyReasons.size()> denies_{};
};

}  // namespace bulwark::proxy
