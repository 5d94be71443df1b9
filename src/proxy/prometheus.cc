// Prometheus text exposition (https://prometheus.io/docs/instrumenting/exposition_formats/).
#include "proxy/prometheus.h"

#include <algorithm>
#include <iterator>

#include "fmt/format.h"

namespace bulwark::proxy::prometheus {

std::size_t StatusClass(int status) {
  if (status < 300) {
    return 0;
  }
  if (status >= 500) {
    return 3;
  }
  return static_cast<std::size_t>(status / 100 - 2);
}

std::string EscapeLabel(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void WriteHeader(std::string& out, std::string_view name, std::string_view type,
                 std::string_view help) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void LatencyHistogram::Record(std::chrono::nanoseconds duration) {
  double seconds = std::chrono::duration<double>(duration).count();
  std::size_t bucket = 0;
  while (bucket < kBuckets.size() && seconds > kBuckets[bucket]) {
    ++bucket;
  }
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, duration.count())),
                    std::memory_order_relaxed);
}

void LatencyHistogram::Render(std::string& out, std::string_view name,
                              std::string_view labels) const {
  auto it = std::back_inserter(out);
  std::string sep = labels.empty() ? "" : ",";
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b <= kBuckets.size(); ++b) {
    cumulative += buckets_[b].load(std::memory_order_relaxed);
    std::string le = b < kBuckets.size() ? fmt::format("{}", kBuckets[b]) : "+Inf";
    fmt::format_to(it, "{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep, le, cumulative);
  }
  double sum = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  std::string braces = labels.empty() ? "" : fmt::format("{{{}}}", labels);
  fmt::format_to(it, "{}_sum{} {}\n", name, braces, sum);
  // The +Inf bucket is the count as read here, so a scrape is self-consistent.
  fmt::format_to(it, "{}_count{} {}\n", name, braces, cumulative);
}

}  // namespace bulwark::proxy::prometheus
