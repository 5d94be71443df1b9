// Tests of hop-by-hop removal and outbound target resolution.
#include "proxy/headers.h"

#include "gtest/gtest.h"

namespace bulwark::proxy {
namespace {

TEST(RemoveHopByHopTest, RemovesStandardProxyAndConnectionNamedHeaders) {
  http::Headers headers;
  headers.Add("Connection", "keep-alive, X-Secret-Hop");
  headers.Add("connection", "Other");
  headers.Add("Keep-Alive", "timeout=5");
  headers.Add("Proxy-Authorization", "Basic x");
  headers.Add("proxy-connection", "close");
  headers.Add("TE", "trailers");
  headers.Add("Trailer", "X-T");
  headers.Add("Transfer-Encoding", "chunked");
  headers.Add("Upgrade", "websocket");
  headers.Add("X-Secret-Hop", "1");
  headers.Add("other", "2");
  headers.Add("X-Kept", "yes");
  headers.Add("Content-Type", "text/plain");
  RemoveHopByHop(headers);
  ASSERT_EQ(headers.size(), 2u);
  EXPECT_EQ(headers.Get("X-Kept"), "yes");
  EXPECT_EQ(headers.Get("Content-Type"), "text/plain");
}

TEST(RemoveHopByHopTest, KeepsTheTransactionTokenAndTraceHeaders) {
  // Propagation relies on the sidecar relaying these unchanged in both directions.
  http::Headers headers;
  headers.Add("Txn-Token", "eyJ.eyJ.sig");
  headers.Add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  RemoveHopByHop(headers);
  EXPECT_EQ(headers.Get("Txn-Token"), "eyJ.eyJ.sig");
  EXPECT_EQ(headers.size(), 2u);
}

TEST(RemoveUnderscoreSpellingsTest, DropsLookAlikesOfTheProtectedHeadersOnly) {
  http::Headers headers;
  headers.Add("X_Bulwark_Peer_Id", "spiffe://td/gateway");
  headers.Add("x-bulwark_peer-id", "spiffe://td/gateway");
  headers.Add("TXN_TOKEN", "unverified");
  headers.Add("X_Request_Id", "42");
  headers.Add("Txn-Token", "checked by the filter");
  RemoveUnderscoreSpellings(headers);
  ASSERT_EQ(headers.size(), 2u);
  EXPECT_EQ(headers.Get("X_Request_Id"), "42");
  EXPECT_EQ(headers.Get("Txn-Token"), "checked by the filter");
}

TEST(TargetServiceTest, FromHostHeaderWithOrWithoutPort) {
  http::Request request{"GET", "/hello?x=1"};
  request.headers.Add("Host", "B:80");
  absl::StatusOr<std::string> target = TargetService(request);
  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_EQ(*target, "b");
  EXPECT_EQ(request.target, "/hello?x=1");
}

TEST(TargetServiceTest, FromAbsoluteFormRewritesTarget) {
  http::Request request{"GET", "http://user-svc/hello?x=1"};
  request.headers.Add("Host", "ignored");
  absl::StatusOr<std::string> target = TargetService(request);
  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_EQ(*target, "user-svc");
  EXPECT_EQ(request.target, "/hello?x=1");
}

TEST(TargetServiceTest, RefusesMissingHostAndOtherSchemes) {
  http::Request no_host{"GET", "/"};
  EXPECT_EQ(TargetService(no_host).status().code(), absl::StatusCode::kInvalidArgument);
  http::Request https{"GET", "https://b/"};
  EXPECT_EQ(TargetService(https).status().code(), absl::StatusCode::kInvalidArgument);
  http::Request userinfo{"GET", "http://u@b/"};
  EXPECT_EQ(TargetService(userinfo).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace bulwark::proxy
