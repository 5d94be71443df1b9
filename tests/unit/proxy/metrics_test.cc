// Tests of the sidecar's metrics registry: exact text output, status classes, histogram
// buckets, and the cap on distinct peer labels.
#include "proxy/metrics.h"

#include <string>

#include "fmt/format.h"
#include "gtest/gtest.h"

namespace bulwark::proxy {
namespace {

using namespace std::chrono_literals;

// Returns the lines of `text` that start with `prefix`, joined with '\n'.
std::string Lines(const std::string& text, std::string_view prefix) {
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    std::string_view line(text.data() + start, end - start);
    if (line.starts_with(prefix)) {
      out += std::string(line) + "\n";
    }
    start = end + 1;
  }
  return out;
}

TEST(MetricsTest, EmptyRegistryRendersHeadersHistogramsAndGauges) {
  Metrics metrics;
  std::string text = metrics.Render({.svid_expiry_seconds = 1800.5, .access_log_dropped = 3});
  EXPECT_EQ(Lines(text, "bulwark_sidecar_requests_total"), "");
  EXPECT_NE(text.find("# TYPE bulwark_sidecar_requests_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE bulwark_sidecar_request_duration_seconds histogram\n"),
            std::string::npos);
  EXPECT_EQ(Lines(text, "bulwark_sidecar_svid_expiry_seconds"),
            "bulwark_sidecar_svid_expiry_seconds 1800.5\n");
  EXPECT_EQ(Lines(text, "bulwark_sidecar_access_log_dropped_total"),
            "bulwark_sidecar_access_log_dropped_total 3\n");
  EXPECT_EQ(text.back(), '\n');
}

TEST(MetricsTest, CountsByDirectionPeerAndStatusClass) {
  Metrics metrics;
  const std::string a = "spiffe://example.org/svc/a";
  metrics.RecordRequest(Direction::kInbound, a, 200, 1ms);
  metrics.RecordRequest(Direction::kInbound, a, 204, 1ms);
  metrics.RecordRequest(Direction::kInbound, a, 403, 1ms);
  metrics.RecordRequest(Direction::kOutbound, "b", 502, 1ms);
  metrics.RecordRequest(Direction::kOutbound, "b", 301, 1ms);
  EXPECT_EQ(Lines(metrics.Render({}), "bulwark_sidecar_requests_total{"),
            "bulwark_sidecar_requests_total{direction=\"inbound\",peer=\"" + a +
                "\",code=\"2xx\"} 2\n"
                "bulwark_sidecar_requests_total{direction=\"inbound\",peer=\"" +
                a +
                "\",code=\"4xx\"} 1\n"
                "bulwark_sidecar_requests_total{direction=\"outbound\",peer=\"b\",code=\"3xx\"} 1\n"
                "bulwark_sidecar_requests_total{direction=\"outbound\",peer=\"b\",code=\"5xx\"} "
                "1\n");
}

TEST(MetricsTest, HistogramIsCumulativeWithSumAndCount) {
  Metrics metrics;
  metrics.RecordRequest(Direction::kInbound, "p", 200, 300us);  // <= 0.0005
  metrics.RecordRequest(Direction::kInbound, "p", 200, 1ms);    // <= 0.001 (bounds inclusive)
  metrics.RecordRequest(Direction::kInbound, "p", 200, 10s);    // +Inf only
  const std::string kName = "bulwark_sidecar_request_duration_seconds";
  std::string expected;
  const char* counts[] = {"1", "2", "2", "2", "2", "2", "2", "2", "2", "2", "2", "2", "2"};
  for (std::size_t i = 0; i < Metrics::kBuckets.size(); ++i) {
    expected += fmt::format("{}_bucket{{direction=\"inbound\",le=\"{}\"}} {}\n", kName,
                            Metrics::kBuckets[i], counts[i]);
  }
  expected += kName + "_bucket{direction=\"inbound\",le=\"+Inf\"} 3\n";
  expected += kName + "_sum{direction=\"inbound\"} 10.0013\n";
  expected += kName + "_count{direction=\"inbound\"} 3\n";
  std::string text = metrics.Render({});
  EXPECT_EQ(Lines(text, kName + "_bucket{direction=\"inbound\"") +
                Lines(text, kName + "_sum{direction=\"inbound\"") +
                Lines(text, kName + "_count{direction=\"inbound\""),
            expected);
  EXPECT_NE(text.find(kName + "_bucket{direction=\"inbound\",le=\"0.0005\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find(kName + "_bucket{direction=\"outbound\",le=\"5\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find(kName + "_count{direction=\"outbound\"} 0\n"), std::string::npos);
}

TEST(MetricsTest, PeerLabelsAreCappedThenOther) {
  Metrics metrics;
  for (std::size_t i = 0; i < Metrics::kMaxPeers + 10; ++i) {
    metrics.RecordRequest(Direction::kInbound, fmt::format("peer{}", i), 200, 1ms);
  }
  metrics.RecordRequest(Direction::kInbound, "peer0", 200, 1ms);  // still its own series
  std::string text = metrics.Render({});
  std::string series = Lines(text, "bulwark_sidecar_requests_total{");
  EXPECT_EQ(std::count(series.begin(), series.end(), '\n'), Metrics::kMaxPeers + 1);
  EXPECT_NE(text.find("peer=\"peer0\",code=\"2xx\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("peer=\"other\",code=\"2xx\"} 10\n"), std::string::npos);
  EXPECT_EQ(text.find("peer=\"peer64\""), std::string::npos);
}

TEST(MetricsTest, CountsPolicyDecisionsByRuleAndReasonWithABoundedLabelSet) {
  Metrics metrics;
  metrics.RecordAllow(0);
  metrics.RecordAllow(0);
  metrics.RecordAllow(3);
  metrics.RecordAllow(Metrics::kMaxRuleLabels);  // past the cap
  metrics.RecordAllow(-1);                       // a bug would still count, not crash
  metrics.RecordDeny("path");
  metrics.RecordDeny("bad_path");
  metrics.RecordDeny("made up");  // not a reason: "other"
  std::string text = metrics.Render({.decision_log_dropped = 4, .policy_version = 1764580496123});
  EXPECT_EQ(Lines(text, "bulwark_sidecar_policy_decisions_total{"),
            "bulwark_sidecar_policy_decisions_total{decision=\"allow\",rule=\"0\"} 2\n"
            "bulwark_sidecar_policy_decisions_total{decision=\"allow\",rule=\"3\"} 1\n"
            "bulwark_sidecar_policy_decisions_total{decision=\"allow\",rule=\"other\"} 2\n"
            "bulwark_sidecar_policy_decisions_total{decision=\"deny\",rule=\"bad_path\"} 1\n"
            "bulwark_sidecar_policy_decisions_total{decision=\"deny\",rule=\"path\"} 1\n"
            "bulwark_sidecar_policy_decisions_total{decision=\"deny\",rule=\"other\"} 1\n");
  EXPECT_EQ(Lines(text, "bulwark_sidecar_policy_version"),
            "bulwark_sidecar_policy_version 1764580496123\n");
  EXPECT_EQ(Lines(text, "bulwark_sidecar_decision_log_dropped_total"),
            "bulwark_sidecar_decision_log_dropped_total 4\n");
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  Metrics metrics;
  metrics.RecordRequest(Direction::kOutbound, "a\"b\\c\nd", 200, 1ms);
  EXPECT_NE(metrics.Render({}).find("peer=\"a\\\"b\\\\c\\nd\""), std::string::npos);
}

}  // namespace
}  // namespace bulwark::proxy

namespace bulwark::proxy {
namespace {

TEST(MetricsTest, RendersSampledConnectionAndPoolGauges) {
  Metrics metrics;
  ScrapeGauges gauges;
  gauges.upstream_opened = {3, 1};
  gauges.upstream_reused = {40, 7};
  gauges.open_connections = {{"inbound", 5}, {"to queue", 1}};
  gauges.handshake_failures = {{"protocol_version", 2}, {"timeout", 0}};
  std::string text = metrics.Render(gauges);
  EXPECT_EQ(Lines(text, "bulwark_sidecar_open_connections"),
            "bulwark_sidecar_open_connections{listener=\"inbound\"} 5\n"
            "bulwark_sidecar_open_connections{listener=\"to queue\"} 1\n");
  EXPECT_EQ(Lines(text, "bulwark_sidecar_tls_handshake_failures_total"),
            "bulwark_sidecar_tls_handshake_failures_total{reason=\"protocol_version\"} 2\n"
            "bulwark_sidecar_tls_handshake_failures_total{reason=\"timeout\"} 0\n");
  EXPECT_EQ(Lines(text, "bulwark_sidecar_upstream_connections_"),
            "bulwark_sidecar_upstream_connections_opened_total{direction=\"inbound\"} 3\n"
            "bulwark_sidecar_upstream_connections_opened_total{direction=\"outbound\"} 1\n"
            "bulwark_sidecar_upstream_connections_reused_total{direction=\"inbound\"} 40\n"
            "bulwark_sidecar_upstream_connections_reused_total{direction=\"outbound\"} 7\n");
  // Each metric's samples follow its own HELP and TYPE lines.
  EXPECT_NE(text.find("# TYPE bulwark_sidecar_open_connections gauge\n"
                      "bulwark_sidecar_open_connections{listener=\"inbound\"} 5\n"),
            std::string::npos);
}

}  // namespace
}  // namespace bulwark::proxy
