// Pieces of the Prometheus text exposition format (version 0.0.4) shared by the sidecar's and
// the gateway's metrics: status classes, label escaping, HELP/TYPE headers and a lock-free
// latency histogram. Sans-I/O; LatencyHistogram records with relaxed atomics on any thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace bulwark::proxy::prometheus {

// Labels of the status classes, indexed by StatusClass().
inline constexpr std::array<std::string_view, 4> kStatusClassNames = {"2xx", "3xx", "4xx", "5xx"};

// Returns the index of `status`'s class in kStatusClassNames (1xx counts as 2xx).
std::size_t StatusClass(int status);

// Escapes a label value: backslash, double quote and newline.
std::string EscapeLabel(std::string_view value);

// Appends the "# HELP" and "# TYPE" lines of metric `name` to `out`.
void WriteHeader(std::string& out, std::string_view name, std::string_view type,
                 std::string_view help);

class LatencyHistogram {
 public:
  // Upper bounds (seconds) of the buckets, +Inf implied.
  static constexpr std::array<double, 13> kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

  // Counts one observation of `duration`.
  void Record(std::chrono::nanoseconds duration);
  // Appends the _bucket, _sum and _count series of `name` with the extra `labels` (such as
  // `direction="inbound"`, may be empty) to `out`.
  void Render(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  std::array<std::atomic<std::uint64_t>, kBuckets.size() + 1> buckets_{};  // not cumulative
  std::atomic<std::uint64_t> sum_ns_{0};
};

}  // namespace bulwark::proxy::prometheus
