// The gateway's Prometheus metrics: requests by route and status class, a latency histogram,
// rate-limit refusals by route, and gauges sampled at scrape time (connections, handshake
// failures, upstream pool, SVID expiry). Route labels are the patterns of gateway.routes, fixed
// when the registry is made (a reload that changes the routes makes a new registry). Sans-I/O.
// Thread-safe: recording is relaxed atomics only.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "proxy/prometheus.h"

namespace bulwark::proxy {

struct GatewayGauges {
  double svid_expiry_seconds = 0;
  std::uint64_t access_log_dropped = 0;
  std::uint64_t upstream_opened = 0;
  std::uint64_t upstream_reused = 0;
  std::vector<std::pair<std::string, std::uint64_t>> open_connections;    // by listener
  std::vector<std::pair<std::string, std::uint64_t>> handshake_failures;  // by reason
};

class GatewayMetrics {
 public:
  // `routes`: the label of each route, by index; requests that match none count as "none".
  explicit GatewayMetrics(std::vector<std::string> routes);
  GatewayMetrics(const GatewayMetrics&) = delete;
  GatewayMetrics& operator=(const GatewayMetrics&) = delete;

  // Counts one answered request of route `route` (-1: none matched).
  void RecordRequest(int route, int status, std::chrono::nanoseconds duration);
  // Counts one request refused by a rate limit of route `route`.
  void RecordRateLimited(int route);
  // Returns the labels given to the constructor.
  const std::vector<std::string>& routes() const { return labels_; }

  // Returns every metric in the Prometheus text format, series in a stable order.
  std::string Render(const GatewayGauges& gauges) const;

 private:
  struct Slot {
    std::array<std::atomic<std::uint64_t>, prometheus::kStatusClassNames.size()> requests{};
    std::atomic<std::uint64_t> rate_limited{0};
  };
  Slot& At(int route);

  const std::vector<std::string> labels_;
  std::unique_ptr<Slot[]> slots_;  // one per route, then "none"
  prometheus::LatencyHistogram duration_;
};

}  // namespace bulwark::proxy
