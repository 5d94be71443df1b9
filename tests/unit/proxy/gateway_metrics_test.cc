// Tests of the gateway's metrics: series by route and status class, rate-limit refusals, the
// histogram and the sampled gauges.
#include "proxy/gateway_metrics.h"

#include "gtest/gtest.h"

namespace bulwark::proxy {
namespace {

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(GatewayMetricsTest, CountsByRouteAndStatusClassWithNoneForUnrouted) {
  GatewayMetrics metrics({"/api", "path:/items/{id}"});
  metrics.RecordRequest(0, 200, std::chrono::milliseconds(3));
  metrics.RecordRequest(0, 204, std::chrono::milliseconds(3));
  metrics.RecordRequest(1, 503, std::chrono::milliseconds(700));
  metrics.RecordRequest(-1, 404, std::chrono::microseconds(100));
  metrics.RecordRateLimited(0);
  std::string text = metrics.Render({});
  EXPECT_TRUE(Has(text, R"(bulwark_gateway_requests_total{route="/api",code="2xx"} 2)")) << text;
  EXPECT_TRUE(
      Has(text, R"(bulwark_gateway_requests_total{route="path:/items/{id}",code="5xx"} 1)"));
  EXPECT_TRUE(Has(text, R"(bulwark_gateway_requests_total{route="none",code="4xx"} 1)"));
  EXPECT_TRUE(Has(text, R"(bulwark_gateway_rate_limited_total{route="/api"} 1)"));
  EXPECT_TRUE(Has(text, R"(bulwark_gateway_rate_limited_total{route="path:/items/{id}"} 0)"));
  EXPECT_TRUE(Has(text, R"(bulwark_gateway_request_duration_seconds_bucket{le="0.005"} 3)"));
  EXPECT_TRUE(Has(text, R"(bulwark_gateway_request_duration_seconds_bucket{le="+Inf"} 4)"));
  EXPECT_TRUE(Has(text, "bulwark_gateway_request_duration_seconds_count 4"));
}

TEST(GatewayMetricsTest, RendersSampledGauges) {
  GatewayMetrics metrics({});
  GatewayGauges gauges;
  gauges.svid_expiry_seconds = 42;
  gauges.upstream_opened = 3;
  gauges.upstream_reused = 9;
  gauges.open_connections = {{"public", 5}, {"admin", 1}};
  gauges.handshake_failures = {{"protocol_version", 2}};
  std::string text = metrics.Render(gauges);
  EXPECT_TRUE(Has(text, "bulwark_gateway_svid_expiry_seconds 42")) << text;
  EXPECT_TRUE(Has(text, "bulwark_gateway_upstream_connections_opened_total 3"));
  EXPECT_TRUE(Has(text, "bulwark_gateway_upstream_connections_reused_total 9"));
  EXPECT_TRUE(Has(text, R"(bulwark_gateway_open_connections{listener="public"} 5)"));
  EXPECT_TRUE(
      Has(text, R"(bulwark_gateway_tls_handshake_failures_total{reason="protocol_version"} 2)"));
}

}  // namespace
}  // namespace bulwark::proxy
